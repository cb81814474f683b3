"""One singulated grasp trial: settle an object in a random stable pose, render what the camera
sees, plan with the policy under test through ``GraspPolicy.plan``, execute the top grasp in
MuJoCo, and record what happened.

A trial's randomness comes only from (seed, object key, trial index): the stable pose (drawn by
its probability), the yaw, the camera, the depth noise, the friction coefficient (Dex-Net's
truncated Gaussian) and the policy's seed. The same trial gives the same record on any worker.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np

from ..errors import ConfigError, GrasplabError, MeshError, NoGraspFoundError, StablePoseError
from ..geometry import Grasp3D, RigidTransform
from ..grasps import load_gripper
from ..imaging import Frame
from ..objects import GraspObject, ObjectSpec
from ..quality import QualityConfig
from ..scene import DepthNoiseConfig, Scene, apply_depth_noise, camera_preset, compute_stable_poses, sample_appearance, \
    sample_camera
from ..seeding import derive_int_seed, derive_rng
from .grasp_execution import SUCCESS, ExecutionConfig, execute_grasp, seen_top_under_palm
from ..grasps.labelled import label_object_in_place
from ..sim import SimWorld, settle

@dataclass(frozen=True)
class TrialConfig:
    """What a trial holds fixed; ``from_preset`` takes the gripper, camera, noise and friction
    model from a synthesis preset so trials match the data a policy was trained on."""

    gripper: str = "robotiq_2f85"
    camera: str = "jacquard"
    noise: DepthNoiseConfig = field(default_factory=DepthNoiseConfig)
    quality: QualityConfig = field(default_factory=QualityConfig)     # friction model; the oracle's labels
    execution: ExecutionConfig = field(default_factory=ExecutionConfig)
    use_mask: bool = True                 # hand the object mask to the policy (a segmented object)
    max_poses: int = 5                    # stable poses to draw from (by probability)
    min_pose_probability: float = 0.02
    oracle_candidates: int = 100          # mesh candidates the oracle labels per trial
    workspace_radius_m: float = 0.25      # clutter: objects whose centre rolls farther from the heap's centre leave
    heap_bin_m: float | None = 0.2        # clutter: heaps are dropped into a bin this wide, then it is taken away
                                          # (None: dropped freely, the protocol before 2026-12-07)
    keep_bin_m: float | None = None       # clutter: the bin stays, its walls this high, and the heap is picked
                                          # from it (bin picking, as in Dex-Net 4.0); None: taken away

    @classmethod
    def from_preset(cls, preset: str = "jacquard-like", **overrides) -> "TrialConfig":
        from ..synth import SynthConfig
        s = SynthConfig.from_preset(preset)
        # the recipe's depth noise without its per-image Gamma scale: that factor (σ ≈ 3 %, ±4.5 cm
        # at 1.5 m) models a camera's calibration error, which training should survive; the trial's
        # robot is calibrated, so its grasps land where the camera saw the object
        base = cls(gripper=s.gripper, camera=s.camera, noise=replace(s.noise, gamma_shape=0.0), quality=s.quality)
        return replace(base, **{k: v for k, v in overrides.items() if v is not None})

    def __post_init__(self):
        if self.keep_bin_m is not None and (self.heap_bin_m is None or not 0 < self.keep_bin_m <= 0.5):
            raise ConfigError(f"keep_bin_m={self.keep_bin_m}: a kept bin needs heap_bin_m (its inner width) and walls "
                              f"0–0.5 m high (e.g. 0.1)")

    def draw_friction(self, rng: np.random.Generator) -> float:
        """Dex-Net's friction model: N(μ, σ) truncated below at the minimum (redrawn, not clipped)."""
        q = self.quality
        for _ in range(1000):
            mu = rng.normal(q.friction_coef, q.friction_sigma)
            if mu >= q.min_friction_coef:
                return float(mu)
        return float(q.min_friction_coef)


def trial_seed(seed: int, object_key: str, trial: int) -> int:
    return derive_int_seed(seed, "trial", object_key, trial)


@dataclass
class Setup:
    """A settled object, what the camera saw, and the world to grasp in."""

    obj: GraspObject
    world: SimWorld
    T_world_obj: RigidTransform
    frame: Frame | None
    scene: Scene | None
    friction: float
    pose_index: int
    hull_vertices: np.ndarray
    object_mask: np.ndarray | None = None          # the rendered mask (given to the policy only with use_mask)


def set_up_trial(obj: GraspObject, config: TrialConfig, rng: np.random.Generator, renderer,
                 render: bool = True) -> Setup:
    """Drop ``obj`` in a random stable pose, let it settle, render noisy depth (+RGB, mask);
    ``render=False`` skips the camera (the frame is then ``None``)."""
    poses = compute_stable_poses(obj, config.min_pose_probability)[:config.max_poses]
    p = np.array([ps.probability for ps in poses])
    pose = poses[int(rng.choice(len(poses), p=p / p.sum()))]
    T_world_obj = pose.placed(0.0, 0.0, rng.uniform(0, 2 * np.pi))
    T_world_obj = RigidTransform(T_world_obj.rotation, T_world_obj.translation_m + np.array([0, 0, 0.002]), "obj", "world")
    gripper = load_gripper(config.gripper)
    friction = config.draw_friction(rng)
    world = SimWorld.build([(obj, T_world_obj)], gripper, friction)
    settle(world)
    T_settled = world.object_pose(0)
    com = T_settled.apply(np.zeros(3))
    hull = np.asarray(obj.mesh.convex_hull.vertices)
    if not render:
        return Setup(obj, world, T_settled, None, None, friction, pose.index, hull)
    intr, T_wc = sample_camera(rng, camera_preset(config.camera), target_m=(com[0], com[1], 0.0))
    scene = Scene(obj, T_settled, intr, T_wc, sample_appearance(rng), pose.index)
    obs = renderer.render(scene)
    depth = apply_depth_noise(obs.depth_m, config.noise, rng)
    mask = obs.mask if config.use_mask and obs.mask is not None and obs.mask.any() else None
    frame = Frame.from_images(depth, rgb=obs.rgb, mask=mask, intrinsics=intr, T_world_camera=T_wc)
    return Setup(obj, world, scene.T_world_obj, frame, scene, friction, pose.index, hull, obs.mask)


def oracle_grasp(setup: Setup, config: TrialConfig, rng: np.random.Generator) -> tuple[Grasp3D, float] | None:
    """The analytic model's best grasp: the most robust collision-free mesh candidate, with its ε."""
    return label_object_in_place(setup.obj, setup.T_world_obj, load_gripper(config.gripper), rng,
                                 num_grasps=config.oracle_candidates, quality=config.quality).best()


def run_trial(spec: ObjectSpec, trial: int, seed: int, config: TrialConfig, policy, renderer,
              *, record_every: int = 0) -> dict:
    """One trial of ``policy`` (a ``GraspPolicy``, or ``"oracle"``) on the object of ``spec``:
    a JSON-ready record. Objects that cannot be simulated give a record with ``error``. The
    record also holds ``_setup`` (the settled world and frame) and, with ``record_every``,
    ``_frames`` (simulation states for a video): pop them before saving."""
    rec = {"object": spec.key, "family": spec.family, "trial": int(trial), "seed": trial_seed(seed, spec.key, trial)}
    rng = derive_rng(seed, "trial", spec.key, trial)
    try:
        obj = spec.build()
        t0 = time.perf_counter()
        setup = set_up_trial(obj, config, rng, renderer)
    except (MeshError, StablePoseError, GrasplabError) as e:
        return {**rec, "outcome": "error", "error": str(e)}
    rec.update(pose_index=setup.pose_index, friction=round(setup.friction, 4), mass_kg=round(obj.mass_kg, 4),
               setup_ms=round(1e3 * (time.perf_counter() - t0), 1))
    t0 = time.perf_counter()
    grasp_world, depth_is_surface = None, False
    if policy == "oracle":
        best = oracle_grasp(setup, config, derive_rng(rec["seed"], "oracle"))
        if best is None:
            rec["no_grasp_reason"] = "no collision-free antipodal grasp on the mesh"
        else:
            grasp_world, eps = best
            rec["score"] = eps
    else:
        try:
            planned = policy.plan(setup.frame, max_grasps=1, seed=rec["seed"])[0]
            grasp_world, depth_is_surface = planned.pose_world, not policy.plans_depth
            rec["score"] = float(planned.score)
            rec["grasp_px"] = planned.to_dict()
            rec.update(grasp_checks(policy))
        except NoGraspFoundError as e:
            rec["no_grasp_reason"] = str(e)
    rec["planning_ms"] = round(1e3 * (time.perf_counter() - t0), 2)
    if grasp_world is None:
        return {**rec, "outcome": "no grasp", "sim_ms": 0.0, "_setup": setup}
    rec["grasp_world"] = {"center_m": grasp_world.center_m.round(5).tolist(),
                          "axis": grasp_world.axis.round(5).tolist(), "width_m": round(grasp_world.width_m, 5)}
    t0 = time.perf_counter()
    top = seen_top_under_palm(setup.frame, grasp_world, load_gripper(config.gripper)) if depth_is_surface else None
    result = execute_grasp(setup.world, grasp_world, 0, setup.hull_vertices, config.execution,
                           depth_is_surface=depth_is_surface, seen_top_under_palm_m=top, record_every=record_every)
    rec.update(outcome=result.outcome, success=result.outcome == SUCCESS, lifted_m=round(result.lifted_m, 4),
               sim_s=round(result.sim_time_s, 3), sim_ms=round(1e3 * (time.perf_counter() - t0), 2))
    if result.detail:
        rec["detail"] = result.detail
    rec["_setup"] = setup
    if record_every:
        rec["_frames"] = result.frames
    return rec


CHECKS = ("reaches", "draw_in", "side_clear_m", "inside_clear_m", "reach_ratio")   # the clearance check's, recorded


def grasp_checks(policy) -> dict:
    """What the clearance check measured of the grasp a policy just returned (whether its
    fingertips reach half-way down and how far, how much the faces between its jaws draw in, how
    much room the fingertips have beside the fingers and inside the pads), for the trial's
    record: ``{"checks": {...}}``, or nothing for a policy without the check (or ``"oracle"``)."""
    stats = getattr(policy, "last_stats", {}) or {}
    checks = {k: stats[k] for k in CHECKS if k in stats}
    return {"checks": checks} if checks else {}
