"""Bringing a frame from another camera to the camera a crop model was trained with.

A GQ-CNN sees fixed-size pixel crops and absolute depths, so a network trained at one camera
distance and focal length misreads frames from another: the objects look larger or smaller, and
every depth is offset. ``TrainingCamera`` records, from the training data, the metric side of its
crops and the table's depth at the image centre (5th, 50th and 95th percentiles). A policy then
stretches each crop so its metric side falls inside the training range, and shifts a frame's
depths (crops and gripper depths alike: the grasp's geometry is unchanged) so its table lies in
the training range. Inside those ranges nothing changes, so frames like the training data are
read exactly as before.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ..errors import ConfigError


@dataclass(frozen=True)
class TrainingCamera:
    crop_side_m: tuple[float, float, float]        # crop_px × gripper depth / fx: 5th, 50th, 95th percentile
    table_depth_m: tuple[float, float, float]      # depth of the table plane at the principal point

    def __post_init__(self):
        for name, v in asdict(self).items():
            if len(v) != 3 or not all(np.isfinite(v)) or not 0 < v[0] <= v[1] <= v[2]:
                raise ConfigError(f"training camera {name} must be three increasing positive percentiles, got {v}")

    @classmethod
    def from_training_data(cls, crop_px: int, depth_m: np.ndarray, fx_px: np.ndarray,
                           camera_poses: np.ndarray) -> "TrainingCamera":
        """From a dataset's datapoints: gripper depths, focal lengths and camera poses
        (``[x, y, z, qw, qx, qy, qz]`` of the camera in the table frame, table at z = 0)."""
        side = crop_px * np.asarray(depth_m, float) / np.asarray(fx_px, float)
        table = table_depth_at_centre(np.asarray(camera_poses, float))
        pct = (5, 50, 95)
        return cls(tuple(float(v) for v in np.percentile(side, pct)),
                   tuple(float(v) for v in np.percentile(table[np.isfinite(table)], pct)))

    @classmethod
    def from_dict(cls, d: dict | None) -> "TrainingCamera | None":
        if not d:
            return None
        return cls(tuple(d["crop_side_m"]), tuple(d["table_depth_m"]))

    def to_dict(self) -> dict:
        return {k: list(v) for k, v in asdict(self).items()}

    def crop_scale(self, crop_px: int, fx_px: float, depth_m: np.ndarray) -> np.ndarray:
        """Per grasp, how much to stretch a ``crop_px`` crop so its metric side lies in the training range."""
        side = crop_px * np.maximum(np.asarray(depth_m, float), 1e-6) / fx_px
        return np.clip(side, self.crop_side_m[0], self.crop_side_m[2]) / side

    def depth_offset_m(self, table_depth_m: float) -> float:
        """What to add to a frame's depths so its table lies in the training range (0 inside it)."""
        lo, _, hi = self.table_depth_m
        return float(np.clip(table_depth_m, lo, hi) - table_depth_m)


def table_depth_at_centre(camera_poses: np.ndarray) -> np.ndarray:
    """Depth along the optical axis to the plane z = 0 for camera poses ``[x, y, z, qw, qx, qy, qz]``."""
    from scipy.spatial.transform import Rotation
    p = np.atleast_2d(camera_poses)
    axis_z = Rotation.from_quat(p[:, [4, 5, 6, 3]]).as_matrix()[:, 2, 2]     # world z of the optical axis
    with np.errstate(divide="ignore", invalid="ignore"):
        d = -p[:, 2] / axis_z
    return np.where(d > 0, d, np.nan)


def frame_table_depth_m(depth_m: np.ndarray, intrinsics, plane_m: np.ndarray | None = None) -> float:
    """The fitted table plane's depth (``plane_m``, when already fitted) at the principal point
    (clamped into the image)."""
    from .table_plane import fit_table_plane
    plane = fit_table_plane(depth_m) if plane_m is None else plane_m
    h, w = plane.shape
    y = int(np.clip(round(intrinsics.cy), 0, h - 1))
    x = int(np.clip(round(intrinsics.cx), 0, w - 1))
    return float(plane[y, x])
