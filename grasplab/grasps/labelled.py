"""Analytic labels of an object where it lies: antipodal candidates on the mesh in its settled
pose, collision checks of the gripper along the top-down approach, and robust Ferrari–Canny
quality — the same pipeline as dataset synthesis, applied to the simulated object. The oracle
reference policy takes the best of them; the label study executes them all."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..geometry import Grasp3D, GraspSet, RigidTransform
from ..grasps import AntipodalConfig, CollisionChecker, CollisionConfig, ParallelJawGripper, sample_antipodal_grasps
from ..objects import GraspObject
from ..quality import QualityConfig, robust_quality
from ..seeding import derive_int_seed


@dataclass
class LabelledGrasps:
    """Candidates in the world (= table) frame with their labels."""

    grasps: GraspSet
    epsilon: np.ndarray              # Ferrari–Canny ε at the nominal pose and friction
    robust_epsilon: np.ndarray
    p_force_closure: np.ndarray
    collision_free: np.ndarray

    def __len__(self) -> int:
        return len(self.grasps)

    @property
    def robust_quality(self) -> np.ndarray:
        """What a dataset labels with: robust ε where collision-free, else 0."""
        return self.robust_epsilon * self.collision_free

    def grasp(self, i: int) -> Grasp3D:
        g = self.grasps
        return Grasp3D(g.centers_m[i], g.axes[i], float(g.widths_m[i]), "world")

    def best(self, also_collides: np.ndarray | None = None) -> tuple[Grasp3D, float] | None:
        """The most robust collision-free candidate and its ε (``also_collides``: more collisions,
        e.g. with neighbours in clutter); None when every candidate collides."""
        free = self.collision_free if also_collides is None else self.collision_free & ~also_collides
        if not len(self) or not free.any():
            return None
        i = int(np.argmax(self.robust_epsilon * free))
        return self.grasp(i), float(self.robust_epsilon[i])


def label_object_in_place(obj: GraspObject, T_world_obj: RigidTransform, gripper: ParallelJawGripper,
                          rng: np.random.Generator, *, num_grasps: int = 100,
                          antipodal: AntipodalConfig = AntipodalConfig(),
                          quality: QualityConfig = QualityConfig(),
                          collision: CollisionConfig = CollisionConfig()) -> LabelledGrasps:
    """Label up to ``num_grasps`` antipodal candidates of ``obj`` resting at ``T_world_obj``."""
    mesh = obj.mesh.copy()
    mesh.apply_transform(T_world_obj.matrix)
    com = T_world_obj.apply(obj.center_of_mass_m)
    cfg = AntipodalConfig(**{**antipodal.__dict__, "max_grasps": int(num_grasps)})
    grasps = sample_antipodal_grasps(mesh, gripper, cfg, rng)
    if len(grasps) == 0:
        return LabelledGrasps(grasps, np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0, dtype=bool))
    collides = CollisionChecker(mesh, gripper, collision, seed=derive_int_seed(int(rng.integers(2 ** 31)))).collides(grasps)
    labels = robust_quality(mesh, com, grasps, gripper.max_width_m, quality, rng)
    return LabelledGrasps(grasps, np.asarray(labels.ferrari_canny, float), np.asarray(labels.robust_ferrari_canny, float),
                          np.asarray(labels.p_force_closure, float), ~collides)
