"""Executing one planned grasp in a ``SimWorld``: approach top-down, close, lift, hold, shake.

The protocol (times in simulated seconds): the hand starts ``approach_height_m`` above the grasp
with the fingers open to the planned width plus the gripper's margin (at most its stroke), moves
straight along its approach axis to the grasp, closes with the grip force, lifts 20 cm, holds 1 s
and shakes (horizontal sinusoids). Success: at the end the object's lowest point is ≥ 10 cm above
the table and it touches both pads. A failure records the first phase that went wrong:

- ``collision on approach``: the palm or a finger touched an object (or the table) before closing;
- ``empty grasp``: the fingers closed without holding the object between both pads;
- ``slipped during lift``: the object was not ≥ 10 cm up after the lift and hold;
- ``dropped during shake``: it was up after the hold and not at the end.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..geometry import Grasp3D, RigidTransform
from ..sim import TIMESTEP_S, SimWorld

SUCCESS = "success"
FAILURES = ("no grasp", "collision on approach", "empty grasp", "slipped during lift", "dropped during shake")


@dataclass(frozen=True)
class ExecutionConfig:
    approach_height_m: float = 0.10      # start of the straight approach above the grasp
    approach_speed_m_s: float = 0.25
    open_fully: bool = False             # approach with the gripper fully open instead of the planned width + margin
    close_time_s: float = 1.0            # at most; closing ends once both fingers stop (after 0.1 s)
    lift_height_m: float = 0.20
    lift_speed_m_s: float = 0.25
    hold_time_s: float = 1.0
    shake_time_s: float = 1.0
    shake_amplitude_m: float = 0.02      # ±2 cm at 2 Hz: peaks of 0.32 g sideways
    shake_frequency_hz: float = 2.0
    success_height_m: float = 0.10       # lowest point of the object above the table at the end
    tip_clearance_m: float = 0.003       # fingertips stop this far above the table
    surface_grasp_depth_m: float | None = None   # planners that give the surface: close this far below
                                                 # it (default: the finger length less 1 cm, as deep as the palm allows)
    collision_tolerance_m: float = 0.001  # a touch deeper than this during the approach is a collision


@dataclass
class ExecutionResult:
    outcome: str                            # "success" or one of FAILURES
    lifted_m: float = 0.0                   # lowest point of the object above the table at the end
    closed_opening_m: float = float("nan")  # the fingers' opening once closed
    sim_time_s: float = 0.0
    steps: int = 0
    detail: str = ""                        # e.g. which part of the hand hit what
    object_index: int | None = None         # the object grasped (clutter: found after closing)
    frames: list = field(default_factory=list, repr=False)   # hand/object states for videos


#: the trials' hands come straight down (world −z): ``Grasp3D.hand_pose(TOP_DOWN)``
TOP_DOWN = (0.0, 0.0, -1.0)


def execution_target(grasp_world: Grasp3D, *, depth_is_surface: bool, gripper, config: ExecutionConfig,
                     seen_top_under_palm_m: float | None = None) -> Grasp3D:
    """Where the jaws close: the planned centre or, for planners that give the surface at the
    centre (grasp-map models), ``surface_grasp_depth_m`` below it — by default as deep as the
    fingers reach (finger length − 1 cm), but no deeper than keeps the palm 5 mm above the highest
    point the camera saw under it (``seen_top_under_palm_m``), so flat pads meet curved sides at
    their widest without the palm landing on the object — and raised so the fingertips stay
    above the table."""
    c = np.array(grasp_world.center_m, dtype=np.float64)
    if depth_is_surface:
        below = config.surface_grasp_depth_m
        c[2] -= gripper.surface_grip_depth_m if below is None else below
        if seen_top_under_palm_m is not None and below is None:
            c[2] = max(c[2], seen_top_under_palm_m + 0.005 - gripper.finger_length_m + gripper.tip_below_center_m)
    c[2] = max(c[2], config.tip_clearance_m + gripper.tip_below_center_m)
    return Grasp3D(c, grasp_world.axis, grasp_world.width_m, grasp_world.frame)


def seen_top_under_palm(frame, grasp_world: Grasp3D, gripper) -> float | None:
    """The highest point (world z) of the frame's point cloud under the palm's footprint for this
    grasp (what a robot can know before it moves), or None without intrinsics and camera pose."""
    if frame.intrinsics is None or frame.T_world_camera is None:
        return None
    T = grasp_world.hand_pose(TOP_DOWN)
    pts = frame.T_world_camera.apply(frame.intrinsics.deproject(frame.depth_m).reshape(-1, 3))
    local = (pts - T.translation_m) @ T.rotation
    half_x = gripper.max_width_m / 2 + gripper.finger_thickness_m
    under = (np.abs(local[:, 0]) <= half_x) & (np.abs(local[:, 1]) <= gripper.palm_width_m / 2)
    return float(pts[under, 2].max()) if under.any() else None


class _Recorder:
    def __init__(self, world: SimWorld, every: int):
        self.world, self.every, self.frames, self.n = world, every, [], 0

    def __call__(self):
        if self.every and self.n % self.every == 0:
            d = self.world.data
            self.frames.append((d.qpos.copy(), d.mocap_pos.copy(), d.mocap_quat.copy()))
        self.n += 1


def execute_grasp(world: SimWorld, grasp_world: Grasp3D, target_index: int | None, hull_vertices,
                  config: ExecutionConfig = ExecutionConfig(), *, depth_is_surface: bool = False,
                  seen_top_under_palm_m: float | None = None, record_every: int = 0) -> ExecutionResult:
    """Run the protocol on ``world`` for the object ``target_index`` (``hull_vertices``: its
    hull's vertices in its frame, for its height) or, with ``target_index=None`` (clutter),
    whichever object ends up between both pads (``hull_vertices``: a list, one per object).
    ``record_every`` > 0 keeps every n-th state for a video."""
    g = world.gripper
    rec = _Recorder(world, record_every)
    target = execution_target(grasp_world, depth_is_surface=depth_is_surface, gripper=g, config=config,
                              seen_top_under_palm_m=seen_top_under_palm_m)
    T_grasp = target.hand_pose(TOP_DOWN)
    approach = T_grasp.rotation[:, 2]
    opening = g.max_width_m if config.open_fully else min(target.width_m + 2 * g.open_margin_m, g.max_width_m)
    target = target_index                      # clutter: found once the fingers close
    hand_geoms = world.hand_geoms
    others = np.concatenate([world.object_geoms(i) for i in range(world.n_objects)] + [world.fixture_geoms()])
    steps = 0
    origin = T_grasp.translation_m
    up = np.array([0.0, 0.0, 1.0])

    def run(positions: np.ndarray | None, n: int = 0) -> None:
        """Step with the wrist target at each of ``positions`` (the orientation never changes),
        or ``n`` steps where it is."""
        nonlocal steps
        mocap = world.data.mocap_pos
        for k in range(len(positions) if positions is not None else n):
            if positions is not None:
                mocap[0] = positions[k]
            world.step()
            rec()
        steps += len(positions) if positions is not None else n

    def hull(i: int) -> np.ndarray:
        return hull_vertices if isinstance(hull_vertices, np.ndarray) else hull_vertices[i]

    def result(outcome: str, detail: str = "") -> ExecutionResult:
        lifted = world.object_lowest_z(target, hull(target)) if target is not None else 0.0
        return ExecutionResult(outcome, lifted, world.opening_m(), steps * TIMESTEP_S, steps, detail, target,
                               rec.frames)

    def n_of(duration_s: float) -> int:
        return max(1, int(round(duration_s / TIMESTEP_S)))

    # approach: from above, straight along the approach axis; any touch is a collision
    world.set_opening(opening)
    world.set_hand(RigidTransform(T_grasp.rotation, origin - config.approach_height_m * approach, "hand", "world"),
                   teleport=True)
    world.forward()
    n_approach = n_of(config.approach_height_m / config.approach_speed_m_s)
    s = config.approach_height_m * (1 - np.arange(1, n_approach + 1) / n_approach)
    path = origin - s[:, None] * approach
    for k in range(n_approach):
        run(path[k:k + 1])
        if _penetration(world, hand_geoms, others) > config.collision_tolerance_m:
            return result("collision on approach", _what_hit(world, hand_geoms, others))
    # close with the grip force until the fingers stop
    world.close_fingers()
    run(None, n_of(0.1))
    for _ in range(n_of(config.close_time_s - 0.1) // 10):
        if world.finger_speed_m_s() < 1e-3:
            break
        run(None, 10)
    left, right = world.pad_geoms
    between = [i for i in ([target] if target is not None else world.active_objects())
               if world.contacts([left], world.object_geoms(i)) and world.contacts([right], world.object_geoms(i))]
    if not between:
        return result("empty grasp")
    target = between[0]
    held = world.object_geoms(target)
    # lift, then hold
    n_lift = n_of(config.lift_height_m / config.lift_speed_m_s)
    run(origin + config.lift_height_m * (np.arange(1, n_lift + 1) / n_lift)[:, None] * up)
    top = origin + config.lift_height_m * up
    run(None, n_of(config.hold_time_s))
    if world.object_lowest_z(target, hull(target)) < config.success_height_m or \
            not (world.contacts([left], held) and world.contacts([right], held)):
        return result("slipped during lift")
    # shake: sideways sinusoids in x and y, a quarter period apart, then come to rest
    t = np.arange(1, n_of(config.shake_time_s) + 1) * TIMESTEP_S
    w = 2 * np.pi * config.shake_frequency_hz
    a = config.shake_amplitude_m
    run(top + np.stack([a * np.sin(w * t), a * (np.cos(w * t) - 1), np.zeros_like(t)], 1))
    run(np.repeat(top[None], n_of(0.25), 0))
    up_now = world.object_lowest_z(target, hull(target)) >= config.success_height_m
    touching = world.contacts([left], held) and world.contacts([right], held)
    return result(SUCCESS if up_now and touching else "dropped during shake")


def _what_hit(world: SimWorld, hand_geoms, others) -> str:
    """'palm hit object0' and the like, for the deepest hand contact."""
    import mujoco
    g1, g2, dist = world.contact_arrays()
    hit = world.contacts_between(hand_geoms, others)
    if not hit.any():
        return ""
    k = np.flatnonzero(hit)[np.argmin(dist[hit])]
    a, b = (g1[k], g2[k]) if np.isin(g1[k], hand_geoms) else (g2[k], g1[k])
    hand = mujoco.mj_id2name(world.model, mujoco.mjtObj.mjOBJ_GEOM, int(a))
    other = "the table" if b == world._id("GEOM", "table") else \
        mujoco.mj_id2name(world.model, mujoco.mjtObj.mjOBJ_BODY, int(world.model.geom_bodyid[b]))
    return f"{hand.replace('pad_', '').replace('left', 'left finger').replace('right', 'right finger')} hit {other}"


def _penetration(world: SimWorld, geoms_a, geoms_b) -> float:
    """Deepest penetration (m) among contacts between the two geom sets (0 if none)."""
    hit = world.contacts_between(geoms_a, geoms_b)
    return float(max(0.0, -world.contact_arrays()[2][hit].min())) if hit.any() else 0.0
