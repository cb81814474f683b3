"""The default policy: the planner that lifted the most objects in the simulated trials, where the
frame allows it.

A frame with the camera intrinsics has metric scale, so it is planned by the shipped FC-GQ-CNN
behind the approach-clearance check, and, where none of its grasps is clear or its best one misses
the check's preferences (fingertips half-way down, steep faces), by sample-and-rank with the
shipped GQ-CNN behind the same check; the FC-GQ-CNN's grasps stay where sample-and-rank has no
favoured grasp either (the fallback chain; BENCHMARKS.md "The default policy, auto" and "Asking on
where the best grasp is not favoured"). Both rank their cleared grasps by estimated pick success
(``rank_by="estimate"``; BENCHMARKS.md "Ranking by estimated pick success"). A frame without
intrinsics (a Cornell image, say) can only be planned in pixels: the shipped GG-CNN2. The frame
goes to one of the two, whose candidates pass the same gate, so a frame with intrinsics gets
exactly the fallback chain's grasps for the same seed.
"""
from __future__ import annotations

import numpy as np

from ..errors import GrasplabError
from ..imaging import Frame
from .base import Candidates, GraspPolicy, gripper_width_m
from .registry import register_policy


class AutoPolicy(GraspPolicy):
    """With intrinsics: FC-GQ-CNN, else (none clear, or none favoured) sample-and-rank, both behind
    ``--clearance``; without: GG-CNN2."""

    name = "auto"
    # wherever a grasp has a 3-D pose (a frame with intrinsics) its depth is where the jaws close
    plans_depth = True
    checks_clearance = True                        # where it can: on frames with intrinsics
    score_meaning = ("with intrinsics, the estimated pick success from the GQ-CNN's score (the FC-GQ-CNN's, or "
                     "sample-and-rank's where none of the FC-GQ-CNN's grasps was clear or favoured) and the clearance "
                     "checks; without, GG-CNN2's quality map")

    def __init__(self, gripper: str | None = None):
        self.gripper_name = gripper
        gripper_width_m(gripper, None)             # a wrong gripper fails now, not on the first frame
        self._metric: GraspPolicy | None = None
        self._pixels: GraspPolicy | None = None

    @property
    def metric(self) -> GraspPolicy:
        """The policy for frames with intrinsics: the clearance-checked fallback chain, on until a
        favoured grasp."""
        if self._metric is None:
            from .clearance import with_clearance
            from .fallback import FallbackPolicy
            from .registry import load_policy
            self._metric = FallbackPolicy([with_clearance(load_policy(name), self.gripper_name, rank_by="estimate")
                                           for name in ("fc-gqcnn", "gqcnn-rank")], until="favoured")
        return self._metric

    @property
    def pixels(self) -> GraspPolicy:
        """The policy for frames without intrinsics: the shipped GG-CNN2."""
        if self._pixels is None:
            from .registry import load_policy
            self._pixels = load_policy("map")
        return self._pixels

    def _candidates(self, frame: Frame, max_grasps: int, rng: np.random.Generator) -> Candidates:
        """The branch's own candidates from the same random stream, so that ``plan`` (the one gate)
        returns what the branch's ``plan`` would for the same seed."""
        if frame.intrinsics is None and self.gripper_name is not None:
            raise GrasplabError("a maximum grasp width in metres (the gripper's opening) needs the camera "
                                "intrinsics; pass them too, or no gripper")
        # with intrinsics the clearance check keeps the jaws within the gripper's stroke
        policy = self.metric if frame.intrinsics is not None else self.pixels
        cands = policy._candidates(frame, max_grasps, rng)
        cands.stats = {**cands.stats, "planned_with": policy.name}
        return cands

    def spec(self) -> dict:
        return {"policy": self.name, "options": {"gripper": self.gripper_name} if self.gripper_name else {}}


@register_policy("auto", "The default: with intrinsics, the FC-GQ-CNN behind --clearance, else (none clear or favoured) "
                 "sample-and-rank behind it (the most objects lifted in the simulated trials); without, the GG-CNN2 "
                 "(map)",
                 "the shipped GQ-CNN; the shipped GG-CNN2 without intrinsics")
def _auto_policy(gripper: str | None = None) -> AutoPolicy:
    return AutoPolicy(gripper)
