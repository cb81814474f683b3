"""The semi-supervised study's wall time for the default grid and ``--full``, from a study folder's
rows (each row's ``cell_s``: training, teacher labels, evaluation) where they ran, else from an
earlier study's rows (its fastest seed's training time + the mean evaluation time of the rows
that ran) scaled by the ratio of the two on the rows both have. Data time is not included.

    python scripts/semisup_study_projection.py --rows runs/ss/fresh/rows --earlier runs/ss/study/rows \
        [--before 2026-12-07T00:44:00+00:00]

``--before``: count only rows finished before then (e.g. before another job shared the cores).
"""
from __future__ import annotations

import argparse
import collections
import datetime
import json
import statistics
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", required=True, help="the study's rows folder (rows with cell_s)")
    ap.add_argument("--earlier", required=True, help="an earlier study's rows folder of the same grid")
    ap.add_argument("--before", default=None, help="ISO time: only rows finished before it")
    args = ap.parse_args()
    from grasplab.experiments.semisup_cells import FULL_STUDY, StudyConfig, schedule

    cut = datetime.datetime.fromisoformat(args.before).timestamp() if args.before else float("inf")
    earlier = collections.defaultdict(list)
    for f in Path(args.earlier).glob("*.json"):
        earlier[f.stem.rsplit("-seed", 1)[0]].append(json.loads(f.read_text()))
    ran = {f.stem: json.loads(f.read_text()) for f in Path(args.rows).glob("*.json") if f.stat().st_mtime < cut}
    if not ran:
        raise SystemExit(f"no study rows in {args.rows}" + (f" finished before {args.before}" if args.before else ""))
    evaluation_s = statistics.mean(r["cell_s"] - r["train_s"] for r in ran.values())

    def from_earlier(key: str) -> float:
        runs = earlier.get(key.rsplit("-seed", 1)[0])
        if not runs:
            raise SystemExit(f"the earlier study ({args.earlier}) has no row of cell {key}: it cannot project it; "
                             "give an earlier study that ran the same grid")
        return min(r["train_s"] for r in runs) + evaluation_s

    ratio = sum(r["cell_s"] for r in ran.values()) / sum(from_earlier(k) for k in ran)
    print(f"{len(ran)} rows ran; their time / the earlier study's fastest seed: {ratio:.2f}; "
          f"evaluation {evaluation_s:.1f} s a row")
    print("| grid | runs | ran | min ran | min projected | cells, min |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, cfg in (("default", StudyConfig()), ("--full", StudyConfig(**FULL_STUDY))):
        plan = [f"{c.key}-seed{s}" for s, c in schedule(cfg)]
        done = sum(ran[k]["cell_s"] for k in plan if k in ran) / 60
        rest = sum(from_earlier(k) for k in plan if k not in ran) * ratio / 60
        print(f"| {name} | {len(plan)} | {sum(k in ran for k in plan)} | {done:.1f} | {rest:.1f} | {done + rest:.0f} |")


if __name__ == "__main__":
    main()
