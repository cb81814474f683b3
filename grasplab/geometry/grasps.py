"""The grasp types shared by every stage, and the conversions between them.

* :class:`Grasp2D` — a planar (top-down) grasp in an image: centre, angle, opening width
  and jaw size in pixels, and the gripper depth along the optical axis in metres.
* :class:`Grasp3D` — a parallel-jaw grasp in 3-D: centre, unit jaw axis and opening
  width in metres, expressed in a named frame.

Angles follow GG-CNN / GR-ConvNet: θ = atan2(−Δy, Δx) of the opening direction in image
coordinates (y down), wrapped to [−π/2, π/2) since a parallel-jaw grasp is symmetric
under θ → θ + π.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .intrinsics import CameraIntrinsics
from .transforms import RigidTransform


def wrap_angle_rad(angle_rad):
    """Wrap grasp angles to [−π/2, π/2) (grasps are symmetric under a half turn)."""
    return (np.asarray(angle_rad, dtype=np.float64) + np.pi / 2) % np.pi - np.pi / 2


def angle_difference_rad(a_rad, b_rad):
    """Smallest absolute difference between two grasp angles, modulo π (in [0, π/2])."""
    d = np.abs(wrap_angle_rad(np.asarray(a_rad) - np.asarray(b_rad)))
    return d


def angle_from_double_rad(cos2, sin2):
    """The grasp angle encoded as (cos 2θ, sin 2θ) (GG-CNN's angle maps: a grasp is the same grasp
    turned by π): ½·atan2(sin 2θ, cos 2θ), in [−π/2, π/2]."""
    return 0.5 * np.arctan2(sin2, cos2)


def segment_angle_rad(p0_xy_px, p1_xy_px):
    """The grasp angle of the opening p0 → p1 in image coordinates (y down): atan2(−Δy, Δx),
    wrapped to [−π/2, π/2). Points (..., 2); the one place this convention is written."""
    d = np.asarray(p1_xy_px, dtype=np.float64) - np.asarray(p0_xy_px, dtype=np.float64)
    return wrap_angle_rad(np.arctan2(-d[..., 1], d[..., 0]))


@dataclass(frozen=True)
class Grasp2D:
    center_xy_px: tuple[float, float]
    angle_rad: float
    width_px: float
    jaw_px: float = 0.0
    depth_m: float = float("nan")

    def __post_init__(self):
        object.__setattr__(self, "center_xy_px", (float(self.center_xy_px[0]), float(self.center_xy_px[1])))
        object.__setattr__(self, "angle_rad", float(wrap_angle_rad(self.angle_rad)))
        if not self.width_px >= 0:
            raise ValueError(f"grasp width must be non-negative, got {self.width_px} px")

    @classmethod
    def from_endpoints(cls, p0_xy_px, p1_xy_px, jaw_px: float = 0.0, depth_m: float = float("nan")) -> "Grasp2D":
        """The grasp whose jaws touch at the two image points."""
        p, q = np.asarray(p0_xy_px, dtype=np.float64), np.asarray(p1_xy_px, dtype=np.float64)
        return cls(tuple((p + q) / 2), float(segment_angle_rad(p, q)), float(np.hypot(*(q - p))), jaw_px, depth_m)

    @property
    def axis_xy(self) -> np.ndarray:
        """Unit opening direction in image coordinates (x right, y down)."""
        return np.array([np.cos(self.angle_rad), -np.sin(self.angle_rad)])

    @property
    def endpoints_xy_px(self) -> np.ndarray:
        """The two jaw contact points (2, 2) at ± width/2 along the axis."""
        c = np.array(self.center_xy_px)
        h = 0.5 * self.width_px * self.axis_xy
        return np.stack([c - h, c + h])

    def corners_xy_px(self, jaw_px: float | None = None) -> np.ndarray:
        """Rectangle corners (4, 2) p0..p3: p0→p1 along the opening, p1→p2 across the jaw."""
        jaw = self.jaw_px if jaw_px is None else jaw_px
        c = np.array(self.center_xy_px)
        a = self.axis_xy * self.width_px / 2
        n = np.array([-self.axis_xy[1], self.axis_xy[0]]) * jaw / 2
        return np.stack([c - a - n, c + a - n, c + a + n, c - a + n])

    def to_3d(self, intrinsics: CameraIntrinsics, depth_m: float | None = None) -> "Grasp3D":
        """Back-project into the camera frame at ``depth_m`` (default: the grasp's own depth)."""
        z = self.depth_m if depth_m is None else depth_m
        if not np.isfinite(z) or z <= 0:
            raise ValueError("a 2-D grasp needs a positive depth_m to be lifted to 3-D")
        ends = intrinsics.deproject_pixels(self.endpoints_xy_px, np.array([z, z]))
        center = ends.mean(axis=0)
        axis = ends[1] - ends[0]
        width = float(np.linalg.norm(axis))
        axis = axis / width if width > 0 else np.array([np.cos(self.angle_rad), -np.sin(self.angle_rad), 0.0])
        return Grasp3D(center, axis, width, frame=intrinsics.frame)


@dataclass(frozen=True)
class Grasp3D:
    center_m: np.ndarray
    axis: np.ndarray
    width_m: float
    frame: str = "world"

    def __post_init__(self):
        c = np.asarray(self.center_m, dtype=np.float64).reshape(3)
        a = np.asarray(self.axis, dtype=np.float64).reshape(3)
        n = np.linalg.norm(a)
        if n < 1e-12:
            raise ValueError("grasp axis must be non-zero")
        object.__setattr__(self, "center_m", c)
        object.__setattr__(self, "axis", a / n)
        object.__setattr__(self, "width_m", float(self.width_m))

    @property
    def endpoints_m(self) -> np.ndarray:
        h = 0.5 * self.width_m * self.axis
        return np.stack([self.center_m - h, self.center_m + h])

    def transformed(self, T: RigidTransform) -> "Grasp3D":
        if T.from_frame != self.frame:
            raise ValueError(f"transform from {T.from_frame} cannot apply to a grasp in frame {self.frame}")
        return Grasp3D(T.apply(self.center_m), T.apply_direction(self.axis), self.width_m, T.to_frame)

    def to_2d(self, intrinsics: CameraIntrinsics, T_camera_frame: RigidTransform | None = None,
              jaw_px: float = 0.0) -> Grasp2D:
        """Project into an image: centre and both jaw endpoints through the pinhole model.

        ``T_camera_frame`` maps the grasp's frame into the camera frame (omit it when the grasp
        is already in camera coordinates). Depth is the centre's planar depth.
        """
        g = self if T_camera_frame is None else self.transformed(T_camera_frame)
        ends_px = intrinsics.project(g.endpoints_m)
        center_px = intrinsics.project(g.center_m)
        d = ends_px[1] - ends_px[0]
        return Grasp2D(tuple(center_px), float(segment_angle_rad(ends_px[0], ends_px[1])), float(np.linalg.norm(d)),
                       jaw_px, float(g.center_m[2]))

    def hand_pose(self, approach) -> RigidTransform:
        """The hand's pose for a straight approach along ``approach`` exactly (top-down: world −z):
        origin at the centre, z the approach, x the jaw axis made perpendicular to it, so a slightly
        tilted planned axis does not tilt the hand (``pose`` keeps the axis and bends the approach)."""
        z = np.asarray(approach, dtype=np.float64)
        z = z / np.linalg.norm(z)
        x = self.axis - np.dot(self.axis, z) * z
        if np.linalg.norm(x) < 1e-6:
            raise ValueError("the grasp axis is parallel to the approach: not a top-down grasp")
        return Grasp3D(self.center_m, x, self.width_m, self.frame).pose(approach=z)

    def pose(self, approach=(0.0, 0.0, 1.0)) -> RigidTransform:
        """The gripper's 6-DoF pose ``T_<frame>_gripper``: origin at the grasp centre, x along the
        jaw axis, z the approach direction (default: the camera's optical axis, a top-down grasp
        seen by that camera) made perpendicular to the axis, y = z × x."""
        z = np.asarray(approach, dtype=np.float64) - np.dot(approach, self.axis) * self.axis
        n = np.linalg.norm(z)
        if n < 1e-9:
            raise ValueError("the approach direction is parallel to the jaw axis")
        z /= n
        return RigidTransform(np.stack([self.axis, np.cross(z, self.axis), z], axis=1), self.center_m,
                              "gripper", self.frame)
