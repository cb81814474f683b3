"""Antipodal grasp candidates on a mesh resting in a stable pose (top-down grasps).

For surface samples p with outward normal n, the closing axis is −n made horizontal (and
tilted by at most ``axis_tolerance_deg``), turned by a random yaw inside the friction cone.
The jaws are closed along that axis from outside (see :func:`grasplab.quality.close_jaws`);
a candidate is kept when both contacts lie inside their friction cones and the contact
width fits the gripper. Near-duplicates (close centres, similar axes) are dropped.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import trimesh

from ..geometry import GraspSet
from ..quality.contacts import close_jaws
from .gripper import ParallelJawGripper


@dataclass(frozen=True)
class AntipodalConfig:
    friction_coef: float = 0.5            # friction cone used to accept contacts
    num_surface_samples: int = 600
    max_grasps: int = 100
    axis_tolerance_deg: float = 5.0       # largest tilt of the axis from the table plane
    min_center_distance_m: float = 0.005  # candidates closer than this ...
    min_axis_angle_deg: float = 15.0      # ... and with axes closer than this are duplicates
    width_margin_m: float = 0.002         # contact width must be ≤ max opening − margin


def _dedupe(g: GraspSet, config: AntipodalConfig, order: np.ndarray) -> np.ndarray:
    cos_min = np.cos(np.deg2rad(config.min_axis_angle_deg))
    kept: list[int] = []
    for i in order:
        if kept:
            d = np.linalg.norm(g.centers_m[kept] - g.centers_m[i], axis=1)
            same_axis = np.abs(g.axes[kept] @ g.axes[i]) > cos_min
            if np.any((d < config.min_center_distance_m) & same_axis):
                continue
        kept.append(int(i))
        if len(kept) >= config.max_grasps:
            break
    return np.array(kept, dtype=np.int64)


def sample_antipodal_grasps(mesh_table: trimesh.Trimesh, gripper: ParallelJawGripper, config: AntipodalConfig,
                            rng: np.random.Generator) -> GraspSet:
    """Up to ``max_grasps`` candidates (frame "table": z up, table at z = 0)."""
    pts, face_idx = trimesh.sample.sample_surface(mesh_table, config.num_surface_samples,
                                                  seed=int(rng.integers(2 ** 31)))
    normals = mesh_table.face_normals[face_idx]
    horiz = -normals.copy()
    horiz[:, 2] = 0.0
    norm = np.linalg.norm(horiz, axis=1)
    usable = norm > np.sin(np.deg2rad(10.0))          # (near-)horizontal faces cannot be side contacts
    if not usable.any():
        return GraspSet.empty("table")
    pts, horiz, norm = pts[usable], horiz[usable], norm[usable]
    m = len(pts)
    horiz /= norm[:, None]
    cone = np.arctan(config.friction_coef)
    yaw = rng.uniform(-cone, cone, m)
    cy, sy = np.cos(yaw), np.sin(yaw)
    axes = np.c_[cy * horiz[:, 0] - sy * horiz[:, 1], sy * horiz[:, 0] + cy * horiz[:, 1], np.zeros(m)]
    tilt = np.deg2rad(rng.uniform(-config.axis_tolerance_deg, config.axis_tolerance_deg, m))
    axes = axes * np.cos(tilt)[:, None] + np.array([0.0, 0.0, 1.0]) * np.sin(tilt)[:, None]
    # the grasp line passes through the sample; jaws start fully open around it
    contacts, normals_out, valid = close_jaws(mesh_table, pts, axes, gripper.max_width_m * 2.0)
    widths = np.linalg.norm(contacts[:, 1] - contacts[:, 0], axis=1)
    valid &= (widths <= gripper.max_width_m - config.width_margin_m) & (widths >= gripper.min_width_m)
    # both contacts inside their friction cones: the jaw's push direction within atan(μ) of −n
    cos_cone = np.cos(cone)
    valid &= np.einsum("ij,ij->i", -normals_out[:, 0], axes) >= cos_cone
    valid &= np.einsum("ij,ij->i", -normals_out[:, 1], -axes) >= cos_cone
    valid &= contacts[:, :, 2].min(axis=1) > 0.0     # above the table
    idx = np.flatnonzero(valid)
    if idx.size == 0:
        return GraspSet.empty("table")
    cand = GraspSet((contacts[idx, 0] + contacts[idx, 1]) / 2, axes[idx], widths[idx], contacts[idx],
                    normals_out[idx], "table")
    keep = _dedupe(cand, config, rng.permutation(len(cand)))
    return cand.subset(keep)
