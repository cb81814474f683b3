"""Approach clearance: keep a planner's grasps whose fingers reach down past what the camera sees.

A top-down parallel-jaw grasp fails before it starts when a finger lands on a neighbour (clutter)
or on the object itself (a grasp too narrow), or when the palm comes down on the object. The
camera saw every surface the hand can meet on its way down, so the check needs no model of the
objects: the frame's points are expressed in the hand's frame (x the jaw axis, y across it, z the
approach, downwards), and for each grasp

- the *fingers'* columns (``|x|`` from the half-opening to the half-opening plus the finger's
  thickness, ``|y|`` ≤ half the finger's width) bound how deep the fingertips may go: ``clear_m``
  above the highest point seen in them;
- the *palm*'s column (the hand's full span at its widest opening, whatever the fingers' opening —
  the palm does not move with them — and the palm's width) bounds how deep the palm may go:
  ``palm_clear_m`` above the highest point seen under it.

The wrapped policy's grasps (best first) close as deep as the fingers reach (finger length − 1 cm
below the surface seen at the centre, as the simulated execution does; with ``deepest=False``,
planners that plan the depth, the GQ-CNN family, close at their own depth) — or
higher where the bounds say so (as a robot stops its fingers above the table), and a grasp is kept
when it still closes at least ``min_grip_depth_m`` below the surface seen at its centre. The result plans depth:
a robot executes the grasp where this wrapper puts it. The opening is the planned width plus the
gripper's margin on each side, as the execution opens; where that leaves a finger on something,
wider openings and centres moved a few millimetres along the jaws (``recentre_m``) are tried,
and the deepest clear one is kept.

Where the fingertips of some grasps reach half-way from the surface seen at their centre down to
the support (``reach_fraction``), the others are dropped: on a round object lying down, pads that
close above its widest level meet a surface tilted beyond the friction cone and the grip squeezes
it out during the lift (validation trials: most slips were such grasps). Among those, where the
seen surface between the jaws stays steep from the fingertips' level to 1 cm above it (it draws in
by at most ``max_draw_in`` per unit of rise, the cotangent of its slope) for some grasps, the others
are dropped too: pads that meet a sloped face (a box leaning on its neighbours, a round top) press
on a wedge that squeezes out of the grip (validation bin heaps, the chain not acting on it: picks
at ≤ 0.25 lifted 90–93 % of the time, above 0.5 35–44 %; BENCHMARKS.md "Steep faces").

With ``rank_by="estimate"`` neither preference drops anything: every cleared grasp is ranked by
its estimated pick success, a logistic model fitted on validation trials (``pick_success_estimate``)
of the planner's score, the two checks as measures (how far down the fingertips reach, how much the
faces draw in), and the room the fingertips have beside the fingers and just inside the pads'
faces. On those trials reaching half-way down mattered only on sloped faces, the hard preferences
promoted low-scored grasps over much better ones, and grasps with a neighbour's edge beside a finger
or the object just inside a pad collided or slipped more often.

Only what the camera saw is checked: surfaces hidden from it (under an overhang) are not.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError
from ..geometry import Grasp2D, Grasp3D
from ..imaging import Frame
from .base import Candidates, GraspPolicy, PlannedGrasp, off_gate
from .registry import register_policy


@dataclass(frozen=True)
class ClearanceConfig:
    candidates: int = 20              # the wrapped policy's best grasps that are checked
    min_grip_depth_m: float = 0.005   # close at least this far below the surface seen at the centre
    clear_m: float = 0.003            # fingertips stop this far above the highest point seen under them
    palm_clear_m: float = 0.005       # the palm stops this far above the highest point seen under it
    open_step_m: float = 0.01         # where the planned opening is not clear, try this much wider (0: never)
    median_px: int = 3                # depth median-filtered over this many pixels first (1: raw)
    top_quantile: float = 0.05        # a part's highest point: all but this fraction of the points under it
    # close as deep as clear (finger length − 1 cm at most) even where the policy plans a shallower
    # depth: the GQ-CNNs barely tell depths apart, and shallow grips slip (validation trials,
    # procedural:40 seed 3, FC-GQ-CNN: singulated 80.0 → 84.5 %, 5-object heaps cleared 72.0 → 81.3 %)
    deepest: bool = True
    # where the planned centre leaves a finger on the object, try the jaws up to this far to either
    # side along their axis (in ``recentre_step_m`` steps) and keep the deepest clear: centring the
    # jaws over what lies between them (0: never)
    recentre_m: float = 0.006
    recentre_step_m: float = 0.002
    # prefer grasps whose fingertips reach at least this fraction of the way from the surface seen at
    # the centre down to the lowest surface seen under the hand (the support): a round object lying
    # down is widest at mid-height, and pads that close above that level squeeze it up and out of
    # the grip. Where some grasp reaches, those that do not are dropped (0: no preference)
    reach_fraction: float = 0.5
    # prefer grasps whose pads meet steep faces: the seen surface between the jaws draws in by at most
    # this much per unit of rise from the fingertips' level to 1 cm above it (the cotangent of the
    # face's slope). Where some kept grasp passes, the others are dropped (inf: no preference; the
    # measure is still taken, and the trials record it)
    max_draw_in: float = 0.25
    # strips this wide beside the fingers' columns, across their width (not inside the pads' faces),
    # in which all but SIDE_OUTLIERS points count: a neighbour's edge along a finger's side is too
    # thin a sliver of the column to tell from noise, and the fingertip's corner lands on it. Off by
    # default: 2 mm halved the collisions on approach, but cleared validation bin heaps by −1.5 /
    # −1.5 (procedural) and +9.2 / −0.6 (random URDF shapes) points (BENCHMARKS.md "Heaps of random
    # URDF shapes…")
    side_margin_m: float = 0.0
    # how the cleared grasps are ranked: "preferences" (the reach preference, then the steep-face
    # one, each dropping the grasps that fail it where some pass; then the wrapped policy's score)
    # or "estimate" (all of them by their estimated pick success, ``pick_success_estimate``, which
    # becomes their score)
    rank_by: str = "preferences"
    # where the best of the ``candidates`` grasps the hand clears has an estimated pick success
    # (``pick_success_estimate``) below ``enough_estimate``, the wrapped policy's next best grasps are
    # checked too, up to ``more_candidates`` in all (0: never): in a heap the planner's best 20 can all
    # lie on one object too wide to lift (a big box) while a neighbour that lifts is further down its
    # list. Off by default: 60 at 0.8 cleared validation bin heaps of 10 objects by +2.8 points but
    # those of 5 by −2.0, the estimate being optimistic about the grasps further down; with a
    # ``more_margin`` of 0.2, −0.05 on average (BENCHMARKS.md "Tried and dropped: a wider look where
    # the best is poor")
    more_candidates: int = 0
    enough_estimate: float = 0.8
    # ... and a grasp found further down is kept only where its estimate beats the first ones' best by
    # this much: the best of many draws is chosen for a high estimate, and lifts less often than it says
    more_margin: float = 0.0

    def __post_init__(self):
        if self.median_px < 1 or not 0 <= self.top_quantile < 0.5:
            raise ConfigError("clearance: median_px must be ≥ 1 and top_quantile in [0, 0.5)")
        if self.candidates < 1:
            raise ConfigError(f"clearance: candidates must be ≥ 1, got {self.candidates}")
        if self.more_candidates < 0 or not 0 <= self.enough_estimate <= 1 or not 0 <= self.more_margin <= 1:
            raise ConfigError(f"clearance: more_candidates must be ≥ 0 (0: never look further), enough_estimate and "
                              f"more_margin in [0, 1] (probabilities), got {self.more_candidates}, "
                              f"{self.enough_estimate} and {self.more_margin}")
        if min(self.min_grip_depth_m, self.clear_m, self.palm_clear_m, self.open_step_m, self.side_margin_m) < 0:
            raise ConfigError("clearance: min_grip_depth_m, clear_m, palm_clear_m, open_step_m and side_margin_m "
                              "must be ≥ 0 (metres)")
        if min(self.recentre_m, self.recentre_step_m) < 0 or (self.recentre_m > 0 and self.recentre_step_m <= 0):
            raise ConfigError("clearance: recentre_m must be ≥ 0 and recentre_step_m > 0 (metres)")
        if not 0 <= self.reach_fraction <= 1:
            raise ConfigError(f"clearance: reach_fraction must be in [0, 1], got {self.reach_fraction}")
        if self.rank_by not in RANKINGS:
            raise ConfigError(f"clearance: rank_by must be one of {', '.join(RANKINGS)}, got {self.rank_by!r}")
        if not self.max_draw_in >= 0:
            raise ConfigError(f"clearance: max_draw_in must be ≥ 0 (a cotangent; inf: no preference), "
                              f"got {self.max_draw_in}")
        if max(self.min_grip_depth_m, self.clear_m, self.palm_clear_m, self.open_step_m, self.recentre_m,
               self.side_margin_m) > 0.2:
            raise ConfigError("clearance: depths above 0.2 m look like millimetres; give metres")


RANKINGS = ("preferences", "estimate")     # ClearanceConfig.rank_by
# A logistic model of a pick's success from the wrapped policy's score s and the clearance checks:
# logit P = intercept + score_logit·logit(s) + draw_in·min(draw-in, 2)
#           + sloped_not_reaching·[draw-in > max_draw_in and fingertips not half-way down]
#           + side_clear_per_m·side clearance + inside_clear_per_m·inside clearance (each only where it
#             falls short, down to −1 cm: more room than none does not count, so wide grasps are not favoured)
#           + reach_ratio·min(how far down the fingertips reach, as a fraction of the way to the support, 1).
# Maximum likelihood over the 1,076 attempts that `auto` (the shipped GQ-CNNs' scores, ranked by a
# first model of the score, a sloped face, and a sloped face not reached below) made on the
# validation bin heaps (procedural:40 and random URDF shapes 100–199, seed 3, 5 and 10 objects;
# checked on 1,100 attempts on seed-5 heaps; BENCHMARKS.md "Room to spare in the estimate"). Grasps
# with a neighbour's edge just beside a finger or the object just inside a pad's face, the most
# collisions on approach and many slips, lift less often.
PICK_SUCCESS_LOGIT = {"intercept": 3.01, "score_logit": 0.44, "draw_in": -1.29, "sloped_not_reaching": -1.31,
                      "side_clear_per_m": 146.0, "inside_clear_per_m": 82.0, "reach_ratio": 0.96}
SIDE_STRIP_M = 0.004       # the side clearance: strips this wide beside the fingers' columns, across their width
INSIDE_STRIP_M = 0.002     # the inside clearance: the fingers' columns moved this far inside the pads' faces
ESTIMATE_CLIP_M = 0.01     # a clearance's shortfall counts up to this much
SIDE_OUTLIERS = 2          # points of the strips beside the fingers ignored as noise (after the median filter)


def deepest_clear_offset_m(points: np.ndarray, centre: np.ndarray, R_hand: np.ndarray, opening_m: float,
                           gripper, finger_clear_m: float = 0.0, palm_clear_m: float = 0.0,
                           top_quantile: float = 0.0) -> float:
    """How far along the approach (metres, from ``centre``) the grasp centre may go before a
    fingertip comes within ``finger_clear_m`` of the points (N, 3; the same frame as ``centre``)
    under the fingers, or the palm within ``palm_clear_m`` of those under it; ``inf`` when nothing
    lies under the hand. The highest point under the fingers is their highest but a ``top_quantile``
    fraction of the points (0: the highest; noisy depth: a few per cent); under the palm, but
    the same area."""
    local = (points - centre) @ R_hand
    return min(finger_bound_m(local, opening_m, gripper, finger_clear_m, top_quantile),
               palm_bound_m(local, gripper, palm_clear_m, top_quantile))


def finger_bound_m(local: np.ndarray, opening_m: float, gripper, finger_clear_m: float = 0.0,
                   top_quantile: float = 0.0, side_margin_m: float = 0.0) -> float:
    """How deep the grasp centre may go before a fingertip comes within ``finger_clear_m`` of the
    points (hand frame) in the fingers' columns at ``opening_m`` (their highest but a ``top_quantile``
    fraction: noise), or of those in strips ``side_margin_m`` wide beside the columns across the
    fingers' width (their highest but ``SIDE_OUTLIERS`` points: a neighbour's edge along a finger's
    side is too thin a sliver of the column to tell from noise there)."""
    ax, ay = np.abs(local[:, 0]), np.abs(local[:, 1])
    half, t, w = opening_m / 2, gripper.finger_thickness_m, gripper.finger_width_m
    across = (ax >= half) & (ax <= half + t)
    bound = _top(local[across & (ay <= w / 2), 2], top_quantile)
    if side_margin_m > 0:
        side = np.sort(local[across & (ay > w / 2) & (ay <= w / 2 + side_margin_m), 2])
        if len(side) > SIDE_OUTLIERS:
            bound = min(bound, float(side[SIDE_OUTLIERS]))
    return float(bound - gripper.tip_below_center_m - finger_clear_m)


def palm_bound_m(local: np.ndarray, gripper, palm_clear_m: float = 0.0, top_quantile: float = 0.0) -> float:
    """How deep the grasp centre may go before the palm, which spans the whole stroke whatever the
    fingers' opening, comes within ``palm_clear_m`` of the points (hand frame) under it. It ignores
    as much area of outlying points as the fingers' columns do, not the same fraction: 5 % of its
    footprint is a neighbour's corner, not noise."""
    t = gripper.finger_thickness_m
    in_palm = (np.abs(local[:, 0]) <= gripper.max_width_m / 2 + t) & (np.abs(local[:, 1]) <= gripper.palm_width_m / 2)
    quantile = top_quantile * (2 * t * gripper.finger_width_m) / ((gripper.max_width_m + 2 * t) * gripper.palm_width_m)
    return float(_top(local[in_palm, 2], quantile) + gripper.finger_length_m - gripper.tip_below_center_m
                 - palm_clear_m)


def support_depth_m(local: np.ndarray, opening_m: float, gripper, quantile: float = 0.0) -> float:
    """How far along the approach below the hand frame's origin the lowest surface seen under the
    hand's footprint lies (points in the hand's frame; the table, or whatever the grasped object
    rests on): the deepest of the points there but a ``quantile`` fraction; 0 when nothing lies
    under the hand."""
    under = (np.abs(local[:, 0]) <= opening_m / 2 + gripper.finger_thickness_m) & \
        (np.abs(local[:, 1]) <= max(gripper.palm_width_m, gripper.finger_width_m) / 2)
    z = local[under, 2]
    if not len(z):
        return 0.0
    return -_top(-z, quantile)


def draw_in(local: np.ndarray, tip_m: float, opening_m: float, gripper, rise_m: float = 0.01,
            quantile: float = 0.03) -> float:
    """How much the seen surface between the jaws (points in the hand's frame, under the pads' width)
    draws in per unit of rise, from the fingertips' depth ``tip_m`` to ``rise_m`` above it, on the
    side where it draws in most: ~0 for walls, the cotangent of its slope for a sloped face. 0 where
    less than 4 mm of the object stands above the fingertips (nothing to measure: a low object's
    side). Extremes are the ``quantile`` ones (noise)."""
    between = local[(np.abs(local[:, 0]) <= opening_m / 2) & (np.abs(local[:, 1]) <= gripper.finger_width_m / 2)]
    above = between[between[:, 2] <= tip_m - 0.001]            # what the pads can meet
    if len(above) < 5:
        return 0.0
    rise = min(rise_m, 0.5 * (tip_m - _top(above[:, 2], quantile)))
    if rise < 0.002:
        return 0.0
    high = above[above[:, 2] <= tip_m - rise]
    if len(high) < 3:
        return 0.0
    low_l, low_r = np.quantile(above[:, 0], [quantile, 1 - quantile])
    high_l, high_r = np.quantile(high[:, 0], [quantile, 1 - quantile])
    return float(max(high_l - low_l, low_r - high_r)) / rise


def pick_success_estimate(score: float, checks: dict, max_draw_in: float = ClearanceConfig.max_draw_in) -> float:
    """The estimated probability that a cleared grasp lifts its object (``PICK_SUCCESS_LOGIT``'s
    model) from the planner's score and the clearance check's ``checks`` (``reaches``, ``draw_in``,
    ``side_clear_m``, ``inside_clear_m``, ``reach_ratio``): discounted the more the faces the pads
    meet slope, much more where the pads also close above the object's mid-height, and where
    something seen beside the fingers or just inside the pads' faces stands above the fingertips."""
    s = min(max(float(score), 1e-3), 1.0 - 1e-3)
    d = checks["draw_in"]
    w = PICK_SUCCESS_LOGIT
    clip = lambda v: float(np.clip(v, -ESTIMATE_CLIP_M, 0.0))
    z = w["intercept"] + w["score_logit"] * np.log(s / (1.0 - s)) + w["draw_in"] * min(d, 2.0) + \
        w["sloped_not_reaching"] * (d > max_draw_in and not checks["reaches"]) + \
        w["side_clear_per_m"] * clip(checks["side_clear_m"]) + \
        w["inside_clear_per_m"] * clip(checks["inside_clear_m"]) + \
        w["reach_ratio"] * float(np.clip(checks["reach_ratio"], 0.0, 1.0))
    return float(1.0 / (1.0 + np.exp(-z)))


def _top(z_down: np.ndarray, quantile: float) -> float:
    """The highest of heights given as depths along the approach (smallest), but a ``quantile`` fraction."""
    if not len(z_down):
        return np.inf
    k = int(quantile * (len(z_down) - 1))          # the quantile's lower neighbour: a partition, not a sort
    return float(z_down.min() if k <= 0 else np.partition(z_down, k)[k])


class ClearancePolicy(GraspPolicy):
    """A policy's grasps, kept where the hand clears the seen surfaces on its way down, each at the
    deepest clear closing depth (see the module's notes)."""

    name = "clearance"
    plans_depth = True
    checks_clearance = True
    requires_intrinsics = True

    def __init__(self, policy: GraspPolicy, gripper: str | None = None, config: ClearanceConfig = ClearanceConfig()):
        from ..grasps import load_gripper
        if policy.checks_clearance:
            raise ConfigError(f"the {policy.name} policy already checks clearance (where the frame allows it): "
                              f"use it as it is")
        self.inner = policy
        self.gripper_name = gripper or "robotiq_2f85"
        self.gripper = load_gripper(self.gripper_name)
        self.config = config
        self.max_width_m = None                    # the inner policy's gate applies its own
        self.needs_rgb = policy.needs_rgb
        self.score_meaning = policy.score_meaning if config.rank_by == "preferences" else \
            f"the estimated pick success from the {policy.name} policy's score and the clearance checks"

    def _candidates(self, frame: Frame, max_grasps: int, rng: np.random.Generator) -> Candidates:
        from ..errors import NoGraspFoundError
        c = self.config
        n = max(c.candidates, max_grasps)
        try:
            planned = self.inner.plan(frame, max_grasps=max(n, c.more_candidates), seed=int(rng.integers(2 ** 31)))
        except NoGraspFoundError as e:
            return Candidates([], np.zeros(0), reason=str(e).split(": ", 1)[-1])
        stats = dict(getattr(self.inner, "last_stats", {}))
        approach = self._approach_camera(frame)
        cleared = self._cleared_all(frame, planned[:n], approach)
        checked, widened = min(n, len(planned)), False
        if len(planned) > n:                       # more_candidates: look further where the first ones' best is poor
            estimate = lambda k: pick_success_estimate(k[1], k[2], c.max_draw_in)
            first_best = max(map(estimate, cleared), default=0.0)
            if first_best < c.enough_estimate:
                cleared += [k for k in self._cleared_all(frame, planned[n:], approach)
                            if estimate(k) >= first_best + c.more_margin]
                checked, widened = len(planned), True
        kept = [k for k in cleared if off_gate(frame, k[0], k[1]) is None]   # recentring may leave the mask
        stats.update(clearance_checked=checked, clearance_widened=widened, clearance_kept=len(kept),
                     clearance_reaching=sum(k[2]["reaches"] for k in kept))
        if c.rank_by == "estimate":
            kept = [(g, pick_success_estimate(score, checks, c.max_draw_in), checks)
                    for g, score, checks in kept]
        else:
            if c.reach_fraction > 0 and any(k[2]["reaches"] for k in kept):
                kept = [k for k in kept if k[2]["reaches"]]
            steep = [k for k in kept if k[2]["draw_in"] <= c.max_draw_in]
            stats.update(clearance_steep=len(steep))
            if steep:
                kept = steep
        grasps, scores = [k[0] for k in kept], [k[1] for k in kept]
        if kept:                                   # the best grasp's checks, for the trials' records
            top = kept[int(np.argmax(scores))][2]
            stats.update(reaches=top["reaches"], draw_in=round(top["draw_in"], 4),
                         side_clear_m=round(top["side_clear_m"], 5), inside_clear_m=round(top["inside_clear_m"], 5),
                         reach_ratio=round(top["reach_ratio"], 4),
                         favoured=(top["reaches"] or c.reach_fraction == 0) and top["draw_in"] <= c.max_draw_in)
        reason = "" if grasps else (f"the hand would meet a seen surface on its way down for all {checked} "
                                    f"grasps the {self.inner.name} policy proposed (fingers on a neighbour or on the "
                                    f"object, or the palm on it); try more candidates or a wider-opening gripper")
        if cleared and not kept:
            reason = (f"the {len(cleared)} grasps of the {self.inner.name} policy that the hand clears were moved "
                      f"off the mask (or out of the frame) to clear it; widen the mask or set recentre_m=0")
        return Candidates(grasps, np.asarray(scores, dtype=np.float64), reason=reason, stats=stats)

    def _cleared_all(self, frame: Frame, planned: list[PlannedGrasp], approach: np.ndarray) -> list[tuple]:
        """(grasp, the wrapped policy's score, checks) of each of ``planned`` that the hand clears
        (those it cannot are left out), in order."""
        return [(found[0], p.score, found[1]) for p in planned
                if (found := self._cleared(frame, p, approach)) is not None]

    def _approach_camera(self, frame: Frame) -> np.ndarray:
        """The approach direction in the camera frame: world −z where the camera pose is known,
        else the optical axis."""
        if frame.T_world_camera is None:
            return np.array([0.0, 0.0, 1.0])
        return frame.T_world_camera.inverse().rotation @ np.array([0.0, 0.0, -1.0])

    def _cleared(self, frame: Frame, p: PlannedGrasp, approach: np.ndarray) -> tuple[Grasp2D, dict] | None:
        """The grasp at its deepest clear closing depth over the openings (the planned width, then
        wider in ``open_step_m`` steps up to the gripper's opening) and the centres (the planned one,
        then up to ``recentre_m`` to either side along the jaws), preferring the narrowest opening
        and the nearest centre among equally deep ones and stopping at the first that closes as deep
        as wanted; with whether its fingertips reach ``reach_fraction`` of the way down to the
        support, and how much the surface between its jaws draws in above the fingertips (``draw_in``).
        None where nothing closes ``min_grip_depth_m`` deep."""
        c, g = self.config, self.gripper
        pose = p.pose
        planned = min(pose.width_m + 2 * g.open_margin_m, g.max_width_m)
        openings = [planned]
        if c.open_step_m > 0:
            openings += list(np.arange(planned + c.open_step_m, g.max_width_m, c.open_step_m)) + [g.max_width_m]
        # depths along the approach are counted from the surface seen at the grasp's centre pixel
        pts, surface = self._points_near(frame, p.grasp, pose.center_m[2], g.max_width_m + 2 * c.recentre_m)
        if self.inner.plans_depth and not c.deepest:
            target = float(np.dot(pose.center_m - surface, approach))
        else:
            target = g.surface_grip_depth_m
        R = pose.hand_pose(approach).rotation
        shifts = [0.0]
        if c.recentre_m > 0:
            steps = np.arange(c.recentre_step_m, c.recentre_m + 1e-9, c.recentre_step_m)
            shifts += [float(v) for k in steps for v in (k, -k)]
        local = (pts - surface) @ R                   # the hand's frame; a shift along the jaws moves x only
        local = local[(np.abs(local[:, 0]) <= g.max_width_m / 2 + g.finger_thickness_m + c.recentre_m) &
                      (np.abs(local[:, 1]) <= max(g.palm_width_m, g.finger_width_m + 2 * c.side_margin_m) / 2)]
        shifted, by_palm = {}, {}                     # per shift: the points, and the palm's bound (any opening)
        best = None                                   # (below, opening, shift)
        for opening in dict.fromkeys(min(o, g.max_width_m) for o in openings):
            for shift in shifts:
                if shift not in shifted:
                    shifted[shift] = local if shift == 0 else local - np.array([shift, 0.0, 0.0])
                    by_palm[shift] = palm_bound_m(shifted[shift], g, c.palm_clear_m, c.top_quantile)
                if best is not None and min(target, by_palm[shift]) <= best[0] + 1e-4:
                    continue                          # the palm alone keeps this one no deeper
                below = min(target, by_palm[shift], finger_bound_m(shifted[shift], opening, g, c.clear_m,
                                                                   c.top_quantile, c.side_margin_m))
                if best is None or below > best[0] + 1e-4:
                    best = (below, opening, shift)
                if below >= target:
                    break
            if best[0] >= target:
                break
        below, opening, shift = best
        if below < c.min_grip_depth_m:
            return None
        width_m = max(pose.width_m, opening - 2 * g.open_margin_m)      # the execution opens to width + margins
        centre = surface + shift * R[:, 0] + below * approach
        here = shifted[shift]
        support = support_depth_m(here, opening, g, c.top_quantile)
        tip_m = below + g.tip_below_center_m
        checks = dict(reaches=bool(tip_m >= c.reach_fraction * support),
                      draw_in=float(draw_in(here, tip_m, opening, g)),       # measured even unused: recorded
                      # the fingertips' clearance from what is seen beside the fingers, and just inside
                      # the pads' faces (the column moved inwards): the estimate's room to spare
                      side_clear_m=min(finger_bound_m(here, opening, g, c.clear_m, c.top_quantile, SIDE_STRIP_M)
                                       - below, 1.0),                 # 1 m: nothing seen there
                      inside_clear_m=min(finger_bound_m(here, max(opening - 2 * INSIDE_STRIP_M, 0.0), g, c.clear_m,
                                                        c.top_quantile) - below, 1.0),
                      reach_ratio=float(tip_m / support) if support > 0 else 1.0)
        moved = Grasp3D(centre, pose.axis, width_m, pose.frame).to_2d(frame.intrinsics, jaw_px=p.grasp.jaw_px)
        grasp = Grasp2D(moved.center_xy_px, p.grasp.angle_rad, moved.width_px, p.grasp.jaw_px, moved.depth_m)
        return grasp, checks

    def _points_near(self, frame: Frame, grasp: Grasp2D, z_m: float, opening_m: float) -> tuple[np.ndarray, np.ndarray]:
        """The frame's points (camera frame) in a pixel window that holds the hand's footprint, and
        the surface point at the grasp's centre pixel, from the window's depth median-filtered over
        ``median_px`` pixels (sensor noise, not obstacles)."""
        from scipy.ndimage import median_filter
        intr = frame.intrinsics
        reach_m = np.hypot(opening_m / 2 + self.gripper.finger_thickness_m,
                           max(self.gripper.palm_width_m, self.gripper.finger_width_m) / 2)
        r_px = int(np.ceil(reach_m * max(intr.fx, intr.fy) / max(z_m - 0.1, 0.05))) + 2   # nearer surfaces look larger
        h, w = frame.shape
        x, y = (int(np.clip(round(v), 0, n - 1)) for v, n in zip(grasp.center_xy_px, (w, h)))
        r0, r1, c0, c1 = max(0, y - r_px), min(h, y + r_px + 1), max(0, x - r_px), min(w, x + r_px + 1)
        d = frame.depth_m[r0:r1, c0:c1]
        if self.config.median_px > 1:
            d = median_filter(d, size=self.config.median_px, mode="nearest")
        vv, uu = np.mgrid[r0:r1, c0:c1]
        uv = np.stack([uu.ravel(), vv.ravel()], axis=1).astype(np.float64)
        pts = intr.deproject_pixels(uv, d.ravel())
        return pts, pts[(y - r0) * (c1 - c0) + (x - c0)]

    def spec(self) -> dict:
        c = self.config
        return {"policy": self.name, "options": {"policy": self.inner.spec(), "gripper": self.gripper_name,
                                                 "candidates": c.candidates, "min_grip_depth_m": c.min_grip_depth_m,
                                                 "clear_m": c.clear_m, "palm_clear_m": c.palm_clear_m,
                                                 "open_step_m": c.open_step_m, "median_px": c.median_px,
                                                 "top_quantile": c.top_quantile, "deepest": c.deepest,
                                                 "recentre_m": c.recentre_m, "recentre_step_m": c.recentre_step_m,
                                                 "reach_fraction": c.reach_fraction, "max_draw_in": c.max_draw_in,
                                                 "side_margin_m": c.side_margin_m, "rank_by": c.rank_by,
                                                 "more_candidates": c.more_candidates,
                                                 "enough_estimate": c.enough_estimate, "more_margin": c.more_margin}}


def with_clearance(policy: GraspPolicy, gripper: str | None = None, **options) -> ClearancePolicy:
    """``policy`` behind the approach-clearance check (options: ``ClearanceConfig``'s)."""
    return ClearancePolicy(policy, gripper, ClearanceConfig(**options))


@register_policy("clearance", "Any policy's grasps kept where the fingers and palm clear the seen surfaces on a "
                 "top-down approach, each at its deepest clear closing depth (--clearance)",
                 "the wrapped policy's")
def _clearance_policy(policy: str | dict = "map", gripper: str | None = None,
                      candidates: int = ClearanceConfig.candidates,
                      min_grip_depth_m: float = ClearanceConfig.min_grip_depth_m,
                      clear_m: float = ClearanceConfig.clear_m,
                      palm_clear_m: float = ClearanceConfig.palm_clear_m,
                      open_step_m: float = ClearanceConfig.open_step_m,
                      median_px: int = ClearanceConfig.median_px,
                      top_quantile: float = ClearanceConfig.top_quantile,
                      deepest: bool = ClearanceConfig.deepest,
                      recentre_m: float = ClearanceConfig.recentre_m,
                      recentre_step_m: float = ClearanceConfig.recentre_step_m,
                      reach_fraction: float = ClearanceConfig.reach_fraction,
                      max_draw_in: float = ClearanceConfig.max_draw_in,
                      side_margin_m: float = ClearanceConfig.side_margin_m,
                      rank_by: str = ClearanceConfig.rank_by,
                      more_candidates: int = ClearanceConfig.more_candidates,
                      enough_estimate: float = ClearanceConfig.enough_estimate,
                      more_margin: float = ClearanceConfig.more_margin) -> ClearancePolicy:
    from .registry import load_policy, policy_from_spec
    inner = policy_from_spec(policy) if isinstance(policy, dict) else load_policy(policy)
    return ClearancePolicy(inner, gripper, ClearanceConfig(candidates, min_grip_depth_m, clear_m, palm_clear_m,
                                                         open_step_m, median_px, top_quantile, deepest,
                                                         recentre_m, recentre_step_m, reach_fraction, max_draw_in,
                                                         side_margin_m, rank_by, more_candidates, enough_estimate,
                                                         more_margin))
