"""Simulation cost of a singulated grasp trial on one core, planning and rendering excluded.

One object per procedural family; each trial builds the MuJoCo world (coacd parts cached
beforehand), settles the object, and executes the oracle's grasp (labelled untimed) through the
whole protocol (approach, close, lift, hold, shake). Reported per trial: build, settle and
execution wall time, simulated seconds and the real-time factor.
"""
from __future__ import annotations

import time

import numpy as np

from .machine import limit_to_cores, machine_info

TARGET_MS = 100.0


def run_trial_bench(trials: int = 5, cores: int | None = 1, seed: int = 0, preset: str = "jacquard-like") -> dict:
    cpus = limit_to_cores(cores)
    from ..grasps import load_gripper
    from ..objects import FAMILIES, make_procedural_object
    from ..objects.decomposition import convex_decomposition
    from ..seeding import derive_rng
    from ..trials.grasp_execution import execute_grasp
    from ..grasps.labelled import label_object_in_place
    from ..trials.trial import TrialConfig, set_up_trial
    cfg = TrialConfig.from_preset(preset)
    gripper = load_gripper(cfg.gripper)
    rows = []
    for i, fam in enumerate(FAMILIES):
        obj = make_procedural_object(fam, seed + i)
        convex_decomposition(obj.mesh)                                 # cached, as after a job's first trial
        for k in range(trials):
            rng = derive_rng(seed, "bench-trial", fam, k)
            t0 = time.perf_counter()
            setup = set_up_trial(obj, cfg, rng, None, render=False)
            t_setup = time.perf_counter() - t0
            best = label_object_in_place(obj, setup.T_world_obj, gripper, rng, num_grasps=30).best()
            if best is None:
                continue
            t0 = time.perf_counter()
            res = execute_grasp(setup.world, best[0], 0, setup.hull_vertices, cfg.execution)
            t_exec = time.perf_counter() - t0
            rows.append({"family": fam, "setup_ms": 1e3 * t_setup, "execute_ms": 1e3 * t_exec,
                         "total_ms": 1e3 * (t_setup + t_exec), "sim_s": res.sim_time_s, "outcome": res.outcome})
    per_family = {}
    for fam in FAMILIES:
        r = [x for x in rows if x["family"] == fam]
        if r:
            per_family[fam] = {"trials": len(r), "median_total_ms": float(np.median([x["total_ms"] for x in r])),
                               "median_setup_ms": float(np.median([x["setup_ms"] for x in r])),
                               "median_execute_ms": float(np.median([x["execute_ms"] for x in r])),
                               "successes": sum(x["outcome"] == "success" for x in r)}
    total = [x["total_ms"] for x in rows]
    sim = sum(x["sim_s"] for x in rows)
    return {"benchmark": "trial", "cpus": cpus, "preset": preset, **machine_info(), "per_family": per_family,
            "trials": len(rows), "median_total_ms": float(np.median(total)) if total else None,
            "p90_total_ms": float(np.percentile(total, 90)) if total else None,
            "real_time_factor": sim / (sum(total) / 1e3) if total else None, "target_ms": TARGET_MS}
