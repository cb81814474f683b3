"""The square crop between a camera frame and a network's input, with its forward and inverse maps.

Coordinates: frame pixels are (x = column, y = row) with pixel centres at integers (OpenCV);
``top``/``left`` are the window's edges in the same frame, so a window of side ``side`` starting
at (0, 0) covers the pixels 0 … side − 1. ``scale`` = output pixels per frame pixel. Every
frame ↔ network-input conversion of points and grasps in grasplab goes through this class.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.ndimage as ndi

from ..geometry import Grasp2D


def mask_box_center(mask: np.ndarray) -> tuple[float, float]:
    """(row, col) of the centre of the mask's bounding box, in edge coordinates (a mask that is
    the single pixel (r, c) gives (r + 0.5, c + 0.5)): the centre of a window around it."""
    rows, cols = np.nonzero(mask)
    if rows.size == 0:
        raise ValueError("the mask is empty: it has no bounding box")
    return (rows.min() + rows.max() + 1) / 2, (cols.min() + cols.max() + 1) / 2


@dataclass(frozen=True)
class Window:
    """A square crop: ``top``, ``left`` and ``side`` in frame pixels, resampled to ``out`` pixels."""

    top: float
    left: float
    side: float
    out: int

    @property
    def scale(self) -> float:
        return self.out / self.side

    # --- points and grasps ------------------------------------------------------------------
    def map_points(self, xy: np.ndarray) -> np.ndarray:
        """Frame (x, y) pixel coordinates → output coordinates (pixel-centre convention)."""
        p = np.asarray(xy, dtype=np.float64)
        return (p - [self.left, self.top] + 0.5) * self.scale - 0.5

    def to_frame(self, xy: np.ndarray) -> np.ndarray:
        """Output (x, y) pixel coordinates → frame coordinates: the inverse of ``map_points``."""
        p = np.asarray(xy, dtype=np.float64)
        return (p + 0.5) / self.scale - 0.5 + [self.left, self.top]

    def grasp_to_frame(self, g: Grasp2D, depth_m: float | None = None) -> Grasp2D:
        """A grasp in output pixels as the same grasp in frame pixels (angles are kept: the map
        is a uniform scale and a shift)."""
        c = self.to_frame(g.center_xy_px)
        return Grasp2D(tuple(c), g.angle_rad, g.width_px / self.scale, g.jaw_px / self.scale,
                       g.depth_m if depth_m is None else depth_m)

    def grasp_to_output(self, g: Grasp2D) -> Grasp2D:
        """A grasp in frame pixels as the same grasp in output pixels."""
        c = self.map_points(g.center_xy_px)
        return Grasp2D(tuple(c), g.angle_rad, g.width_px * self.scale, g.jaw_px * self.scale, g.depth_m)

    def output_inside(self, frame_shape: tuple[int, int], mask: np.ndarray | None = None) -> np.ndarray:
        """(out, out) bool: the output pixels whose centres map into the frame (a window may run
        past its edges, which are then repeated) and, with ``mask``, onto the mask (nearest
        frame pixel). Grasps may be placed only there."""
        h, w = frame_shape
        o = np.arange(self.out, dtype=np.float64)
        ys = (o + 0.5) / self.scale - 0.5 + self.top
        xs = (o + 0.5) / self.scale - 0.5 + self.left
        rows_in, cols_in = (ys >= -0.5) & (ys < h - 0.5), (xs >= -0.5) & (xs < w - 0.5)
        inside = rows_in[:, None] & cols_in[None, :]
        if mask is not None:
            r = np.clip(np.rint(ys), 0, h - 1).astype(np.int64)
            c = np.clip(np.rint(xs), 0, w - 1).astype(np.int64)
            inside &= np.asarray(mask, dtype=bool)[r[:, None], c[None, :]]
        return inside

    # --- images -------------------------------------------------------------------------------
    def sample(self, image: np.ndarray, order: int = 1, antialias: bool = True) -> np.ndarray:
        """Resample ``image`` (H×W or H×W×C) into the out×out window (edges repeat)."""
        t, left = int(round(self.top)), int(round(self.left))
        if (self.side == self.out and t == self.top and left == self.left and t >= 0 and left >= 0
                and t + self.out <= image.shape[0] and left + self.out <= image.shape[1]):
            return np.array(image[t:t + self.out, left:left + self.out], dtype=np.float64)   # exact crop: no resampling
        if self.scale < 1.0 and order > 0 and antialias:
            # shrinking: low-pass first so noise and edges do not alias (skimage.transform.resize's
            # anti-aliasing σ); only the window's part of the image is filtered
            sigma = (1.0 / self.scale - 1.0) / 2.0
            pad = int(4 * sigma + 2)
            r0, c0 = max(int(np.floor(self.top)) - pad, 0), max(int(np.floor(self.left)) - pad, 0)
            r1 = min(int(np.ceil(self.top + self.side)) + pad, image.shape[0])
            c1 = min(int(np.ceil(self.left + self.side)) + pad, image.shape[1])
            part = np.asarray(image[r0:r1, c0:c1], dtype=np.float64)
            part = ndi.gaussian_filter(part, (sigma, sigma) + (0,) * (part.ndim - 2), mode="nearest")
            return Window(self.top - r0, self.left - c0, self.side, self.out).sample(part, order, antialias=False)
        o = (np.arange(self.out) + 0.5) / self.scale - 0.5
        rows, cols = np.meshgrid(self.top + o, self.left + o, indexing="ij")
        if image.ndim == 2:
            return ndi.map_coordinates(image, [rows, cols], order=order, mode="nearest")
        return np.stack([ndi.map_coordinates(image[..., k], [rows, cols], order=order, mode="nearest")
                         for k in range(image.shape[2])], axis=-1)
