"""Robust-quality benchmark: labelled grasps per second per core, fast beside the reference.

One object per procedural family rests in its likeliest pose; antipodal candidates are
sampled; every candidate gets Dex-Net's robust label (25 Monte-Carlo samples by default).
The slow reference (brute-force facets, no friction-cone shortcut) labels a few of the same
grasps in the same run, and both paths' labels are compared.
"""
from __future__ import annotations

import time

import numpy as np

from .machine import limit_to_cores, machine_info


def run_quality_bench(cores: int | None = 1, reference_grasps: int = 8, num_samples: int = 25,
                      gripper: str = "robotiq_2f85", seed: int = 0) -> dict:
    cpus = limit_to_cores(cores)
    from ..grasps import AntipodalConfig, load_gripper, sample_antipodal_grasps
    from ..objects import FAMILIES, make_procedural_object
    from ..quality import QualityConfig, robust_quality
    from ..scene import compute_stable_poses
    grip = load_gripper(gripper)
    cfg = QualityConfig(num_samples=num_samples)
    jobs = []
    for i, fam in enumerate(FAMILIES):
        obj = make_procedural_object(fam, seed + i)
        pose = compute_stable_poses(obj)[0]
        mesh = obj.mesh.copy()
        mesh.apply_transform(pose.T_table_obj.matrix)
        grasps = sample_antipodal_grasps(mesh, grip, AntipodalConfig(), np.random.default_rng(seed + i))
        jobs.append((fam, mesh, pose.T_table_obj.apply(obj.center_of_mass_m), grasps))
    for _, mesh, _, _ in jobs:
        mesh.ray.intersects_any(np.zeros((1, 3)), np.array([[0.0, 0.0, 1.0]]))   # build BVHs untimed
    n_fast, t_fast, fast_labels = 0, 0.0, []
    for fam, mesh, com, grasps in jobs:
        t0 = time.perf_counter()
        lab = robust_quality(mesh, com, grasps, grip.max_width_m, cfg, np.random.default_rng(1))
        t_fast += time.perf_counter() - t0
        n_fast += len(grasps)
        fast_labels.append(lab)
    # the reference on the first few grasps of each object, in turn, until reference_grasps
    n_ref, t_ref, max_diff = 0, 0.0, 0.0
    per_obj = max(1, int(np.ceil(reference_grasps / len(jobs))))
    for (fam, mesh, com, grasps), fast in zip(jobs, fast_labels):
        k = min(per_obj, len(grasps), reference_grasps - n_ref)
        if k <= 0:
            break
        sub = grasps.subset(np.arange(k))
        t0 = time.perf_counter()
        ref = robust_quality(mesh, com, sub, grip.max_width_m, cfg, np.random.default_rng(1), reference=True)
        t_ref += time.perf_counter() - t0
        n_ref += k
        # the same generator draws the same perturbations only for the same batch: recompute fast
        fast_sub = robust_quality(mesh, com, sub, grip.max_width_m, cfg, np.random.default_rng(1))
        max_diff = max(max_diff, float(np.abs(fast_sub.robust_ferrari_canny - ref.robust_ferrari_canny).max()))
    fast_rate = n_fast / t_fast
    ref_rate = n_ref / t_ref if t_ref > 0 else float("nan")
    positives = np.concatenate([lab.robust_ferrari_canny for lab in fast_labels]) > cfg.positive_threshold
    return {
        "benchmark": "quality", "cpus": cpus, "samples_per_grasp": num_samples, "gripper": gripper,
        **machine_info(),
        "results": [
            {"implementation": "fast (qhull QJ + cone shortcut)", "grasps": n_fast, "seconds": t_fast,
             "grasps_per_s": fast_rate},
            {"implementation": "reference (brute-force facets)", "grasps": n_ref, "seconds": t_ref,
             "grasps_per_s": ref_rate},
        ],
        "speedup": fast_rate / ref_rate if ref_rate == ref_rate else None,
        "max_robust_eps_difference": max_diff,
        "positive_fraction": float(positives.mean()),
    }
