"""Jacquard (and grasplab's Jacquard-layout) scenes: discovery and loading.

A scene is ``<root>/<object_id>/<view>_<object_id>_*``; the object id (the folder) is what
object-wise splits group by. grasplab's own scenes carry a sidecar with every candidate.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import GrasplabError
from ..geometry import CameraIntrinsics, Grasp2D, GraspRectangle, RigidTransform
from ..imaging import Frame, read_depth_m, read_mask, read_rgb
from .jacquard_layout import read_jacquard_grasps


@dataclass(frozen=True)
class JacquardScene:
    stem: Path          # <root>/<object_id>/<view>_<object_id>
    object_id: str
    view: str
    depth_kind: str = "perfect"     # which depth image depth_m() returns by default

    def rgb(self) -> np.ndarray:
        return read_rgb(f"{self.stem}_RGB.png")

    def depth_m(self, kind: str | None = None) -> np.ndarray:
        """``perfect`` (noise-free) or ``stereo`` (noisy; Jacquard marks holes as −1, kept as holes)."""
        kind = kind or self.depth_kind
        if kind not in ("perfect", "stereo"):
            raise GrasplabError(f"unknown Jacquard depth kind {kind!r}; use perfect or stereo")
        return read_depth_m(f"{self.stem}_{kind}_depth.tiff", units="m")

    def mask(self) -> np.ndarray:
        return read_mask(f"{self.stem}_mask.png")

    def rectangles(self) -> list[GraspRectangle]:
        return [GraspRectangle.from_grasp2d(g.to_grasp2d()) for g in read_jacquard_grasps(f"{self.stem}_grasps.txt")]

    def frame(self, rgb: bool = True, mask: bool = True) -> Frame:
        """The scene as a camera frame (what a policy takes): depth, and on request RGB and the
        object mask; grasplab's scenes add their camera intrinsics and pose."""
        side = self.sidecar() or {}
        intr = CameraIntrinsics.from_dict(side["intrinsics"]) if "intrinsics" in side else None
        pose = RigidTransform.from_dict(side["T_world_camera"]) if "T_world_camera" in side else None
        return Frame.from_images(self.depth_m(), rgb=self.rgb() if rgb else None, mask=self.mask() if mask else None,
                                 intrinsics=intr, T_world_camera=pose, units="m", name=self.stem.name)

    def sidecar(self) -> dict | None:
        p = Path(f"{self.stem}_grasps.json")
        return json.loads(p.read_text()) if p.is_file() else None

    def negative_rectangles(self) -> list[GraspRectangle] | None:
        """The candidates grasplab's labels tried and rejected (``None``: the scene has no
        sidecar, so nothing is known of what was tried)."""
        side = self.sidecar()
        if not side or "candidates" not in side:
            return None
        return [GraspRectangle.from_grasp2d(Grasp2D(tuple(c["center_xy_px"]), c["angle_rad"], c["width_px"],
                                                    c["jaw_px"])) for c in side["candidates"] if not c["positive"]]


def list_jacquard_scenes(root: str | Path, depth_kind: str = "perfect") -> list[JacquardScene]:
    """Every scene under ``root`` (a Jacquard folder or a grasplab synth output), sorted."""
    if depth_kind not in ("perfect", "stereo"):
        raise GrasplabError(f"--depth {depth_kind!r}: a Jacquard scene has perfect or stereo depth")
    root = Path(root)
    if (root / "jacquard").is_dir():
        root = root / "jacquard"
    if not root.is_dir():
        raise GrasplabError(f"{root}: Jacquard folder not found")
    scenes = []
    for g in sorted(root.glob("*/*_grasps.txt")):
        stem = Path(str(g)[: -len("_grasps.txt")])
        view, _, obj = stem.name.partition("_")
        if not Path(f"{stem}_perfect_depth.tiff").is_file() and not Path(f"{stem}_stereo_depth.tiff").is_file():
            raise GrasplabError(f"{stem}: grasps without a depth image (expected {stem.name}_perfect_depth.tiff)")
        scenes.append(JacquardScene(stem, obj or g.parent.name, view, depth_kind))
    if not scenes:
        raise GrasplabError(f"{root}: no Jacquard scenes (<object>/<view>_<object>_grasps.txt) found")
    return scenes
