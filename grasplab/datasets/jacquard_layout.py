"""Jacquard-layout planar scenes: ``<view>_<id>_{RGB.png, perfect_depth.tiff, stereo_depth.tiff,
mask.png, grasps.txt}`` in a folder per object.

``grasps.txt`` holds one grasp per line, ``x;y;theta_deg;opening_px;jaw_px`` in image pixels.
Jacquard's θ runs the other way from grasplab's (GG-CNN reads angle = −θ), so grasplab writes
θ = −degrees(angle_rad). grasplab adds a sidecar ``<view>_<id>_grasps.json`` with every
candidate, its quality values and collision flag, and the camera intrinsics and pose.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import GrasplabError
from ..geometry import Grasp2D
from ..imaging import write_depth_tiff, write_png
from ..storage import atomic_write_bytes, atomic_write_json


@dataclass(frozen=True)
class JacquardGrasp:
    x_px: float
    y_px: float
    theta_deg: float
    opening_px: float
    jaw_px: float

    def to_grasp2d(self) -> Grasp2D:
        return Grasp2D((self.x_px, self.y_px), -np.deg2rad(self.theta_deg), self.opening_px, self.jaw_px)

    @classmethod
    def from_grasp2d(cls, g: Grasp2D) -> "JacquardGrasp":
        return cls(g.center_xy_px[0], g.center_xy_px[1], -np.rad2deg(g.angle_rad), g.width_px, g.jaw_px)


def read_jacquard_grasps(path: str | Path) -> list[JacquardGrasp]:
    """Parse a Jacquard ``_grasps.txt``; a malformed line raises an error naming file and line."""
    path = Path(path)
    if not path.is_file():
        raise GrasplabError(f"{path}: grasp file not found")
    grasps = []
    for lineno, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.strip().split(";")
        try:
            if len(parts) != 5:
                raise ValueError(f"expected 5 fields x;y;theta;opening;jaw, got {len(parts)}")
            vals = [float(p) for p in parts]
            if not np.all(np.isfinite(vals)):
                raise ValueError("non-finite value")
        except ValueError as e:
            raise GrasplabError(f"{path}:{lineno}: malformed grasp line {line.strip()!r} ({e})") from None
        grasps.append(JacquardGrasp(*vals))
    return grasps


def jacquard_stem(folder: str | Path, view: int, key: str) -> Path:
    return Path(folder) / key / f"{view}_{key}"


def write_jacquard_view(folder: str | Path, view: int, key: str, rgb: np.ndarray, perfect_depth_m: np.ndarray,
                        stereo_depth_m: np.ndarray, mask: np.ndarray, positives: list[Grasp2D],
                        sidecar: dict, object_index: np.ndarray | None = None) -> Path:
    """Write one view; the sidecar JSON is written last (its presence marks the view complete).
    ``object_index`` (clutter: which object each pixel shows, −1 for none) becomes
    ``<view>_<id>_objects.png`` holding index + 1 (0: table)."""
    stem = jacquard_stem(folder, view, key)
    if object_index is not None:
        write_png(f"{stem}_objects.png", (np.asarray(object_index) + 1).astype(np.uint8))
    write_png(f"{stem}_RGB.png", rgb)
    write_depth_tiff(f"{stem}_perfect_depth.tiff", perfect_depth_m)
    write_depth_tiff(f"{stem}_stereo_depth.tiff", stereo_depth_m)
    write_png(f"{stem}_mask.png", mask)
    lines = []
    for g in positives:
        j = JacquardGrasp.from_grasp2d(g)
        lines.append(f"{j.x_px:.2f};{j.y_px:.2f};{j.theta_deg:.2f};{j.opening_px:.2f};{j.jaw_px:.2f}")
    atomic_write_bytes(f"{stem}_grasps.txt", ("\n".join(lines) + ("\n" if lines else "")).encode())
    return atomic_write_json(f"{stem}_grasps.json", sidecar)
