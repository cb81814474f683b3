"""Run some cells of a finished semi-supervised study at more seeds or pools, into a new folder,
on the study's own data (no synthesis): a check of a near-miss with more paired seeds, or one
method's curve against the unlabelled pool.

    python scripts/semisup_more_seeds.py --study runs/ss/study --out runs/ss/cross5 \
        --methods pseudo-depth --inputs rgb,rgbd,depth --seeds 5
    python scripts/semisup_more_seeds.py --study runs/ss/study --out runs/ss/cross-pool --axis pool \
        --methods pseudo-depth --inputs rgb --pools 1,4,16 --seeds 3

The cells are the input axis' (each method at the study's scenes pool on every input) or the pool
axis' (each method at every pool on the first input), with their labels-only GG-CNN references
and teachers; the split and labelled subsets are the study's (the same seeds give the same
subsets), so seeds 0–2 reproduce the study's rows.
"""
import argparse
import json
from dataclasses import fields, replace
from pathlib import Path

from grasplab.datasets.scene_sources import load_scenes
from grasplab.experiments.semisup_cells import StudyConfig, all_cells
from grasplab.experiments.semisup_study import StudyData, run_study, study_splits


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--study", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--methods", default="pseudo-depth")
    ap.add_argument("--inputs", default="rgb,rgbd,depth")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--axis", choices=("input", "pool"), default="input")
    ap.add_argument("--pools", default="1,4,16", help="pool axis: pool sizes (multiples of the training pool)")
    args = ap.parse_args()
    saved = json.loads((args.study / "study_config.json").read_text())["config"]
    known = {f.name for f in fields(StudyConfig)}
    cfg = StudyConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in saved.items() if k in known})
    methods = tuple(args.methods.split(","))
    cfg = replace(cfg, axes=(args.axis,), styles=("plain",), inputs=tuple(args.inputs.split(",")), seeds=args.seeds,
                  input_methods=methods, pool_methods=methods, pools=tuple(int(p) for p in args.pools.split(",")))
    scenes = load_scenes(args.study / "data" / "plain", "jacquard", "stereo")
    pool, val, test = study_splits(scenes, cfg)
    n_extra = (max(c.pool for c in all_cells(cfg)) - 1) * len(pool)
    extra = load_scenes(args.study / "data" / "plain-unlabelled", "jacquard", "stereo")[:n_extra]
    run_study({"plain": StudyData(pool, val, test, extra)}, cfg, args.out,
              command=f"scripts/semisup_more_seeds.py --study {args.study} --out {args.out} --axis {args.axis} "
                      f"--methods {args.methods} --inputs {args.inputs} --pools {args.pools} --seeds {args.seeds}")


if __name__ == "__main__":
    main()
