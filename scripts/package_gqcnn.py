"""Copy a trained GQ-CNN into the package as the shipped GQ-CNN and write its model card.

    python scripts/package_gqcnn.py --train runs/gqcnn-clutter-16 --evals runs/eval-gqcnn \\
        --name gqcnn-synth-clutter --synth-command "grasplab synth ..." --test-command "..." \\
        --clutter-test-command "..." [--hardware "2 CPU cores"]

Reads ``<train>/{model.npz,run.json}`` and the reports ``<evals>/<policy>-<set>/evaluation.json``
(policy: fc-gqcnn, gqcnn-rank, gqcnn-cem; set: singles, singles-nomask, clutter, clutter-nomask)
written by ``grasplab evaluate --json --out``; every figure on the card is read from those files.
"""
from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from grasplab.models import load_model

ROOT = Path(__file__).resolve().parents[1]
POLICIES = ("fc-gqcnn", "gqcnn-rank", "gqcnn-cem")
SETS = {"singles": "held-out single objects, masks given", "singles-nomask": "held-out single objects, no masks",
        "clutter": "held-out 5-object heaps, masks given", "clutter-nomask": "held-out 5-object heaps, no masks"}


def _acc(path: Path) -> str:
    if not path.is_file():
        return "not measured"
    t1 = json.loads(path.read_text())["top1"]
    return f"{t1['accuracy']:.1%} ({t1['correct']}/{t1['total']}, CI {t1['ci95'][0]:.1%}–{t1['ci95'][1]:.1%})"


def metrics_table(evals: Path) -> str:
    rows = ["| policy | " + " | ".join(SETS.values()) + " |", "|---|" + "---:|" * len(SETS)]
    for p in POLICIES:
        rows.append(f"| `{p}` | " + " | ".join(_acc(evals / f"{p}-{s}" / "evaluation.json") for s in SETS) + " |")
    return "\n".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", type=Path, required=True)
    ap.add_argument("--evals", type=Path, required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--synth-command", required=True)
    ap.add_argument("--test-command", required=True)
    ap.add_argument("--clutter-test-command", required=True)
    ap.add_argument("--hardware", default="")
    args = ap.parse_args()
    out = ROOT / "grasplab" / "models" / "pretrained"
    model = load_model(args.train / "model.npz")
    run = json.loads((args.train / "run.json").read_text())
    c = model.config
    summary = (f"GQ-CNN (Dex-Net 2.0, reduced: {c['filters']} filters, dense {c['fc_size']}), depth crops, trained on "
               "grasplab synthetic single objects and clutter heaps (Robotiq 2F-85 analytic labels)")
    model.save(out / f"{args.name}.npz", metadata={**model.metadata, "name": args.name, "summary": summary})
    size_kb = (out / f"{args.name}.npz").stat().st_size / 1e3
    val = run["val"]
    cam = model.metadata["dataset"].get("training_camera", {})
    side = cam.get("crop_side_m", [float("nan")] * 3)
    table = cam.get("table_depth_m", [float("nan")] * 3)
    command = re.sub(r"\S*/runs/", "runs/", " ".join(["grasplab", *run["command"][1:]]))
    card = f"""# {args.name}

{summary}. {model.num_parameters:,} parameters ({size_kb:.0f} kB). Input: a 96 px grasp-aligned depth
crop block-averaged to 32×32 (metres) and the gripper depth; output: the probability that the
grasp succeeds (robust Ferrari–Canny ε > {run['threshold']:g} and collision-free). Planned with
`gqcnn-rank`, `gqcnn-cem` and `fc-gqcnn` (the same weights evaluated densely). Training camera:
crops {side[0] * 100:.1f}–{side[2] * 100:.1f} cm wide at the gripper depth, table {table[0]:.2f}–{table[2]:.2f} m away
(5th–95th percentiles); frames from other cameras are brought into these ranges (metric crops,
depth shift), so give the intrinsics.

## Data
`{args.synth_command}`: procedural objects singly (the 3 likeliest stable poses, 2 views each) and
in clutter heaps of 1–10 objects dropped by MuJoCo physics (2 views each), Jacquard-like camera
(1.4–1.6 m, 512² at f ≈ 1000 px), Dex-Net depth noise. Labels: antipodal candidates of a Robotiq
2F-85, positive when robust ε > {run['threshold']:g} and the gripper clears the table, the object and
every neighbour. Object-wise split: {run['train_datapoints']:,} training / {run['val_datapoints']:,} validation
crops ({run['train_positive_fraction']:.1%} / {run['val_positive_fraction']:.1%} positive); heaps draw their
objects from one side of the split.

## Command
`{command}`: batch {run['config']['batch_size']}, SGD lr {run['config']['lr']} (gqcnn's
Dex-Net 2.0 schedule), seed {run['config']['seed']}, mirrors and depth noise; the epoch with the best validation
accuracy was kept ({run['best_val_accuracy']:.1%} after {run['epochs_run']} epochs run; precision
{val['precision']:.1%}, recall {val['recall']:.1%}, AP {val['average_precision']:.3f}, ROC AUC {val['roc_auc']:.3f}).
{('Trained on ' + args.hardware + '. ') if args.hardware else ''}grasplab {run['grasplab_version']}, Python {run['python']}.

## Metrics
Rectangle metric (IoU > 0.25, angle < 30°) of the top grasp `grasplab predict` returns, through
`grasplab evaluate` on noisy depth; held-out objects `{args.test_command}`, held-out heaps
`{args.clutter_test_command}` (shapes never trained on):

{metrics_table(args.evals)}

## Limits
Procedural shapes on a plain table, top-down, one gripper (Robotiq 2F-85, 8.5 cm): other
grippers need other labels. Labels are analytic (quasi-static wrench quality and a collision
check), not physical trials; see BENCHMARKS.md for the simulated trials of its policies.
"""
    (out / f"{args.name}.md").write_text(card)
    print(f"wrote {out / (args.name + '.npz')} ({size_kb:.0f} kB) and its card")


if __name__ == "__main__":
    main()
