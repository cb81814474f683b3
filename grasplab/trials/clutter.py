"""Clutter clearing (as VGN and Dex-Net 4.0 report it): N objects dropped into a heap by physics;
plan on what the camera sees → execute → take the lifted object away → re-plan, until the table
is clear, two attempts in a row fail, or the policy finds no grasp.

The workspace is a disc of ``workspace_radius_m`` around the heap's centre (the drop area's), which
the camera, aimed at that centre, sees whole. An object whose centre rolls out of it (knocked by
the hand, or rolling off the heap after a pick) is taken away as VGN's protocol does: it is not
cleared, and it no longer stands where no camera over the workspace can see it (before, the
camera followed the objects' centroid, and one object a metre away pushed the rest to the frame's
border). A heap whose objects do not all settle in the workspace is dropped again (new drop poses),
so every heap starts with its N objects in view; objects still out after ``MAX_DROPS`` drops are
not part of the heap (``on_table`` counts the rest).

A heap's randomness comes from (seed, "heap", N, heap index): which objects, their drop poses,
the friction, each view's camera and noise, and the policy's seeds. Reported per heap: every
attempt (outcome, object, planning and simulated time), objects cleared.
"""
from __future__ import annotations

import time

import numpy as np

from ..errors import GrasplabError, MeshError, NoGraspFoundError, StablePoseError
from ..grasps import load_gripper
from ..imaging import Frame
from ..objects import ObjectSpec
from ..scene import apply_depth_noise, camera_preset, compute_stable_poses, sample_camera
from ..seeding import derive_int_seed, derive_rng
from .grasp_execution import SUCCESS, execute_grasp, seen_top_under_palm
from ..sim import HEAP_SETTLE_S, SimWorld, drop_heap, settle
from .trial import TrialConfig, grasp_checks

MAX_FAILURES_IN_A_ROW = 2
MAX_DROPS = 10                    # a heap is dropped again (up to this often) until it settles in the workspace


def heap_seed(seed: int, n_objects: int, heap: int) -> int:
    return derive_int_seed(seed, "heap", n_objects, heap)


def _view(world: SimWorld, config: TrialConfig, rng: np.random.Generator) -> Frame:
    """The camera aimed at the workspace's centre: noisy depth, RGB and (with use_mask) the
    objects' union as the mask."""
    intr, T_wc = sample_camera(rng, camera_preset(config.camera), target_m=(0.0, 0.0, 0.0))
    depth, rgb, index = world.render(intr, T_wc)
    depth = apply_depth_noise(depth, config.noise, rng)
    mask = index >= 0
    return Frame.from_images(depth, rgb=rgb, mask=mask if config.use_mask and mask.any() else None,
                             intrinsics=intr, T_world_camera=T_wc)


def take_away_strays(world: SimWorld, radius_m: float) -> list[int]:
    """Take away the objects on the table whose centre lies farther than ``radius_m`` from the
    workspace's centre (the world origin, over which heaps are dropped); their indices."""
    gone = _strays(world, radius_m)
    for i in gone:
        world.remove_object(i)
    return gone


def _strays(world: SimWorld, radius_m: float) -> list[int]:
    return [i for i in world.active_objects() if np.hypot(*world.object_pose(i).translation_m[:2]) > radius_m]


_TOO_WIDE: dict[tuple[str, str], bool] = {}


def too_wide(obj, gripper, config: TrialConfig) -> bool:
    """Whether no top-down grasp fits the object resting in its likeliest stable pose: the
    synthesis' antipodal sampler finds no candidate within the gripper's opening that is clear of
    the table (the singulated oracle's ``no grasp``; a heap may still tilt the object into a
    graspable pose). Deterministic per object; memoised in the process."""
    key = (obj.hash, gripper.name)
    if key not in _TOO_WIDE:
        from ..grasps import AntipodalConfig, CollisionChecker, sample_antipodal_grasps
        pose = compute_stable_poses(obj, config.min_pose_probability)[0]
        mesh = obj.mesh.copy()
        mesh.apply_transform(pose.T_table_obj.matrix)
        grasps = sample_antipodal_grasps(mesh, gripper, AntipodalConfig(), derive_rng(0, "fits", obj.hash))
        _TOO_WIDE[key] = len(grasps) == 0 or bool(CollisionChecker(mesh, gripper).collides(grasps).all())
    return _TOO_WIDE[key]


def clutter_oracle_grasp(world: SimWorld, objects: list, config: TrialConfig, rng: np.random.Generator):
    """The analytic model's best grasp in the heap: the most robust mesh candidate of any object on
    the table whose gripper sweep is clear of the table and every object (None if there is none)."""
    import trimesh
    from ..grasps import CollisionChecker, CollisionConfig
    from ..grasps.labelled import label_object_in_place
    gripper = load_gripper(config.gripper)
    active = world.active_objects()
    placed = []
    for i in active:
        m = objects[i].mesh.copy()
        m.apply_transform(world.object_pose(i).matrix)
        placed.append(m)
    checker = CollisionChecker(trimesh.util.concatenate(placed), gripper, CollisionConfig(),
                               seed=int(rng.integers(2 ** 31)))
    best = None
    for i in active:
        labels = label_object_in_place(objects[i], world.object_pose(i), gripper, rng,
                                       num_grasps=config.oracle_candidates // 2, quality=config.quality)
        found = labels.best(checker.collides(labels.grasps)) if len(labels) else None
        if found is not None and (best is None or found[1] > best[1]):
            best = found
    return best


def run_heap(specs: list[ObjectSpec], n_objects: int, heap: int, seed: int, config: TrialConfig, policy) -> dict:
    """Clear one heap of ``n_objects`` drawn from ``specs`` with ``policy`` (a ``GraspPolicy``,
    or ``"oracle"``)."""
    hs = heap_seed(seed, n_objects, heap)
    rng = derive_rng(seed, "heap", n_objects, heap)
    chosen = [specs[i] for i in rng.choice(len(specs), size=min(n_objects, len(specs)), replace=False)]
    rec = {"heap": int(heap), "n_objects": len(chosen), "objects": [s.key for s in chosen], "seed": hs}
    gripper = load_gripper(config.gripper)
    try:
        objects = [s.build() for s in chosen]
        rec["too_wide"] = [s.key for s, o in zip(chosen, objects) if too_wide(o, gripper, config)]
        friction = config.draw_friction(rng)
        t0 = time.perf_counter()
        # SimulationError: a world MuJoCo refuses
        world, drops = drop_heap(objects, gripper, friction, rng, config.heap_bin_m, config.keep_bin_m), 1
    except (MeshError, StablePoseError, GrasplabError) as e:
        return {**rec, "outcome": "error", "error": str(e)}
    while drops < MAX_DROPS and _strays(world, config.workspace_radius_m):   # start with all N in the workspace
        world.close()
        world = drop_heap(objects, gripper, friction, derive_rng(hs, "drop", drops), config.heap_bin_m,
                          config.keep_bin_m)
        drops += 1
    hulls = [np.asarray(o.mesh.convex_hull.vertices) for o in objects]
    rec.update(friction=round(friction, 4), drops=drops, setup_ms=round(1e3 * (time.perf_counter() - t0), 1))
    attempts, failures_in_a_row, thumbs, strays = [], 0, [], []
    try:
        unplaced = take_away_strays(world, config.workspace_radius_m)    # rolled out in every drop: not in the heap
        while world.active_objects() and failures_in_a_row < MAX_FAILURES_IN_A_ROW and \
                len(attempts) < len(chosen) + MAX_FAILURES_IN_A_ROW * len(chosen):
            k = len(attempts)
            frame = _view(world, config, derive_rng(hs, "view", k))
            t1 = time.perf_counter()
            try:
                if policy == "oracle":
                    best = clutter_oracle_grasp(world, objects, config, derive_rng(hs, "oracle", k))
                    if best is None:
                        raise NoGraspFoundError("no collision-free antipodal mesh grasp on any object in the heap")
                    grasp_world, score, depth_is_surface = best[0], best[1], False
                else:
                    planned = policy.plan(frame, max_grasps=1, seed=derive_int_seed(hs, "plan", k))[0]
                    grasp_world, score, depth_is_surface = planned.pose_world, planned.score, not policy.plans_depth
            except NoGraspFoundError as e:
                attempts.append({"outcome": "no grasp", "reason": str(e),
                                 "planning_ms": round(1e3 * (time.perf_counter() - t1), 2), "sim_s": 0.0})
                break
            planning_ms = 1e3 * (time.perf_counter() - t1)
            top = seen_top_under_palm(frame, grasp_world, gripper) if depth_is_surface else None
            result = execute_grasp(world, grasp_world, None, hulls, config.execution, depth_is_surface=depth_is_surface,
                                   seen_top_under_palm_m=top)
            a = {"outcome": result.outcome, "planning_ms": round(planning_ms, 2), "sim_s": round(result.sim_time_s, 3),
                 "score": float(score), **grasp_checks(policy)}
            if result.object_index is not None:
                a["object"] = chosen[result.object_index].key
            if result.outcome != SUCCESS:          # for the failure sheet (the job draws and drops it)
                thumbs.append((k, frame, grasp_world.to_2d(frame.intrinsics, frame.T_world_camera.inverse()),
                               result.outcome))
            if result.detail:
                a["detail"] = result.detail
            attempts.append(a)
            if result.outcome == SUCCESS:
                world.remove_object(result.object_index)
                failures_in_a_row = 0
            else:
                failures_in_a_row += 1
            world.park_hand()
            if world.active_objects():
                settle(world, None, HEAP_SETTLE_S)
                strays += take_away_strays(world, config.workspace_radius_m)
        left = world.active_objects()
    finally:
        world.close()
    cleared = sum(a["outcome"] == SUCCESS for a in attempts)
    on_table = len(chosen) - len(unplaced)
    ended_by = ("nothing settled in the workspace" if not on_table else
                "cleared" if cleared == on_table else
                "no grasp" if attempts and attempts[-1]["outcome"] == "no grasp" else
                "two failures" if failures_in_a_row >= MAX_FAILURES_IN_A_ROW else
                "left the workspace" if not left else "attempt limit")
    return {**rec, "outcome": "done", "attempts": attempts, "cleared": cleared, "on_table": on_table,
            "cleared_fraction": cleared / on_table if on_table else None, "unplaced": [chosen[i].key for i in unplaced],
            "left_workspace": [chosen[i].key for i in strays],
            "ended_by": ended_by, "_thumbs": thumbs}
