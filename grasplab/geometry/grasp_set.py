"""A batch of antipodal 3-D grasps (struct of arrays, so that labelling stays vectorised)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .grasps import Grasp3D
from .transforms import RigidTransform


@dataclass
class GraspSet:
    """N parallel-jaw grasps with their contacts, in one frame.

    ``contacts_m[:, 0]`` is where jaw 1 (on the −axis side) touches, ``contacts_m[:, 1]``
    jaw 2; ``normals`` are the outward surface normals there.
    """

    centers_m: np.ndarray        # (N, 3)
    axes: np.ndarray             # (N, 3) unit closing axes
    widths_m: np.ndarray         # (N,) distance between the contacts
    contacts_m: np.ndarray       # (N, 2, 3)
    normals: np.ndarray          # (N, 2, 3) outward unit normals at the contacts
    frame: str = "obj"

    def __len__(self) -> int:
        return len(self.centers_m)

    @classmethod
    def empty(cls, frame: str = "obj") -> "GraspSet":
        return cls(np.zeros((0, 3)), np.zeros((0, 3)), np.zeros(0), np.zeros((0, 2, 3)), np.zeros((0, 2, 3)), frame)

    @classmethod
    def concatenate(cls, sets: list["GraspSet"], frame: str | None = None) -> "GraspSet":
        """One set of all grasps in ``sets`` (in one frame: ``frame`` relabels it)."""
        if not sets:
            return cls.empty(frame or "obj")
        if frame is None and len({s.frame for s in sets}) > 1:
            raise ValueError(f"grasp sets in different frames: {sorted({s.frame for s in sets})}")
        return cls(*(np.concatenate([getattr(s, k) for s in sets]) for k in
                     ("centers_m", "axes", "widths_m", "contacts_m", "normals")), frame or sets[0].frame)

    def subset(self, idx) -> "GraspSet":
        return GraspSet(self.centers_m[idx], self.axes[idx], self.widths_m[idx], self.contacts_m[idx],
                        self.normals[idx], self.frame)

    def transformed(self, T: RigidTransform) -> "GraspSet":
        if T.from_frame != self.frame:
            raise ValueError(f"transform from {T.from_frame} cannot apply to grasps in frame {self.frame}")
        return GraspSet(T.apply(self.centers_m), T.apply_direction(self.axes), self.widths_m.copy(),
                        T.apply(self.contacts_m), T.apply_direction(self.normals), T.to_frame)

    def grasp(self, i: int) -> Grasp3D:
        return Grasp3D(self.centers_m[i], self.axes[i], float(self.widths_m[i]), self.frame)

    def concat(self, other: "GraspSet") -> "GraspSet":
        if other.frame != self.frame:
            raise ValueError("cannot concatenate grasps in different frames")
        return GraspSet(*(np.concatenate([a, b]) for a, b in (
            (self.centers_m, other.centers_m), (self.axes, other.axes), (self.widths_m, other.widths_m),
            (self.contacts_m, other.contacts_m), (self.normals, other.normals))), frame=self.frame)
