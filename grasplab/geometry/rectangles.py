"""Grasp rectangles (Cornell / Jacquard) and exact convex-polygon overlap.

A rectangle is four corners p0..p3 in image pixels (x = column, y = row): the edge p0→p1
lies along the gripper's opening direction (its length is the opening), p1→p2 is the jaw
size. Angles follow GG-CNN: θ = atan2(−(p1.y − p0.y), p1.x − p0.x), wrapped to [−π/2, π/2).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .grasps import Grasp2D, segment_angle_rad


def polygon_area(poly: np.ndarray) -> float:
    """Area of a simple polygon (N, 2) by the shoelace formula (absolute value)."""
    p = np.asarray(poly, dtype=np.float64)
    if len(p) < 3:
        return 0.0
    x, y = p[:, 0], p[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def _ccw(poly: np.ndarray) -> np.ndarray:
    p = np.asarray(poly, dtype=np.float64)
    x, y = p[:, 0], p[:, 1]
    signed = np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))
    return p if signed >= 0 else p[::-1]


def convex_intersection(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The intersection polygon of two convex polygons (Sutherland–Hodgman clipping; exact up to
    floating point)."""
    out = _ccw(a)
    clip = _ccw(b)
    for i in range(len(clip)):
        if len(out) == 0:
            break
        c0, c1 = clip[i], clip[(i + 1) % len(clip)]
        edge = c1 - c0
        side = edge[0] * (out[:, 1] - c0[1]) - edge[1] * (out[:, 0] - c0[0])   # ≥ 0: inside (left)
        new = []
        for j in range(len(out)):
            p, q = out[j], out[(j + 1) % len(out)]
            sp, sq = side[j], side[(j + 1) % len(out)]
            if sp >= 0:
                new.append(p)
            if (sp >= 0) != (sq >= 0):
                t = sp / (sp - sq)
                new.append(p + t * (q - p))
        out = np.array(new).reshape(-1, 2)
    return out


def convex_iou(a: np.ndarray, b: np.ndarray) -> float:
    inter = polygon_area(convex_intersection(a, b))
    union = polygon_area(a) + polygon_area(b) - inter
    return inter / union if union > 0 else 0.0


@dataclass(frozen=True)
class GraspRectangle:
    corners_xy_px: np.ndarray       # (4, 2)

    def __post_init__(self):
        c = np.asarray(self.corners_xy_px, dtype=np.float64).reshape(4, 2)
        object.__setattr__(self, "corners_xy_px", c)

    @property
    def center_xy_px(self) -> np.ndarray:
        return self.corners_xy_px.mean(axis=0)

    @property
    def angle_rad(self) -> float:
        return float(segment_angle_rad(self.corners_xy_px[0], self.corners_xy_px[1]))

    @property
    def opening_px(self) -> float:
        return float(np.linalg.norm(self.corners_xy_px[1] - self.corners_xy_px[0]))

    @property
    def jaw_px(self) -> float:
        return float(np.linalg.norm(self.corners_xy_px[2] - self.corners_xy_px[1]))

    def to_grasp2d(self) -> Grasp2D:
        return Grasp2D(tuple(self.center_xy_px), self.angle_rad, self.opening_px, self.jaw_px)

    @classmethod
    def from_grasp2d(cls, g: Grasp2D, jaw_px: float | None = None) -> "GraspRectangle":
        return cls(g.corners_xy_px(jaw_px))

    def iou(self, other: "GraspRectangle") -> float:
        return convex_iou(self.corners_xy_px, other.corners_xy_px)
