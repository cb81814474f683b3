"""Robust grasp quality: Ferrari–Canny ε and force closure under pose and friction uncertainty.

Monte-Carlo estimate (Dex-Net 2.0): perturb the object pose (about its centre of mass), the
gripper position and the friction coefficient; close the jaws again on the mesh; compute ε.
The robust quality is the mean ε over samples, the probability of force closure the fraction
of samples with ε > 0. All samples of all grasps are batched through the ray caster.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import trimesh
from scipy.spatial.transform import Rotation

from ..geometry import GraspSet
from ..presets import published
from .contacts import close_jaws
from .ferrari_canny import ferrari_canny, ferrari_canny_reference
from .wrenches import contact_wrenches


_DEXNET2 = published("synth", "quality")      # the published values (grasplab/presets/dexnet2.json)

@dataclass(frozen=True)
class QualityConfig:
    """Defaults are Dex-Net 2.0's robust metric parameters (DESIGN B4)."""

    friction_coef: float = _DEXNET2["friction_coef"]
    num_cone_edges: int = _DEXNET2["num_cone_edges"]
    soft_fingers: bool = _DEXNET2["soft_fingers"]
    finger_radius_m: float = _DEXNET2["finger_radius_m"]
    torque_scaling: float = _DEXNET2["torque_scaling"]
    num_samples: int = _DEXNET2["num_samples"]
    grasp_trans_sigma_m: float = _DEXNET2["grasp_trans_sigma_m"]
    grasp_rot_sigma_rad: float = _DEXNET2["grasp_rot_sigma_rad"]
    obj_trans_sigma_m: float = _DEXNET2["obj_trans_sigma_m"]
    obj_rot_sigma_rad: float = _DEXNET2["obj_rot_sigma_rad"]
    friction_sigma: float = _DEXNET2["friction_sigma"]
    min_friction_coef: float = _DEXNET2["min_friction_coef"]      # the friction Gaussian is truncated below this
    positive_threshold: float = _DEXNET2["positive_threshold"]    # robust ε above which a grasp is labelled positive

    def __post_init__(self):
        from ..errors import ConfigError
        if isinstance(self.num_samples, bool) or int(self.num_samples) != self.num_samples or self.num_samples < 1:
            raise ConfigError(f"num_samples (--samples) {self.num_samples}: a robust label averages ≥ 1 Monte-Carlo "
                              f"samples (Dex-Net 2.0: 25)")
        if not (np.isfinite(self.positive_threshold) and self.positive_threshold >= 0):
            raise ConfigError(f"positive_threshold (--threshold) {self.positive_threshold}: robust ε is ≥ 0, so the "
                              f"threshold must be a number ≥ 0 (Dex-Net 2.0: 0.002)")
        if not (np.isfinite(self.friction_coef) and self.friction_coef > 0) or self.num_cone_edges < 3:
            raise ConfigError("the friction coefficient must be > 0 and the friction cone needs ≥ 3 edges")
        for name in ("finger_radius_m", "grasp_trans_sigma_m", "grasp_rot_sigma_rad", "obj_trans_sigma_m",
                     "obj_rot_sigma_rad", "friction_sigma", "min_friction_coef", "torque_scaling"):
            v = getattr(self, name)
            if not (np.isfinite(v) and v >= 0):
                raise ConfigError(f"quality setting {name}={v} must be a finite number ≥ 0")


@dataclass
class QualityLabels:
    ferrari_canny: np.ndarray            # nominal ε (no perturbation), (N,)
    robust_ferrari_canny: np.ndarray     # mean ε over samples, (N,)
    p_force_closure: np.ndarray          # fraction of samples in force closure, (N,)


def epsilon_at(mesh: trimesh.Trimesh, com_m: np.ndarray, centers_m: np.ndarray, axes: np.ndarray,
               friction: np.ndarray, open_width_m: float, config: QualityConfig,
               reference: bool = False) -> np.ndarray:
    """ε for grasps given by centre and axis: jaws closed on the mesh, then the wrench hull.

    ``reference=True`` is the slow, obviously-correct path: no friction-cone shortcut and
    brute-force facet enumeration instead of qhull (for tests and benchmarks).
    """
    contacts, normals, valid, tangents = close_jaws(mesh, centers_m, axes, open_width_m, return_tangents=True)
    eps = np.zeros(len(centers_m))
    # A necessary condition in this model: torsional wrenches carry no force, so the contact
    # forces alone must positively span R³, which needs the two friction cones (around −n₁ and
    # around +n₂) to overlap: angle(−n₁, n₂) < 2·atan(μ) (the m-edge pyramids lie inside the
    # circular cones). Samples failing it have ε = 0 without a hull. (The classic "contact line
    # inside both cones" test is not exact here: torsion is not tied to the normal force.)
    if not reference:
        cos_sum = np.cos(np.minimum(2 * np.arctan(friction), np.pi))
        valid &= np.einsum("ij,ij->i", -normals[:, 0], normals[:, 1]) > cos_sum
    if not valid.any():
        return eps
    closing = np.stack([axes, -axes], axis=1)[valid]
    W = contact_wrenches(contacts[valid], normals[valid], closing, com_m, friction[valid],
                         config.num_cone_edges, config.soft_fingers, config.finger_radius_m, config.torque_scaling,
                         tangents=tangents[valid])
    fn = ferrari_canny_reference if reference else ferrari_canny
    eps[valid] = [fn(w) for w in W]
    return eps


def robust_quality(mesh: trimesh.Trimesh, com_m: np.ndarray, grasps: GraspSet, open_width_m: float,
                   config: QualityConfig, rng: np.random.Generator, reference: bool = False) -> QualityLabels:
    """Nominal and robust ε and the probability of force closure for each grasp (object frame)."""
    n, s = len(grasps), config.num_samples
    if n == 0:
        z = np.zeros(0)
        return QualityLabels(z, z.copy(), z.copy())
    com = np.asarray(com_m, dtype=np.float64)
    nominal = epsilon_at(mesh, com, grasps.centers_m, grasps.axes, np.full(n, config.friction_coef),
                         open_width_m, config, reference)
    # perturbations, drawn in one fixed order so results depend only on the generator
    rot_obj = Rotation.from_rotvec(rng.normal(0.0, config.obj_rot_sigma_rad, (n * s, 3)))
    t_obj = rng.normal(0.0, config.obj_trans_sigma_m, (n * s, 3))
    t_grasp = rng.normal(0.0, config.grasp_trans_sigma_m, (n * s, 3))
    rot_grasp = Rotation.from_rotvec(rng.normal(0.0, config.grasp_rot_sigma_rad, (n * s, 3)))
    mu = np.maximum(rng.normal(config.friction_coef, config.friction_sigma, n * s), config.min_friction_coef)
    c = np.repeat(grasps.centers_m, s, axis=0)
    a = rot_grasp.apply(np.repeat(grasps.axes, s, axis=0))
    # the object moved by (R, t) about its centre of mass ⇔ the grasp moved by the inverse
    c_rel = rot_obj.inv().apply(c + t_grasp - com - t_obj) + com
    a_rel = rot_obj.inv().apply(a)
    eps = epsilon_at(mesh, com, c_rel, a_rel, mu, open_width_m, config, reference).reshape(n, s)
    return QualityLabels(nominal, eps.mean(axis=1), (eps > 0).mean(axis=1))
