"""Stable resting poses of an object on a horizontal table (z up, table at z = 0)."""
from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import trimesh

from ..errors import ConfigError, StablePoseError
from ..geometry import RigidTransform
from ..objects import GraspObject
from ..storage import atomic_write_bytes, cache_root


@dataclass(frozen=True)
class StablePose:
    """``T_table_obj`` places the object on the table, centre of mass above the origin."""

    index: int
    T_table_obj: RigidTransform
    probability: float

    @property
    def up_in_object(self) -> np.ndarray:
        """The table normal expressed in the object frame (defines the pose up to yaw)."""
        return self.T_table_obj.rotation.T @ np.array([0.0, 0.0, 1.0])

    def placed(self, x_m: float = 0.0, y_m: float = 0.0, yaw_rad: float = 0.0) -> RigidTransform:
        """``T_world_obj`` for this pose moved to (x, y) on the table and turned by ``yaw_rad``."""
        T_world_table = RigidTransform.rotation_z(yaw_rad, (x_m, y_m, 0.0), "table", "world")
        return T_world_table @ self.T_table_obj


_MEMO: dict[str, tuple[np.ndarray, np.ndarray]] = {}


def clear_stable_pose_memo() -> None:
    """Forget poses computed in this process (the disk cache is kept); for cold benchmarks."""
    _MEMO.clear()


def _raw_stable_poses(obj: GraspObject) -> tuple[np.ndarray, np.ndarray]:
    """trimesh's poses and probabilities, memoised in memory and cached on disk by mesh hash
    (the analysis takes ~0.1–0.2 s per mesh and every pose of an object needs it)."""
    key = obj.hash
    if key in _MEMO:
        return _MEMO[key]
    path = cache_root() / "stable_poses" / f"{key}.npz"
    try:
        with np.load(path, allow_pickle=False) as z:
            result = (z["transforms"], z["probs"])
    except (OSError, KeyError, ValueError):
        transforms, probs = trimesh.poses.compute_stable_poses(obj.mesh, center_mass=obj.center_of_mass_m)
        result = (np.asarray(transforms, dtype=np.float64), np.asarray(probs, dtype=np.float64))
        buf = io.BytesIO()
        np.savez(buf, transforms=result[0], probs=result[1])
        atomic_write_bytes(path, buf.getvalue())
    if len(_MEMO) > 256:
        _MEMO.clear()
    _MEMO[key] = result
    return result


def compute_stable_poses(obj: GraspObject, min_probability: float = 0.02,
                         merge_angle_deg: float = 2.0, max_poses: int | None = None) -> list[StablePose]:
    """Stable poses from trimesh's quasi-static analysis.

    Poses less likely than ``min_probability`` are dropped; poses whose table normals (in
    the object frame) agree within ``merge_angle_deg`` are one pose up to rotation about
    the vertical, and are merged (probabilities added). Sorted by probability. On finely
    tessellated curved objects the probability is spread over many facets, none of which may
    reach the threshold: then the likeliest pose is kept alone.
    """
    if not 0.0 <= min_probability <= 1.0:
        raise ConfigError(f"min_probability={min_probability} must lie in [0, 1]")
    mesh = obj.mesh
    try:
        transforms, probs = _raw_stable_poses(obj)
    except (ValueError, IndexError, RuntimeError) as e:   # qhull/trimesh failures on degenerate meshes
        raise StablePoseError(f"object {obj.name}: stable pose analysis failed ({e}); check the mesh") from None
    cos_tol = np.cos(np.deg2rad(merge_angle_deg))
    kept: list[tuple[np.ndarray, float]] = []
    for T, p in sorted(zip(transforms, probs), key=lambda tp: -tp[1]):
        R = T[:3, :3]
        up = R.T @ np.array([0.0, 0.0, 1.0])
        for i, (T_k, p_k) in enumerate(kept):
            if np.dot(up, T_k[:3, :3].T @ np.array([0.0, 0.0, 1.0])) > cos_tol:
                kept[i] = (T_k, p_k + float(p))
                break
        else:
            kept.append((T, float(p)))
    if not kept:
        raise StablePoseError(f"object {obj.name}: trimesh found no stable pose; check the mesh")
    kept.sort(key=lambda tp: -tp[1])
    kept = [(T, p) for T, p in kept if p >= min_probability] or kept[:1]
    if max_poses is not None:
        kept = kept[:max_poses]
    poses = []
    for i, (T, p) in enumerate(kept):
        R = T[:3, :3]
        # put the centre of mass above the table origin and the lowest vertex exactly at z = 0
        z_min = float((mesh.vertices @ R.T)[:, 2].min())
        t = -R @ obj.center_of_mass_m
        t[2] = -z_min
        poses.append(StablePose(i, RigidTransform(R, t, "obj", "table"), p))
    return poses
