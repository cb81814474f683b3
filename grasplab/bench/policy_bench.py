"""``grasplab bench policy``: planning time of the Dex-Net policies on the same frames, interleaved
frame by frame: the fully convolutional GQ-CNN (one dense pass), sample-and-rank and the
cross-entropy method (Dex-Net 2.0's settings), each with its target, the part spent sampling
antipodal grasps, and the grasps scored per plan."""
from __future__ import annotations

import time

import numpy as np

from .machine import limit_to_cores, machine_info

#: issue 21's planning-time targets on 2 cores (ms per frame)
TARGETS_MS = {"fc-gqcnn": 50.0, "gqcnn-rank": 100.0, "gqcnn-cem": 250.0}


def run_policy_bench(model_path: str, scenes: list, frames: int = 20, threads: int = 2, seed: int = 0,
                     masks: bool = True, policies: tuple[str, ...] = tuple(TARGETS_MS),
                     clearance: str | None = None, extra: dict | None = None) -> dict:
    """Time ``plan`` of each policy on the scenes' frames (with their masks, or planning on what
    stands above the table), interleaved; with ``clearance`` (a gripper) each also behind the
    approach-clearance check; ``extra``: more policies, {name: spec file}, timed alongside."""
    limit_to_cores(threads)
    import torch
    torch.set_num_threads(threads)
    from ..errors import ConfigError
    from ..policies import load_policy, with_clearance

    loaded = {name: load_policy(name, model=model_path) for name in policies}
    clash = set(extra or {}) & set(loaded)
    if clash:
        raise ConfigError(f"policy spec files named like the benchmarked policies ({', '.join(sorted(clash))}): "
                          "rename the files, whose names label their rows")
    loaded.update({name: load_policy(path) for name, path in (extra or {}).items()})
    if clearance is not None:
        loaded.update({f"{name} + clearance": with_clearance(load_policy(name, model=model_path), clearance)
                       for name in policies})
    times, sampling, scored = ({m: [] for m in loaded} for _ in range(3))
    usable = [s for s in scenes if s.rectangles()][:frames] or list(scenes)[:frames]
    frames_data = [s.frame(rgb=False, mask=masks) for s in usable]
    for pol in loaded.values():                # warm-up
        pol.plan(frames_data[0], seed=seed)
    for i in range(frames):
        frame = frames_data[i % len(frames_data)]
        for m, pol in loaded.items():
            t = time.perf_counter()
            pol.plan(frame, seed=seed + i)
            times[m].append(time.perf_counter() - t)
            sampling[m].append(pol.last_stats.get("sampling_s", 0.0))
            scored[m].append(pol.last_stats.get("grasps_scored", 0))
    rows = []
    for m in loaded:
        med = 1e3 * float(np.median(times[m]))
        target = TARGETS_MS.get(loaded[m].name) if m in (extra or {}) else TARGETS_MS.get(m)
        rows.append({"policy": m, "frames": frames, "median_ms": med, "p90_ms": 1e3 * float(np.percentile(times[m], 90)),
                     "sampling_median_ms": 1e3 * float(np.median(sampling[m])),
                     "grasps_scored": float(np.median(scored[m])), "target_ms": target,
                     "meets_target": None if target is None else med <= target})
    by = {r["policy"]: r["median_ms"] for r in rows}
    return {**machine_info(), "threads": threads, "torch": torch.__version__, "model": model_path, "masks": masks,
            "image": f"{frames_data[0].shape[1]}×{frames_data[0].shape[0]}", "results": rows,
            "ratios_to_rank": {m: v / by["gqcnn-rank"] for m, v in by.items()} if "gqcnn-rank" in by else {}}
