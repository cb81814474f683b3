"""Copy a trained model into the package as a pretrained model and write its model card.

    python scripts/package_pretrained.py --runs runs --name ggcnn-synth-depth

Reads ``<runs>/train-ggcnn/{model.npz,run.json}`` and the evaluation reports written by
``scripts/train_pretrained.sh``, and writes ``grasplab/models/pretrained/<name>.{npz,md}``.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from grasplab.models import load_model

ROOT = Path(__file__).resolve().parents[1]


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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", default="runs")
    ap.add_argument("--name", default="ggcnn-synth-depth")
    args = ap.parse_args()
    runs = Path(args.runs)
    model = load_model(runs / "train-ggcnn" / "model.npz")
    run = json.loads((runs / "train-ggcnn" / "run.json").read_text())
    synth = json.loads((runs / "synth-jq" / "synth_config.json").read_text())
    summary = "GG-CNN, depth, trained on grasplab synthetic scenes (Robotiq 2F-85 analytic labels)"
    meta = {**model.metadata, "name": args.name, "summary": summary}
    out = ROOT / "grasplab" / "models" / "pretrained"
    model.save(out / f"{args.name}.npz", metadata=meta)
    pre = meta["preprocess"]
    card = f"""# {args.name}

{summary}. {model.num_parameters:,} parameters; input a {pre['output_px']}×{pre['output_px']} depth image:
a square of {pre['object_fraction']:.0%} of the view's shorter side centred on the object mask (or the image
centre), depth relative to a robustly fitted table plane, clipped to ±1; outputs GG-CNN's
quality, cos 2θ, sin 2θ and width maps. Learned at **{pre['px_per_m']:.0f} input pixels per metre** at the object:
give camera intrinsics and the detector crops your frame to that scale.

## Data
`grasplab synth` with {synth['config']['objects']} (seed {synth['config']['seed']}): the
{synth['config']['max_poses']} likeliest stable poses per object, {synth['config']['views_per_pose']} views each, camera
preset `{synth['config']['camera']}` (Jacquard's view: 1.4–1.6 m, up to 12° from vertical, 512² at f ≈ 1000 px),
Dex-Net depth noise (trained on the noisy `stereo_depth`). Labels: antipodal candidates of a
`{synth['config']['gripper']}` gripper ({synth['config']['grasps_per_object']} per object), positive when collision-free and robust
Ferrari–Canny ε > {synth['config']['quality']['positive_threshold']} (25 Monte-Carlo samples, Dex-Net 2.0's uncertainty).
Object-wise split (the one in the training command below) held out for validation:
{run['train_scenes']} training / {run['val_scenes']} validation scenes.

## Command
`{' '.join(run['command'])}` (from `scripts/train_pretrained.sh`): {run['config']['epochs']} epochs of
`grasplab train ggcnn --depth stereo --crop object --object-fraction 0.5 --depth-reference table`, batch {run['config']['batch_size']}, Adam lr {run['config']['lr']},
seed {run['config']['seed']}; the checkpoint with the best validation accuracy was kept
(epoch runs: {run['epochs_run']}; best validation top-1 {run['best_val_accuracy']:.1%}).
grasplab {run['grasplab_version']}.

## Metrics
Rectangle metric (IoU > 0.25, angle < 30°, jaw = ½ opening), top-ranked grasp per image:

- (a) held-out objects (`grasplab synth --objects procedural:40 --seed 1`, shapes never trained on), noisy depth:
  {_acc(runs / 'eval-synth-test' / 'evaluation.json')}
- (b) Jacquard samples (`../shared/data/jacquard`, 5 objects × 5 views) zero-shot, perfect depth:
  {_acc(runs / 'eval-jacquard-perfect' / 'evaluation.json')}
- (b) the same with Jacquard's simulated stereo depth:
  {_acc(runs / 'eval-jacquard-stereo' / 'evaluation.json')}

## Limits
Trained on single procedural objects on a plain table, top-down: clutter, transparent or
very thin objects and strongly tilted views are outside its data. Labels are analytic
(quasi-static wrench quality), not physical grasp trials.
"""
    (out / f"{args.name}.md").write_text(card)
    print(f"wrote {out / (args.name + '.npz')} and its card")


if __name__ == "__main__":
    main()
