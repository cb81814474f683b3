"""Fallback: plan with the first of several policies that finds a grasp.

A robot does not give up on a frame because its preferred planner found nothing clear (every
candidate of the FC-GQ-CNN's grid blocked by a neighbour, say): it asks another planner that
proposes different grasps (Dex-Net 2.0's antipodal sampler). ``FallbackPolicy`` tries its policies
in order and returns the grasps of the first that finds any, so one frame's grasps always come
from one policy and their scores mean one thing. Its policies must agree on what a grasp's depth
means (``plans_depth``).

With ``until="favoured"`` (policies behind the clearance check) it also asks on where a policy's
best grasp missed the check's preferences (fingertips half-way down, steep faces: the grasps that
slip), and returns the first policy's grasps where no later one has a favoured grasp (validation
heaps: +1.5 / +3.7 points of objects cleared; BENCHMARKS.md "Asking on where the best grasp is
not favoured").
"""
from __future__ import annotations

import numpy as np

from ..errors import ConfigError, NoGraspFoundError
from ..imaging import Frame
from .base import Candidates, GraspPolicy
from .registry import register_policy


class FallbackPolicy(GraspPolicy):
    """The grasps of the first of ``policies`` that finds one (``until="favoured"``: a favoured one)."""

    name = "fallback"

    def __init__(self, policies: list[GraspPolicy], until: str = "grasp"):
        if len(policies) < 2:
            raise ConfigError("a fallback needs at least two policies")
        if until not in ("grasp", "favoured"):
            raise ConfigError(f'a fallback goes on until a policy finds a "grasp" or a "favoured" one, not {until!r}')
        if until == "favoured" and not all(p.checks_clearance for p in policies):
            raise ConfigError('until="favoured" needs policies behind --clearance (it reads their checks)')
        self.until = until
        if len({p.plans_depth for p in policies}) > 1:
            raise ConfigError("the fallback's policies disagree on what a grasp's depth is (some plan the depth "
                              "where the jaws close, others give the surface); wrap them all in --clearance, or "
                              "choose policies of one kind")
        self.policies = list(policies)
        self.plans_depth = policies[0].plans_depth
        self.checks_clearance = all(p.checks_clearance for p in policies)
        self.requires_intrinsics = any(p.requires_intrinsics for p in policies)
        self.needs_rgb = any(p.needs_rgb for p in policies)
        self.score_meaning = "the score of whichever policy planned the frame: " + \
            "; ".join(f"{p.name}: {p.score_meaning}" for p in policies)

    def _candidates(self, frame: Frame, max_grasps: int, rng: np.random.Generator) -> Candidates:
        reasons, first = [], None
        for k, policy in enumerate(self.policies):
            try:
                planned = policy.plan(frame, max_grasps=max_grasps, seed=int(rng.integers(2 ** 31)))
            except NoGraspFoundError as e:
                reasons.append(f"{policy.name}: {str(e).split(': ', 1)[-1]}")
                continue
            stats = {**getattr(policy, "last_stats", {}), "planned_by": k}
            found = Candidates([p.grasp for p in planned], np.array([p.score for p in planned]), stats=stats)
            if self.until == "grasp" or stats.get("favoured", True):
                return found
            if first is None:                      # kept where no later policy finds a favoured grasp
                first = found
        if first is not None:
            return first
        return Candidates([], np.zeros(0), reason="none of its policies found a grasp (" + "; ".join(reasons) + ")")

    def spec(self) -> dict:
        return {"policy": self.name, "options": {"policies": [p.spec() for p in self.policies], "until": self.until}}


@register_policy("fallback", "The grasps of the first of several policies that finds one (e.g. the FC-GQ-CNN, "
                 "then sample-and-rank, both behind --clearance)", "its policies'")
def _fallback_policy(policies: list | None = None, until: str = "grasp") -> FallbackPolicy:
    from .registry import load_policy, policy_from_spec
    if not policies:
        raise ConfigError('a fallback needs its policies: {"policy": "fallback", "options": {"policies": '
                          '[SPEC_OR_NAME, SPEC_OR_NAME, ...]}}')
    return FallbackPolicy([policy_from_spec(p) if isinstance(p, dict) else load_policy(p) for p in policies], until)
