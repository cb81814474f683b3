"""The contract every grasp planner meets: a ``Frame`` in, ranked ``PlannedGrasp``\\ s out.

``GraspPolicy.plan(frame, max_grasps=..., seed=...)`` checks the request, asks the policy for
scored candidates (``_candidates``), and keeps, best first, only grasps whose centre lies in
the frame and, when the frame has an object mask, on the mask, and (with the gripper's opening
and intrinsics) that fit the gripper; it lifts them to 3-D with the frame's intrinsics and camera
pose. Every policy — GG-CNN family, crop re-ranker, GQ-CNN ranking and cross-entropy, latent
models, the references — goes through this one gate, so none can return a grasp off the frame
or off the mask, and every score means the same range.

Scores lie in [0, 1], higher is better; what they estimate depends on the policy
(``score_meaning``): a GG-CNN quality map regresses "a labelled grasp is centred here" and can
overshoot 1 (clipped; the ranking uses the raw value), a GQ-CNN gives the probability of
success. Scores rank grasps within a frame; they are not calibrated across policies.
"""
from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from ..errors import ConfigError, GrasplabError, NoGraspFoundError
from ..geometry import Grasp2D, Grasp3D, GraspRectangle
from ..imaging import Frame
from ..threads import blas_single_threaded


@dataclass(frozen=True)
class PlannedGrasp:
    """One planned grasp. ``grasp`` is in the frame's pixels; its ``depth_m`` is where the
    gripper's jaws close along the optical axis (GQ-CNN policies plan it; map policies take the
    surface at the centre). ``pose``: the grasp in the camera frame (needs intrinsics);
    ``pose_world``: in the world (needs the camera pose too)."""

    grasp: Grasp2D
    score: float                                  # ∈ [0, 1], higher is better (see GraspPolicy.score_meaning)
    pose: Grasp3D | None = None
    pose_world: Grasp3D | None = None
    on_hole: bool = False                         # the centre lies on a pixel the sensor missed (inpainted)

    @property
    def width_m(self) -> float | None:
        return None if self.pose is None else self.pose.width_m

    @property
    def center_m(self) -> np.ndarray | None:
        return None if self.pose is None else self.pose.center_m

    @property
    def axis(self) -> np.ndarray | None:
        return None if self.pose is None else self.pose.axis

    def rectangle(self, jaw_fraction: float = 0.5) -> GraspRectangle:
        """The grasp's rectangle in frame pixels (jaw size: its own, else ``jaw_fraction`` × opening)."""
        g = self.grasp
        return GraspRectangle.from_grasp2d(g, g.jaw_px if g.jaw_px > 0 else jaw_fraction * g.width_px)

    def to_dict(self) -> dict:
        g = self.grasp
        d = {"center_xy_px": [round(float(v), 2) for v in g.center_xy_px], "angle_rad": float(g.angle_rad),
             "width_px": float(g.width_px), "jaw_px": float(g.jaw_px), "depth_m": float(g.depth_m),
             "score": float(self.score), "on_hole": bool(self.on_hole),
             "rectangle_xy_px": self.rectangle().corners_xy_px.round(2).tolist()}
        if self.pose is not None:
            d.update(center_m=self.pose.center_m.round(5).tolist(), width_m=float(self.pose.width_m),
                     axis=self.pose.axis.round(5).tolist(), T_camera_gripper=self.pose.pose().matrix.round(6).tolist())
        if self.pose_world is not None:
            d.update(center_world_m=self.pose_world.center_m.round(5).tolist(),
                     axis_world=self.pose_world.axis.round(5).tolist())
        return d


@dataclass
class Candidates:
    """What a policy proposes for a frame: grasps in frame pixels with raw ranking scores
    (any real numbers, higher is better), or none and why."""

    grasps: list[Grasp2D]
    scores: np.ndarray
    reason: str = ""                               # why there are none (for NoGraspFoundError)
    stats: dict = field(default_factory=dict)      # timings and counts of this plan


class GraspPolicy(abc.ABC):
    """A grasp planner behind one interface. Subclasses implement ``_candidates`` and ``spec``."""

    name: ClassVar[str] = ""                       # the registry name (``load_policy``)
    score_meaning: ClassVar[str] = ""              # what ``PlannedGrasp.score`` estimates
    requires_intrinsics: ClassVar[bool] = False    # metric planning: the frame must carry intrinsics
    plans_depth: ClassVar[bool] = False            # the grasp's depth_m is where the jaws close (else the surface)
    checks_clearance: ClassVar[bool] = False       # its grasps' hands clear the seen surfaces (--clearance)
    max_width_m: float | None = None               # drop grasps wider than the gripper opens (needs intrinsics)
    needs_rgb: bool = False                        # the policy reads the frame's RGB image

    def plan(self, frame: Frame, *, max_grasps: int = 5, seed: int = 0) -> list[PlannedGrasp]:
        """Up to ``max_grasps`` grasps, best first, each in the frame and on its mask. The same
        frame and seed give the same grasps. Raises ``NoGraspFoundError`` (with the reason)
        when the policy finds none."""
        if not isinstance(frame, Frame):
            raise GrasplabError(f"plan() takes a grasplab Frame, got {type(frame).__name__}; build one with "
                                f"Frame.from_images(depth, rgb=..., mask=..., intrinsics=...)")
        if isinstance(max_grasps, bool) or not isinstance(max_grasps, (int, np.integer)) or max_grasps < 1:
            raise ConfigError(f"max_grasps must be a whole number ≥ 1, got {max_grasps!r}")
        if self.requires_intrinsics and frame.intrinsics is None:
            raise GrasplabError(f"the {self.name} policy plans in metres and needs the camera intrinsics; pass them "
                                f"with the frame (--intrinsics FILE.intr)")
        if self.max_width_m is not None and frame.intrinsics is None:
            raise GrasplabError("a maximum grasp width in metres (the gripper's opening) needs the camera intrinsics; "
                                "pass them too, or no gripper")
        if self.needs_rgb and frame.rgb is None:
            raise GrasplabError(f"the {self.name} policy reads colour: pass an RGB image with the frame")
        with blas_single_threaded():            # numpy's BLAS threads would spin beside PyTorch's
            cands = self._candidates(frame, int(max_grasps), np.random.default_rng(seed))
        self.last_stats = dict(cands.stats)
        return self._planned(frame, cands, int(max_grasps))

    @abc.abstractmethod
    def _candidates(self, frame: Frame, max_grasps: int, rng: np.random.Generator) -> Candidates:
        """Scored grasps in frame pixels (at least ``max_grasps`` where there are that many, so
        that enough remain after the gate)."""

    @abc.abstractmethod
    def spec(self) -> dict:
        """``{"policy": name, "options": {...}}``, JSON: what ``load_policy`` needs to rebuild it."""

    def _planned(self, frame: Frame, cands: Candidates, max_grasps: int) -> list[PlannedGrasp]:
        """The gate: in the frame, on the mask, within the gripper's opening; best first."""
        scores = np.asarray(cands.scores, dtype=np.float64)
        if len(cands.grasps) != len(scores):
            raise RuntimeError(f"{self.name}: {len(cands.grasps)} grasps but {len(scores)} scores")
        dropped = {"outside the frame": 0, "off the mask": 0, "wider than the gripper": 0, "not finite": 0}
        out: list[PlannedGrasp] = []
        for k in np.argsort(-scores, kind="stable"):
            g = cands.grasps[k]
            why = off_gate(frame, g, scores[k])
            if why is not None:
                dropped[why] += 1
                continue
            col, row = (int(np.rint(v)) for v in g.center_xy_px)
            depth = g.depth_m if np.isfinite(g.depth_m) and g.depth_m > 0 else float(frame.depth_m[row, col])
            g = Grasp2D(g.center_xy_px, g.angle_rad, g.width_px, g.jaw_px, depth)
            pose = world = None
            if frame.intrinsics is not None:
                pose = g.to_3d(frame.intrinsics)
                if self.max_width_m is not None and pose.width_m > self.max_width_m:
                    dropped["wider than the gripper"] += 1
                    continue
                if frame.T_world_camera is not None:
                    world = pose.transformed(frame.T_world_camera)
            on_hole = bool(frame.holes[row, col]) if frame.holes is not None else False
            out.append(PlannedGrasp(g, float(np.clip(scores[k], 0.0, 1.0)), pose, world, on_hole))
            if len(out) == max_grasps:
                break
        if not out:
            why = cands.reason or ", ".join(f"{n} {kind}" for kind, n in dropped.items() if n) \
                or "the policy proposed nothing"
            if cands.grasps and not cands.reason:
                why = f"all {len(cands.grasps)} candidates were dropped ({why})"
            raise NoGraspFoundError(f"{frame.name + ': ' if frame.name else ''}no grasp found by {self.name}: {why}")
        return out

    def describe(self) -> dict:
        """What to record beside results: the spec and the meaning of the scores."""
        return {**self.spec(), "score_meaning": self.score_meaning}


def off_gate(frame: Frame, grasp: Grasp2D, score: float = 0.0) -> str | None:
    """Why the gate drops ``grasp`` before lifting it to 3-D (not finite, outside the frame, off the
    mask), or None where it passes. Wrappers that rank their own candidates ask it first, so that
    what they record of their best grasp is of one the gate returns."""
    h, w = frame.shape
    x, y = grasp.center_xy_px
    if not (np.isfinite(score) and np.isfinite(x) and np.isfinite(y) and np.isfinite(grasp.width_px)):
        return "not finite"
    if not (-0.5 <= x < w - 0.5 and -0.5 <= y < h - 0.5):
        return "outside the frame"
    if frame.mask is not None and not frame.mask[int(np.rint(y)), int(np.rint(x))]:
        return "off the mask"
    return None


def gripper_width_m(gripper: str | None, max_width_m: float | None) -> float | None:
    """The widest grasp a policy may return: a gripper preset's or file's opening, or a number."""
    if gripper is not None and max_width_m is not None:
        raise ConfigError("give the gripper or a maximum width in metres, not both")
    if gripper is not None:
        from ..grasps import load_gripper
        return load_gripper(gripper).max_width_m
    if max_width_m is not None and not max_width_m > 0:
        raise ConfigError(f"the maximum grasp width must be a positive number of metres, got {max_width_m}")
    return max_width_m
