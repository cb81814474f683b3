"""End-to-end synthesis benchmark: labelled GQ-CNN datapoints per second with 1 and 2 workers.

The same job (same seed: identical datasets) runs with each worker count in turn, in fresh
temporary folders. Reported: the whole run's wall time (Ray start-up and shutdown included)
and the worker pool's throughput once the workers are ready (what scales with cores).
"""
from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from .machine import machine_info


def run_synth_bench(objects: str = "procedural:16", worker_counts: tuple[int, ...] = (1, 2),
                    views_per_pose: int = 2, seed: int = 1, repeats: int = 3, heaps: int = 0,
                    heap_objects: int = 5) -> dict:
    """Runs interleave worker counts (1, 2, 1, 2, ...) ``repeats`` times; medians are reported.
    ``heaps`` > 0: clutter heaps of ``heap_objects`` objects instead of single objects."""
    os.environ["LP_NUM_THREADS"] = "0"        # each worker renders in its own thread only
    os.environ["OMP_NUM_THREADS"] = "1"
    from ..synth import SynthConfig, run_synth
    cfg = SynthConfig(objects=objects, views_per_pose=views_per_pose, seed=seed, heaps=heaps,
                      heap_objects=(heap_objects, heap_objects), singles=not heaps)
    from ..scene.stable_poses import clear_stable_pose_memo
    runs = []
    for w in [w for _ in range(repeats) for w in worker_counts]:
        out = Path(tempfile.mkdtemp(prefix=f"grasplab-bench-synth-{w}-"))
        # every run starts cold: its own empty cache folder (inherited by Ray workers), no memo
        os.environ["GRASPLAB_CACHE_DIR"] = str(out / "cache")
        clear_stable_pose_memo()
        try:
            t0 = time.perf_counter()
            res = run_synth(cfg, out, workers=w, show_progress=False)
            wall = time.perf_counter() - t0
        finally:
            shutil.rmtree(out, ignore_errors=True)
        tm = res.timing
        pool_s = tm.get("units_s", wall) - tm.get("startup_s", 0.0) - tm.get("shutdown_s", 0.0)
        runs.append({"workers": w, "datapoints": res.datapoints, "positive_fraction": res.positive_fraction,
                     "wall_s": wall, "startup_s": tm.get("startup_s", 0.0), "pool_s": pool_s,
                     "shutdown_s": tm.get("shutdown_s", 0.0), "consolidate_s": tm.get("consolidate_s", 0.0),
                     "datapoints_per_s_wall": res.datapoints / wall, "datapoints_per_s_pool": res.datapoints / pool_s})
    rows = []
    for w in worker_counts:
        mine = [r for r in runs if r["workers"] == w]
        rows.append({k: (float(np.median([r[k] for r in mine])) if isinstance(mine[0][k], float) else mine[0][k])
                     for k in mine[0]} | {"runs": len(mine)})
    by_w = {r["workers"]: r for r in rows}
    scaling = {}
    if 1 in by_w and 2 in by_w:
        scaling = {"pool_2_over_1": by_w[2]["datapoints_per_s_pool"] / by_w[1]["datapoints_per_s_pool"],
                   "wall_2_over_1": by_w[2]["datapoints_per_s_wall"] / by_w[1]["datapoints_per_s_wall"]}
    return {"benchmark": "synth", "objects": objects, "views_per_pose": views_per_pose, "seed": seed,
            "heaps": heaps, "heap_objects": heap_objects,
            "repeats": repeats, **machine_info(), "results": rows, "runs": runs, "scaling": scaling}
