"""Copy a trained model into the package as a pretrained model and write its model card.

    python scripts/package_pretrained.py --train runs/train-ggcnn2 --evals runs/eval-ggcnn2 \
        --name ggcnn2-synth-depth --synth-command "grasplab synth ..." [--hardware "..."]
    python scripts/package_pretrained.py --metrics-only --evals DIR --name NAME --test-command "..."

Reads ``<train>/{model.npz,run.json}`` and the reports ``<evals>/{synth-test,synth-test-nomask,
jacquard-perfect,jacquard-stereo}/evaluation.json`` written by ``scripts/train_pretrained.sh``, and
writes ``grasplab/models/pretrained/<name>.{npz,md}``. Every figure on the card is read from those
files. ``--metrics-only`` rewrites only the card's metrics (and the targets they meet) from new
reports, for a shipped model re-measured without its training run.
"""
from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from grasplab.bench.detect_bench import network_gflop
from grasplab.models import load_model

ROOT = Path(__file__).resolve().parents[1]
ARCH_NAMES = {"ggcnn": "GG-CNN", "ggcnn2": "GG-CNN2"}
CROPS = {"resize": "the whole frame resized", "center": "a centre crop", "mask": "a square around the object mask",
         "object": "a fixed-size square centred on the object mask"}
REFERENCES = {"mean": "the image's mean depth subtracted (as GG-CNN)", "table": "depth relative to a fitted table plane"}


def _acc(path: Path) -> str:
    if not path.is_file():
        return "not measured (report missing)"
    rep = json.loads(path.read_text())
    t1, t5 = rep["top1"], rep.get("top5", {})
    s = (f"top-1 **{t1['accuracy']:.1%}** ({t1['correct']}/{t1['total']}, 95 % CI "
         f"{t1['ci95'][0]:.1%}–{t1['ci95'][1]:.1%})")
    if t5:
        s += f", top-5 {t5['accuracy']:.1%}"
    if rep.get("skipped_no_truth"):
        s += f"; {rep['skipped_no_truth']} scenes without a positive label not scored"
    return s


def metrics_section(evals: Path, test_command: str) -> str:
    """The card's "## Metrics" section from the evaluation reports in ``evals``."""
    return f"""## Metrics
Rectangle metric (IoU > 0.25, angle < 30°) of the top-ranked grasp per image, through `grasplab
evaluate`'s policy loop: the grasps `grasplab predict` returns on each frame (the scenes' object
masks given, as `--mask`; for the held-out objects also without them, `--no-mask`).

- (a) held-out objects (`{test_command}`, shapes never trained on), noisy depth:
  {_acc(evals / 'synth-test' / 'evaluation.json')}
  without masks: {_acc(evals / 'synth-test-nomask' / 'evaluation.json')}
- (b) Jacquard samples (`../shared/data/jacquard`, 5 objects × 5 views) zero-shot, perfect depth:
  {_acc(evals / 'jacquard-perfect' / 'evaluation.json')}
- (b) the same with Jacquard's simulated stereo depth:
  {_acc(evals / 'jacquard-stereo' / 'evaluation.json')}
"""


def replace_metrics(card: str, metrics: str, targets: str | None = None) -> str:
    """A card with its metrics section (and, given, the targets sentence) replaced."""
    i, j = card.index("## Metrics"), card.index("## Limits")
    card = card[:i] + metrics + "\n" + card[j:]
    if targets is not None:
        card = re.sub(r"Targets? \(a\).*?(?=; see BENCHMARKS.md|\.\n|$)", targets, card, flags=re.S)
    return card


def _option(argv: list[str], name: str, default: str) -> str:
    return argv[argv.index(name) + 1] if name in argv[:-1] else default


def _top1(path: Path) -> float:
    return json.loads(path.read_text())["top1"]["accuracy"] if path.is_file() else float("nan")


def _targets(evals: Path) -> str:
    """Which of the issue's targets (≥ 90 % held-out objects, ≥ 80 % Jacquard) the figures meet."""
    a = _top1(evals / "synth-test" / "evaluation.json")
    b = min(_top1(evals / f"jacquard-{d}" / "evaluation.json") for d in ("perfect", "stereo"))
    said = [f"(a) ≥ 90 %: {'met' if a >= 0.9 else 'not met'}", f"(b) ≥ 80 %: {'met' if b >= 0.8 else 'not met'}"]
    return "Targets " + ", ".join(said) + " (point estimates; see the intervals)"


def _distillation(model) -> str:
    """What a distilled model learned from (empty for a model trained on the labels)."""
    if not model.metadata.get("teacher_path"):
        return ""
    frozen = model.metadata.get("frozen_from_teacher", [])
    layers = sorted({n.rsplit(".", 1)[0] for n in frozen})
    return (f"\nDistilled: the layers {', '.join(f'`{x}`' for x in layers)} are the teacher's "
            f"(`{Path(model.metadata['teacher_path']).stem}`), copied and frozen; the rest was trained to "
            "reproduce the teacher's four maps on the training scenes (the labels only pick the checkpoint, "
            "by validation accuracy).\n")


def _portable_paths(metadata: dict, pretrained: Path) -> dict:
    """The metadata with a teacher or starting model that is itself a pretrained model named by
    its pretrained name (which ``resolve_model`` understands anywhere) instead of this machine's
    path to it."""
    meta = dict(metadata)
    for key in ("teacher_path", "init_path"):
        if meta.get(key) and Path(meta[key]).resolve().parent == pretrained.resolve():
            meta[key] = Path(meta[key]).stem
    return meta


def _command(argv: list[str]) -> str:
    """The training command as a user types it (argv[0] may be a path to the entry point)."""
    return " ".join(["grasplab", *argv[1:]])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", type=Path, help="training run folder (model.npz, run.json)")
    ap.add_argument("--metrics-only", action="store_true", help="only rewrite the shipped card's metrics from --evals")
    ap.add_argument("--evals", type=Path, required=True, help="folder with synth-test/, jacquard-{perfect,stereo}/")
    ap.add_argument("--name", required=True)
    ap.add_argument("--synth-command", help="the grasplab synth command that made the data")
    ap.add_argument("--test-command", required=True, help="the grasplab synth command of the held-out objects")
    ap.add_argument("--hardware", default="", help="where it was trained, e.g. '2 CPU cores' or 'one H100'")
    args = ap.parse_args()
    out = ROOT / "grasplab" / "models" / "pretrained"
    if args.metrics_only:
        card = (out / f"{args.name}.md").read_text()
        (out / f"{args.name}.md").write_text(replace_metrics(card, metrics_section(args.evals, args.test_command),
                                                             _targets(args.evals)))
        print(f"rewrote the metrics of {out / (args.name + '.md')}")
        return
    if args.train is None or args.synth_command is None:
        ap.error("--train and --synth-command are needed (or --metrics-only)")
    model = load_model(args.train / "model.npz")
    run = json.loads((args.train / "run.json").read_text())
    arch = ARCH_NAMES.get(model.architecture, model.architecture)
    pre = model.metadata["preprocess"]
    teacher = Path(model.metadata["teacher_path"]).stem if model.metadata.get("teacher_path") else None
    if teacher and model.config.get("head_filters"):
        arch += f" with {model.config['head_filters']} channels in its last layer (network "\
                f"{network_gflop(model, pre['output_px']):.2f} GFLOP per frame)"
    summary = (f"{arch}, {pre['inputs']}, " + (f"distilled from `{teacher}` on " if teacher else "trained on ")
               + "grasplab synthetic scenes (Robotiq 2F-85 analytic labels)")
    meta = {**_portable_paths(model.metadata, out), "name": args.name, "summary": summary}
    model.save(out / f"{args.name}.npz", metadata=meta)
    cfg = run["config"]
    card = f"""# {args.name}

{summary}. {model.num_parameters:,} parameters ({(out / f'{args.name}.npz').stat().st_size / 1e3:.0f} kB); input a
{pre['output_px']}×{pre['output_px']} {pre['inputs']} image: {CROPS.get(pre['crop'], pre['crop'])}, {REFERENCES.get(pre['depth_reference'], pre['depth_reference'])},
clipped to ±1; outputs GG-CNN's quality, cos 2θ, sin 2θ and width maps. Learned at
**{pre['px_per_m']:.0f} input pixels per metre** at the object: give camera intrinsics and the detector
brings your frame to that scale.

## Data
`{args.synth_command}`: procedural objects, the 3 likeliest stable poses each, 2 views per pose
with camera preset `jacquard` (1.4–1.6 m, up to 12° from vertical, 512² at f ≈ 1000 px) and
Dex-Net depth noise (trained on the noisy `stereo_depth`). Labels: antipodal candidates of a
Robotiq 2F-85, positive when collision-free and robust Ferrari–Canny ε > 0.001 (25 Monte-Carlo
samples of Dex-Net 2.0's pose and friction uncertainty). Object-wise split (fold {_option(run['command'], '--fold', '0')} of the
command below) held out for validation: {run['train_scenes']} training / {run['val_scenes']} validation scenes.

## Command
`{_command(run['command'])}` (the last call of a resumed run; `scripts/train_pretrained.sh`
reproduces it): batch {cfg['batch_size']}, Adam lr {cfg['lr']}, seed {cfg['seed']}, random rotations, zooms and flips;
the checkpoint with the best validation top-1 was kept ({run['best_val_accuracy']:.1%} after {run['epochs_run']} epochs run).
{_distillation(model)}{('Trained on ' + args.hardware + '. ') if args.hardware else ''}grasplab {run['grasplab_version']}, Python {run['python']}.

{metrics_section(args.evals, args.test_command)}
## Limits
Trained on single procedural objects on a plain table, top-down: clutter, transparent or
very thin objects and strongly tilted views are outside its data. Labels are analytic
(quasi-static wrench quality), not physical grasp trials. {_targets(args.evals)}; see BENCHMARKS.md.
"""
    (out / f"{args.name}.md").write_text(card)
    print(f"wrote {out / (args.name + '.npz')} and its card")


if __name__ == "__main__":
    main()
