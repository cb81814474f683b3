"""Rigid transforms between named frames.

``T_a_b`` maps points expressed in frame ``b`` into frame ``a``: ``p_a = T_a_b.apply(p_b)``.
Cameras use the OpenCV convention throughout grasplab: x right, y down, z along the
optical axis (into the scene).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.spatial.transform import Rotation


@dataclass(frozen=True)
class RigidTransform:
    rotation: np.ndarray = field(default_factory=lambda: np.eye(3))
    translation_m: np.ndarray = field(default_factory=lambda: np.zeros(3))
    from_frame: str = "obj"
    to_frame: str = "world"

    def __post_init__(self):
        r = np.asarray(self.rotation, dtype=np.float64).reshape(3, 3)
        t = np.asarray(self.translation_m, dtype=np.float64).reshape(3)
        if not np.allclose(r.T @ r, np.eye(3), atol=1e-6) or np.linalg.det(r) < 0:
            raise ValueError("rotation must be a proper orthonormal 3×3 matrix (det = +1)")
        object.__setattr__(self, "rotation", r)
        object.__setattr__(self, "translation_m", t)

    # --- construction -------------------------------------------------------------------
    @classmethod
    def from_matrix(cls, matrix: np.ndarray, from_frame: str = "obj", to_frame: str = "world") -> "RigidTransform":
        m = np.asarray(matrix, dtype=np.float64)
        if m.shape != (4, 4):
            raise ValueError(f"expected a 4×4 homogeneous matrix, got shape {m.shape}")
        return cls(m[:3, :3], m[:3, 3], from_frame, to_frame)

    @classmethod
    def from_quaternion_wxyz(cls, quat_wxyz, translation_m, from_frame="obj", to_frame="world") -> "RigidTransform":
        q = np.asarray(quat_wxyz, dtype=np.float64)
        rot = Rotation.from_quat(q, scalar_first=True).as_matrix()
        return cls(rot, translation_m, from_frame, to_frame)

    @classmethod
    def rotation_z(cls, angle_rad: float, translation_m=(0.0, 0.0, 0.0), from_frame="obj", to_frame="world"):
        c, s = np.cos(angle_rad), np.sin(angle_rad)
        return cls(np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]]), translation_m, from_frame, to_frame)

    @classmethod
    def look_at(cls, eye_m, target_m, up_hint=(0.0, 1.0, 0.0), roll_rad: float = 0.0,
                from_frame: str = "camera", to_frame: str = "world") -> "RigidTransform":
        """An OpenCV camera pose at ``eye_m`` whose optical axis (+z) points at ``target_m``.

        ``up_hint`` fixes the image's "up" before ``roll_rad`` rotates about the optical axis.
        """
        eye = np.asarray(eye_m, dtype=np.float64)
        z = np.asarray(target_m, dtype=np.float64) - eye
        norm = np.linalg.norm(z)
        if norm < 1e-12:
            raise ValueError("camera eye and target coincide")
        z /= norm
        up = np.asarray(up_hint, dtype=np.float64)
        if abs(np.dot(up, z)) > 0.999:
            up = np.array([1.0, 0.0, 0.0]) if abs(z[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
        # image y points "down", i.e. away from the up hint
        x = np.cross(-up, z)
        x /= np.linalg.norm(x)
        y = np.cross(z, x)
        rot = np.stack([x, y, z], axis=1)
        if roll_rad:
            c, s = np.cos(roll_rad), np.sin(roll_rad)
            rot = rot @ np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
        return cls(rot, eye, from_frame, to_frame)

    # --- algebra --------------------------------------------------------------------------
    @property
    def matrix(self) -> np.ndarray:
        m = np.eye(4)
        m[:3, :3] = self.rotation
        m[:3, 3] = self.translation_m
        return m

    @property
    def quaternion_wxyz(self) -> np.ndarray:
        return Rotation.from_matrix(self.rotation).as_quat(scalar_first=True)

    def inverse(self) -> "RigidTransform":
        rt = self.rotation.T
        return RigidTransform(rt, -rt @ self.translation_m, self.to_frame, self.from_frame)

    def __matmul__(self, other: "RigidTransform") -> "RigidTransform":
        if other.to_frame != self.from_frame:
            raise ValueError(f"cannot compose T_{self.to_frame}_{self.from_frame} with "
                             f"T_{other.to_frame}_{other.from_frame}: frames do not chain")
        return RigidTransform(self.rotation @ other.rotation,
                              self.rotation @ other.translation_m + self.translation_m,
                              other.from_frame, self.to_frame)

    def apply(self, points: np.ndarray) -> np.ndarray:
        """Transform points (..., 3) from ``from_frame`` into ``to_frame``."""
        p = np.asarray(points, dtype=np.float64)
        return p @ self.rotation.T + self.translation_m

    def apply_direction(self, vectors: np.ndarray) -> np.ndarray:
        """Rotate direction vectors (..., 3); translation does not apply."""
        return np.asarray(vectors, dtype=np.float64) @ self.rotation.T

    def to_dict(self) -> dict:
        return {"from_frame": self.from_frame, "to_frame": self.to_frame,
                "rotation": self.rotation.tolist(), "translation_m": self.translation_m.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> "RigidTransform":
        return cls(np.array(d["rotation"]), np.array(d["translation_m"]), d["from_frame"], d["to_frame"])
