"""``grasplab bench policy``: planning time of Dex-Net 2.0's policies (sample-and-rank, cross-entropy)
with a GQ-CNN on labelled frames, the two interleaved frame by frame, with the part spent sampling
antipodal grasps and the grasps scored per plan."""
from __future__ import annotations

import time

import numpy as np

from .machine import limit_to_cores, machine_info


def run_policy_bench(model_path: str, scenes: list, frames: int = 20, threads: int = 2, seed: int = 0) -> dict:
    """Plans of the ``gqcnn-rank`` and ``gqcnn-cem`` policies on the scenes' frames (their masks
    given), interleaved, timed through ``plan``."""
    limit_to_cores(threads)
    import torch
    torch.set_num_threads(threads)
    from ..policies import load_policy

    policies = {m: load_policy(f"gqcnn-{m}", model=model_path) for m in ("rank", "cem")}
    times, sampling, scored = ({m: [] for m in policies} for _ in range(3))
    usable = [s for s in scenes if s.rectangles()][:frames] or list(scenes)[:frames]
    frames_data = [s.frame(rgb=False, mask=True) for s in usable]
    for pol in policies.values():                # warm-up
        pol.plan(frames_data[0], seed=seed)
    for i in range(frames):
        frame = frames_data[i % len(frames_data)]
        for m, pol in policies.items():
            t = time.perf_counter()
            pol.plan(frame, seed=seed + i)
            times[m].append(time.perf_counter() - t)
            sampling[m].append(pol.last_stats["sampling_s"])
            scored[m].append(pol.last_stats["grasps_scored"])
    rows = [{"policy": m, "frames": frames, "median_ms": 1e3 * float(np.median(times[m])),
             "p90_ms": 1e3 * float(np.percentile(times[m], 90)),
             "sampling_median_ms": 1e3 * float(np.median(sampling[m])),
             "grasps_scored": float(np.median(scored[m]))} for m in policies]
    return {**machine_info(), "threads": threads, "torch": torch.__version__, "model": model_path,
            "image": f"{frames_data[0].shape[1]}×{frames_data[0].shape[0]}", "results": rows,
            "cem_over_rank": rows[1]["median_ms"] / rows[0]["median_ms"]}
