"""Failure memory: after a pick fails, look elsewhere first.

A robot knows when a pick failed (the gripper closed on nothing, or the object fell). A stateless
planner sees the next frame afresh and, the scene barely changed, proposes the same grasp on the
same object: in the simulated clutter trials most heaps that ended on two failures in a row ended
on two slips from one object too wide to hold, with graspable objects left beside it.
``FailureMemoryPolicy`` wraps any policy: told of each executed grasp (``observe``), it keeps the
places of the failures since the scene began (``reset``), and plans by taking the wrapped policy's
best grasps (``candidates`` of them) that lie farther than ``radius_m`` from every failure — in the
world frame where the camera pose is known, else in the camera frame, else in pixels. Where every
grasp lies near a failure, it plans as the wrapped policy does: it never finds fewer grasps.
"""
from __future__ import annotations

import numpy as np

from ..errors import ConfigError, NoGraspFoundError
from ..imaging import Frame
from .base import Candidates, GraspPolicy, PlannedGrasp
from .registry import register_policy


def _place(grasp: PlannedGrasp) -> tuple[str, np.ndarray]:
    """Where a grasp is, in the most lasting frame it has: world, camera, or pixels."""
    if grasp.pose_world is not None:
        return "world", np.asarray(grasp.pose_world.center_m, dtype=np.float64)
    if grasp.pose is not None:
        return "camera", np.asarray(grasp.pose.center_m, dtype=np.float64)
    return "px", np.asarray(grasp.grasp.center_xy_px, dtype=np.float64)


class FailureMemoryPolicy(GraspPolicy):
    """A policy's grasps, those away from this scene's failed picks first."""

    name = "avoid-failures"

    def __init__(self, policy: GraspPolicy, radius_m: float = 0.04, radius_px: float = 40.0, candidates: int = 20):
        if not (0 < radius_m <= 0.5 and radius_px > 0 and candidates >= 1):
            raise ConfigError(f"avoid-failures: radius_m must be in (0, 0.5] metres, radius_px > 0 and candidates "
                              f"≥ 1; got {radius_m}, {radius_px}, {candidates}")
        self.inner = policy
        self.radius_m, self.radius_px, self.candidates = float(radius_m), float(radius_px), int(candidates)
        self.failures: list[tuple[str, np.ndarray]] = []
        self._seed = 0
        self.plans_depth = policy.plans_depth
        self.requires_intrinsics = policy.requires_intrinsics
        self.checks_clearance = policy.checks_clearance
        self.needs_rgb = policy.needs_rgb
        self.score_meaning = policy.score_meaning

    def reset(self) -> None:
        self.failures = []
        self.inner.reset()

    def observe(self, grasp: PlannedGrasp, lifted: bool) -> None:
        if not lifted:
            self.failures.append(_place(grasp))
        self.inner.observe(grasp, lifted)

    def _near_a_failure(self, grasp: PlannedGrasp) -> bool:
        kind, p = _place(grasp)
        r = self.radius_px if kind == "px" else self.radius_m
        return any(k == kind and np.linalg.norm(q - p) <= r for k, q in self.failures)

    def plan(self, frame: Frame, *, max_grasps: int = 5, seed: int = 0) -> list[PlannedGrasp]:
        self._seed = seed                          # the wrapped policy plans with the same seed: where
        return super().plan(frame, max_grasps=max_grasps, seed=seed)   # nothing failed, its very grasps

    def _candidates(self, frame: Frame, max_grasps: int, rng: np.random.Generator) -> Candidates:
        try:
            planned = self.inner.plan(frame, max_grasps=max(max_grasps, self.candidates), seed=self._seed)
        except NoGraspFoundError as e:
            return Candidates([], np.zeros(0), reason=str(e).split(": ", 1)[-1])
        away = [p for p in planned if not self._near_a_failure(p)]
        stats = {**getattr(self.inner, "last_stats", {}), "near_failures": len(planned) - len(away)}
        kept = away or planned                      # everything near a failure: plan as the policy does
        return Candidates([p.grasp for p in kept], np.array([p.score for p in kept]), stats=stats)

    def spec(self) -> dict:
        return {"policy": self.name, "options": {"policy": self.inner.spec(), "radius_m": self.radius_m,
                                                 "radius_px": self.radius_px, "candidates": self.candidates}}


@register_policy("avoid-failures", "Any policy's grasps, those away from this scene's failed picks first (a robot "
                 "loop tells it each outcome: observe(grasp, lifted); reset() for a new scene)", "the wrapped policy's")
def _avoid_failures_policy(policy: str | dict = "auto", radius_m: float = 0.04, radius_px: float = 40.0,
                           candidates: int = 20) -> FailureMemoryPolicy:
    from .registry import load_policy, policy_from_spec
    inner = policy_from_spec(policy) if isinstance(policy, dict) else load_policy(policy)
    return FailureMemoryPolicy(inner, radius_m, radius_px, candidates)
