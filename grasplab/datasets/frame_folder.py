"""Folders of unlabelled camera frames: ``depth_N.{npy,tiff,tif,png}`` with optional
``color_N.png`` and ``segmask_N.png`` beside them (gqcnn's example layout), read lazily as
scenes without grasps (for out-of-distribution figures and semi-supervised learning)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import GrasplabError

DEPTH_SUFFIXES = (".npy", ".tiff", ".tif", ".png")


class FolderFrame:
    """One frame of a frame folder, with the scene interface datasets read (no grasps)."""

    object_id = None

    def __init__(self, depth_path: Path):
        self.depth_path = depth_path
        idx = depth_path.stem.split("_", 1)[1]
        self.color_path = depth_path.parent / f"color_{idx}.png"
        self.mask_path = depth_path.parent / f"segmask_{idx}.png"
        self.stem = depth_path.with_suffix("")

    def depth_m(self) -> np.ndarray:
        from ..imaging.image_io import read_depth_m
        d = read_depth_m(self.depth_path)
        return d.reshape(d.shape[:2])

    def rgb(self) -> np.ndarray:
        from ..imaging.image_io import read_rgb
        if not self.color_path.is_file():
            raise GrasplabError(f"{self.depth_path}: no {self.color_path.name} beside it; give colour images or use "
                                f"depth input")
        return read_rgb(self.color_path)

    def mask(self) -> np.ndarray:
        from ..imaging.image_io import read_mask
        if not self.mask_path.is_file():
            raise GrasplabError(f"{self.depth_path}: no {self.mask_path.name} (object mask) beside it")
        return read_mask(self.mask_path)

    def rectangles(self) -> list:
        return []


def list_frames(folder: str | Path) -> list[FolderFrame]:
    """The folder's frames sorted by name (empty when it holds no ``depth_N`` image)."""
    folder = Path(folder)
    return [FolderFrame(p) for p in sorted(folder.glob("depth_*")) if p.suffix.lower() in DEPTH_SUFFIXES]
