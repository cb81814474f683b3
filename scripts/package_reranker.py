"""Copy a trained crop re-ranker into the package as a pretrained model and write its card.

    python scripts/package_reranker.py --train runs/train-rerank --evals runs/eval-rerank \
        --name rerank-ggcnn2-synth-depth --synth-command "grasplab synth ..." \
        --val-command "grasplab synth ..." --test-command "grasplab synth ..." [--hardware "..."]

Reads ``<train>/{model.npz,run.json}`` and the reports ``<evals>/{plain,reranked}/{synth-test,
jacquard-perfect,jacquard-stereo}/evaluation.json`` written by ``scripts/train_pretrained.sh``
(the map model alone and re-ranked, on the same scenes; ``synth-test-nomask`` too) and writes
``grasplab/models/pretrained/<name>.{npz,md}``. Every figure on the card is read from those files.
``--metrics-only --evals DIR --name NAME --test-command "..." --map-model NAME`` rewrites only the
shipped card's metrics from new reports.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from package_pretrained import _acc, _command, _top1, replace_metrics

from grasplab.models import load_model

ROOT = Path(__file__).resolve().parents[1]


def metrics_section(evals: Path, test_command: str, map_name: str, name: str) -> str:
    rows = []
    for key, what in (("synth-test", f"(a) held-out objects (`{test_command}`), noisy depth"),
                      ("synth-test-nomask", "(a) the same without the object masks (`--no-mask`)"),
                      ("jacquard-perfect", "(b) Jacquard samples zero-shot, perfect depth"),
                      ("jacquard-stereo", "(b) Jacquard samples zero-shot, stereo depth")):
        rows.append(f"- {what}:\n  re-ranked {_acc(evals / 'reranked' / key / 'evaluation.json')}\n"
                    f"  `{map_name}` alone {_acc(evals / 'plain' / key / 'evaluation.json')}")
    return f"""## Metrics
Rectangle metric (IoU > 0.25, angle < 30°) of the top-ranked grasp per image, through `grasplab
evaluate`'s policy loop (the grasps `grasplab predict` returns; the scenes' object masks given
unless said): `--policy map-rerank` (`--model {map_name} --rerank {name}`) against `--model
{map_name}` alone on the same scenes:

{chr(10).join(rows)}
"""


def _target(evals: Path) -> str:
    a = _top1(evals / "reranked" / "synth-test" / "evaluation.json")
    return f"Target (a) ≥ 90 %: {'met' if a >= 0.9 else 'not met'} (point estimate; see the interval)"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", type=Path, help="re-ranker run folder (model.npz, run.json)")
    ap.add_argument("--metrics-only", action="store_true", help="only rewrite the shipped card's metrics from --evals")
    ap.add_argument("--map-model", default="ggcnn2-synth-depth", help="with --metrics-only: the map model's name")
    ap.add_argument("--evals", type=Path, required=True, help="folder with plain/ and reranked/ reports")
    ap.add_argument("--name", required=True)
    ap.add_argument("--synth-command", action="append",
                    help="a grasplab synth command of training scenes (once per --data folder)")
    ap.add_argument("--val-command", help="the grasplab synth command of the validation scenes")
    ap.add_argument("--test-command", required=True, help="the grasplab synth command of the held-out objects")
    ap.add_argument("--hardware", default="")
    args = ap.parse_args()
    out = ROOT / "grasplab" / "models" / "pretrained"
    if args.metrics_only:
        card = (out / f"{args.name}.md").read_text()
        card = replace_metrics(card, metrics_section(args.evals, args.test_command, args.map_model, args.name))
        start = card.index("Target (a)")
        end = card.index("interval)", start) + len("interval)")
        card = card[:start] + _target(args.evals) + card[end:]
        (out / f"{args.name}.md").write_text(card)
        print(f"rewrote the metrics of {out / (args.name + '.md')}")
        return
    if args.train is None or not args.synth_command or args.val_command is None:
        ap.error("--train, --synth-command and --val-command are needed (or --metrics-only)")
    model = load_model(args.train / "model.npz", expect="crop_quality")
    run = json.loads((args.train / "run.json").read_text())
    cfg, rr, mm = run["config"], run["rerank"], run["map_model"]
    map_name = Path(mm["path"]).stem
    summary = f"crop re-ranker for `{map_name}` (grasp-aligned depth crops → probability the grasp is correct)"
    meta = {**model.metadata, "name": args.name, "summary": summary,
            "map_model": {**mm, "path": map_name}}            # a pretrained name, not this machine's path
    model.save(out / f"{args.name}.npz", metadata=meta)
    c = model.config
    rr = {"grid_stride_px": 0, "quality_floor": 0.0, "quality_power": 1.0, **rr}
    grid = (f" and the points of a {rr['grid_stride_px']}-pixel grid over the object (pixels standing "
            f"{100 * rr['grid_min_height_m']:g} cm or more above the fitted table)" if rr["grid_stride_px"] else "")
    score = ("probability × map quality q" if (rr["quality_floor"], rr["quality_power"]) == (0.0, 1.0) else
             f"probability × (q + {rr['quality_floor']:g})^{rr['quality_power']:g}, q the map's smoothed quality")
    card = f"""# {args.name}

A {summary}. {model.num_parameters:,} parameters ({(out / f'{args.name}.npz').stat().st_size / 1e3:.0f} kB). Use it as
`--rerank {args.name}` with `--model {map_name}` (`grasplab evaluate`, `grasplab predict`) or
`grasplab.load_policy("{map_name}", rerank="{args.name}")` (or `grasplab.load_policy("map-rerank")` for the
shipped pair).

The map model proposes its {rr['peaks']} highest quality peaks (at least {rr['min_distance_px']} px apart){grid}, each at the
map's angle there turned by {', '.join(f'{a:g}' for a in rr['angle_offsets_deg'])}°; the classifier scores a {c['crop_px']}×{c['crop_px']} px crop of the
map model's input depth aligned with each (block-averaged to {c['out_px']}², relative to the depth at the
grasp centre, ×{c['depth_scale_per_m']:g}/m and clipped to ±1), and the grasp with the highest {score}
comes first (each position at its best angle).

## Data
Training scenes {' and '.join(f'`{c}`' for c in args.synth_command)}; validation (picks the checkpoint) `{args.val_command}` (other
shapes). Samples per scene: the map model's proposals and the scene's labelled candidates (positives
and, from the scenes' sidecars, the candidates the labels tried and rejected), each labelled 1 when the
rectangle metric matches it to a positive rectangle: {run['train_samples']:,} training crops,
{run['train_positive_fraction']:.0%} positive, from {run['train_scenes']} scenes.

## Command
`{_command(run['command'])}` (`scripts/train_pretrained.sh` reproduces it): batch {cfg['batch_size']},
Adam lr {cfg['lr']}, seed {cfg['seed']}, crops mirrored along and across the grasp axis at random; the
checkpoint with the best validation top-1 after re-ranking was kept ({run['best_val_accuracy']:.1%} after
{run['epochs_run']} epochs run). {('Trained on ' + args.hardware + '. ') if args.hardware else ''}grasplab {run['grasplab_version']}, Python {run['python']}.

{metrics_section(args.evals, args.test_command, map_name, args.name)}
## Limits
It sees depth only, in the map model's input frame, so it belongs to `{map_name}` (a detector
refuses it with a map model of other preprocessing). It learns what the labels call a good grasp on
single procedural objects; it chooses among the map model's proposals{' and the object grid' if rr['grid_stride_px'] else ''} and cannot
find a grasp elsewhere{' (the grid needs depth relative to the table; a flat object under ' + format(100 * rr['grid_min_height_m'], 'g') + ' cm gets no grid)' if rr['grid_stride_px'] else ''}. {_target(args.evals)}.
"""
    (out / f"{args.name}.md").write_text(card)
    print(f"wrote {out / (args.name + '.npz')} and its card")


if __name__ == "__main__":
    main()
