"""A reference policy that learns nothing: antipodal grasps from the depth image in random order.

The floor of any comparison table: Dex-Net 2.0's image sampler (``antipodal_depth``) on the
object mask, or without one on what stands above the fitted table, and a random ranking.
"""
from __future__ import annotations

from dataclasses import asdict

import numpy as np

from ..imaging import Frame, across_walls, objects_above_table
from .antipodal_depth import AntipodalDepthConfig, sample_antipodal_grasps
from .base import Candidates, GraspPolicy, gripper_width_m
from .registry import register_policy


@register_policy("random-antipodal", "reference: antipodal grasps from the depth image, in random order",
                 "no model; needs intrinsics")
class RandomAntipodalPolicy(GraspPolicy):
    name = "random-antipodal"
    requires_intrinsics = True
    plans_depth = True                 # the sampler's gripper depth below the surface
    score_meaning = "a uniform random number (the order is random: a floor for comparisons)"

    def __init__(self, gripper: str | None = "robotiq_2f85", max_width_m: float | None = None,
                 num_candidates: int = 100, object_min_height_m: float = 0.01, sampler: dict | None = None,
                 exclude_walls: bool = True):
        self._gripper = None if max_width_m is not None else gripper
        self.gripper_max_width_m = float(gripper_width_m(self._gripper, max_width_m))
        self.num_candidates = int(num_candidates)
        self.object_min_height_m = float(object_min_height_m)
        self.sampler = AntipodalDepthConfig(**(sampler or {}))
        self.exclude_walls = bool(exclude_walls)

    def _candidates(self, frame: Frame, max_grasps: int, rng: np.random.Generator) -> Candidates:
        mask = frame.mask
        walls = None
        if mask is None and self.object_min_height_m > 0:
            mask, walls = objects_above_table(frame.depth_m, self.object_min_height_m, None, frame.intrinsics,
                                              self.exclude_walls)
        grasps = sample_antipodal_grasps(frame.depth_m, frame.intrinsics, self.gripper_max_width_m,
                                         max(self.num_candidates, max_grasps), rng, self.sampler, mask)
        grasps = [g for g, a in zip(grasps, across_walls(grasps, walls)) if not a]
        return Candidates(grasps, rng.random(len(grasps)))

    def spec(self) -> dict:
        return {"policy": self.name, "options": {
            **({"gripper": self._gripper} if self._gripper else {"max_width_m": self.gripper_max_width_m}),
            "num_candidates": self.num_candidates, "object_min_height_m": self.object_min_height_m,
            "sampler": asdict(self.sampler), "exclude_walls": self.exclude_walls}}
