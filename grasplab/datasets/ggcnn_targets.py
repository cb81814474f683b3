"""GG-CNN training targets: quality, angle (as cos 2θ, sin 2θ) and width maps from rectangles.

Each ground-truth rectangle is drawn shrunk to the middle third of its opening length at full
jaw size; inside it Q = 1, the angle is the rectangle's θ and the width is its opening in
pixels, stored as min(w, 150) / 150 (GG-CNN's convention).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..geometry import GraspRectangle

WIDTH_SCALE_PX = 150.0


@dataclass
class GraspMaps:
    quality: np.ndarray      # (H, W) in {0, 1}
    cos2: np.ndarray         # cos 2θ
    sin2: np.ndarray         # sin 2θ
    width: np.ndarray        # opening px / 150, clipped to [0, 1]

    def stack(self) -> np.ndarray:
        return np.stack([self.quality, self.cos2, self.sin2, self.width]).astype(np.float32)


def _fill_convex(shape: tuple[int, int], poly: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pixels (rows, cols) whose centres lie inside a convex polygon (any winding)."""
    h, w = shape
    x0, y0 = np.floor(poly.min(axis=0)).astype(int)
    x1, y1 = np.ceil(poly.max(axis=0)).astype(int)
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w - 1), min(y1, h - 1)
    if x1 < x0 or y1 < y0:
        return np.zeros(0, int), np.zeros(0, int)
    yy, xx = np.mgrid[y0:y1 + 1, x0:x1 + 1]
    inside_pos = np.ones(yy.shape, bool)
    inside_neg = np.ones(yy.shape, bool)
    for i in range(len(poly)):
        (ax, ay), (bx, by) = poly[i], poly[(i + 1) % len(poly)]
        cross = (bx - ax) * (yy - ay) - (by - ay) * (xx - ax)
        inside_pos &= cross >= 0
        inside_neg &= cross <= 0
    inside = inside_pos | inside_neg
    return yy[inside], xx[inside]


def grasp_maps(rectangles: list[GraspRectangle], shape: tuple[int, int], length_fraction: float = 1 / 3) -> GraspMaps:
    """Target maps for one image (later rectangles overwrite earlier ones where they overlap)."""
    q = np.zeros(shape, np.float32)
    ang = np.zeros(shape, np.float32)
    wid = np.zeros(shape, np.float32)
    for r in rectangles:
        g = r.to_grasp2d()
        shrunk = type(g)(g.center_xy_px, g.angle_rad, g.width_px * length_fraction, g.jaw_px)
        rows, cols = _fill_convex(shape, shrunk.corners_xy_px())
        q[rows, cols] = 1.0
        ang[rows, cols] = g.angle_rad
        wid[rows, cols] = min(g.width_px, WIDTH_SCALE_PX) / WIDTH_SCALE_PX
    # outside grasp regions all maps are 0 (GG-CNN's convention)
    return GraspMaps(q, (np.cos(2 * ang) * q).astype(np.float32), (np.sin(2 * ang) * q).astype(np.float32), wid)


def angle_bin_centres_rad(bins: int) -> np.ndarray:
    """Centres of ``bins`` equal angle bins covering [−π/2, π/2) (a grasp's angle is mod π)."""
    return -np.pi / 2 + (np.arange(bins) + 0.5) * np.pi / bins


def angle_bin_index(angle_rad: float, bins: int) -> int:
    """The bin holding an angle, after wrapping it into [−π/2, π/2)."""
    a = (angle_rad + np.pi / 2) % np.pi
    return min(int(a / (np.pi / bins)), bins - 1)


def binned_grasp_maps(rectangles: list[GraspRectangle], shape: tuple[int, int], bins: int,
                      length_fraction: float = 1 / 3) -> np.ndarray:
    """Targets for a network with an angle-bin classifier and a width per bin: (2·bins, H, W).

    Channel k is 1 where a rectangle whose angle lies in bin k covers the pixel (drawn shrunk
    like ``grasp_maps``; the quality target is their maximum); channel bins + k holds that
    rectangle's opening (px / 150). A pixel may be good at several angles (a prism grasped
    across either pair of faces): each bin keeps its own, where GG-CNN's single angle map can
    only hold one of them (or their average).
    """
    out = np.zeros((2 * bins,) + tuple(shape), np.float32)
    for r in rectangles:
        g = r.to_grasp2d()
        shrunk = type(g)(g.center_xy_px, g.angle_rad, g.width_px * length_fraction, g.jaw_px)
        rows, cols = _fill_convex(shape, shrunk.corners_xy_px())
        k = angle_bin_index(g.angle_rad, bins)
        out[k, rows, cols] = 1.0
        out[bins + k, rows, cols] = min(g.width_px, WIDTH_SCALE_PX) / WIDTH_SCALE_PX
    return out
