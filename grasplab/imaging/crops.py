"""Grasp-aligned crops (GQ-CNN's input): centred on the grasp, its axis horizontal.

The crop's +x (column) direction is the grasp's opening direction in the image and +y
(row) is 90° clockwise from it on screen, so a grasp at angle θ becomes horizontal. A
``crop_px`` square is sampled bilinearly and block-averaged down to ``out_px`` (Dex-Net 2.0:
96 → 32).
"""
from __future__ import annotations

import numpy as np
import scipy.ndimage as ndi

from ..errors import ConfigError


def rotated_crops(image: np.ndarray, centers_xy_px: np.ndarray, angles_rad: np.ndarray, crop_px: int = 96,
                  out_px: int = 32) -> np.ndarray:
    """Crops (N, out_px, out_px) float32; pixels outside the image repeat the nearest edge."""
    if crop_px % out_px:
        raise ConfigError(f"crop size {crop_px} must be a whole multiple of the output size {out_px}")
    img = np.asarray(image, dtype=np.float64)
    c = np.asarray(centers_xy_px, dtype=np.float64).reshape(-1, 2)
    a = np.asarray(angles_rad, dtype=np.float64).reshape(-1)
    n = len(c)
    if n == 0:
        return np.zeros((0, out_px, out_px), dtype=np.float32)
    off = np.arange(crop_px) - (crop_px - 1) / 2.0
    dy, dx = np.meshgrid(off, off, indexing="ij")                   # (crop, crop)
    cos, sin = np.cos(a)[:, None, None], np.sin(a)[:, None, None]
    x = c[:, 0, None, None] + dx * cos + dy * sin
    y = c[:, 1, None, None] - dx * sin + dy * cos
    vals = ndi.map_coordinates(img, [y.ravel(), x.ravel()], order=1, mode="nearest").reshape(n, crop_px, crop_px)
    f = crop_px // out_px
    return vals.reshape(n, out_px, f, out_px, f).mean(axis=(2, 4)).astype(np.float32)
