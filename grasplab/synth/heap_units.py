"""One clutter work unit: a heap of objects dropped by MuJoCo physics onto the table → antipodal
candidates on every object where it came to rest → labels (robust Ferrari–Canny quality, and
collision of the gripper with the table, the object itself *and every neighbour*: a grasp that
hits a neighbour is negative) → rendered views → GQ-CNN datapoints (with the grasped object's id)
and a Jacquard-layout scene holding every object's grasps and a per-object index image.

A heap draws its objects from one side of the object-wise split (``object_sides``), so the
object-wise split of a dataset with heaps keeps every pixel of a validation object out of
training. Its randomness comes only from (seed, "heap", heap index): the number and choice of
objects, drop poses, cameras and noise, so a heap does not depend on the worker that made it.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..datasets.jacquard_layout import write_jacquard_view
from ..datasets.splits import grouped_holdout
from ..errors import MeshError, SimulationError, StablePoseError
from ..geometry import Grasp2D, GraspSet
from ..grasps import CollisionChecker, load_gripper
from ..grasps.labelled import label_object_in_place
from ..scene import apply_depth_noise, camera_preset, sample_camera
from ..seeding import derive_int_seed, derive_rng
from .units import UnitResult, append_datapoints, empty_fields, project_grasps, write_unit

#: view ids of heap scenes start here (single-object views use object × 100,000 + pose × 1,000 + view)
HEAP_VIEW_BASE = 1_000_000_000
MIN_ON_TABLE_Z_M = -0.02          # an object whose centre ends below this fell off the table


def heap_key(heap: int) -> str:
    return f"heap{heap:05d}"


def object_sides(n_objects: int, train_fraction: float, seed: int) -> np.ndarray:
    """True for the objects on the training side of the object-wise split of a dataset with heaps."""
    train, _ = grouped_holdout(np.arange(n_objects), train_fraction, derive_rng(seed, "split", "object_sides"))
    side = np.zeros(n_objects, dtype=bool)
    side[train] = True
    return side


def choose_heap_objects(n_specs: int, heap: int, cfg) -> tuple[np.ndarray, bool]:
    """The object indices of a heap (drawn from one side of the split) and that side."""
    rng = derive_rng(cfg.seed, "heap", heap, "objects")
    sides = object_sides(n_specs, cfg.train_fraction, cfg.seed)
    train_side = bool(rng.random() < cfg.train_fraction) if sides.any() and (~sides).any() else bool(sides.any())
    pool = np.flatnonzero(sides == train_side)
    lo, hi = cfg.heap_objects
    n = int(rng.integers(lo, hi + 1))
    return np.sort(rng.choice(pool, size=min(n, len(pool)), replace=False)), train_side


def process_heap(specs: list, idx: np.ndarray, heap: int, cfg, out_dir: Path) -> UnitResult:
    """Drop, label, render and write one heap of the objects ``specs`` (their indices ``idx`` in
    the job's object list); bad objects are reported, not raised."""
    from ..sim import drop_heap
    res = UnitResult(heap_key(heap))
    gripper = load_gripper(cfg.gripper)
    rng = derive_rng(cfg.seed, "heap", heap)
    try:
        objects = [s.build() for s in specs]
        world = drop_heap(objects, gripper, cfg.quality.friction_coef, rng)
    except (MeshError, StablePoseError, SimulationError) as e:       # e.g. a part MuJoCo cannot hull
        res.error = str(e)
        write_unit(out_dir, res, empty_fields())
        return res
    try:
        return _label_and_render(world, objects, [s.key for s in specs], np.asarray(idx), heap, cfg, out_dir, gripper, res)
    finally:
        world.close()


def _label_and_render(world, objects, keys, idx, heap, cfg, out_dir, gripper, res) -> UnitResult:
    """Label every object still on the table against the whole heap, render the views, write the unit."""
    import trimesh
    poses = [world.object_pose(i) for i in range(len(objects))]
    on_table = [i for i in range(len(objects)) if poses[i].translation_m[2] > MIN_ON_TABLE_Z_M]
    if not on_table:
        res.note = "every object of the heap fell off the table"
        write_unit(out_dir, res, empty_fields())
        return res
    placed = []
    for i in on_table:
        m = objects[i].mesh.copy()
        m.apply_transform(poses[i].matrix)
        placed.append(m)
    per_object = max(1, math.ceil(cfg.grasps_per_object / cfg.max_poses))
    # every object's candidates, checked against the whole heap (the object itself, its neighbours, the table)
    heap_checker = CollisionChecker(trimesh.util.concatenate(placed), gripper, cfg.collision,
                                    seed=derive_int_seed(cfg.seed, "heap", heap, "collision"))
    grasp_sets, robust, eps0, eps, pfc, free, owner = [], [], [], [], [], [], []
    for i in on_table:
        lab = label_object_in_place(objects[i], poses[i], gripper, derive_rng(cfg.seed, "heap", heap, "grasps", i),
                                    num_grasps=per_object, antipodal=cfg.antipodal, quality=cfg.quality,
                                    collision=cfg.collision)
        if not len(lab):
            continue
        ok = lab.collision_free & ~heap_checker.collides(lab.grasps)
        grasp_sets.append(lab.grasps)
        eps0.append(lab.epsilon)
        eps.append(lab.robust_epsilon)
        pfc.append(lab.p_force_closure)
        free.append(ok)
        robust.append(lab.robust_epsilon * ok)
        owner.append(np.full(len(lab), i))
    fields = empty_fields()
    if not grasp_sets:
        res.note = f"no antipodal grasp fits the {gripper.name} gripper on any object of the heap"
        write_unit(out_dir, res, fields)
        return res
    grasps = GraspSet.concatenate(grasp_sets, frame="world")
    robust, eps0, eps, pfc, free, owner = (np.concatenate(a) for a in (robust, eps0, eps, pfc, free, owner))
    obj_ids = idx[owner]
    thr = cfg.quality.positive_threshold
    camera = camera_preset(cfg.camera)
    centre = np.mean([poses[i].translation_m for i in on_table], axis=0)
    for v in range(cfg.views_per_pose):
        vrng = derive_rng(cfg.seed, "heap", heap, "view", v)
        intr, T_wc = sample_camera(vrng, camera, target_m=(centre[0], centre[1], 0.0))
        depth, rgb, index = world.render(intr, T_wc)
        noisy = apply_depth_noise(depth, cfg.noise, vrng)
        c_px, angle, width_px, z, jaw_px, inside = project_grasps(grasps, intr, T_wc.inverse(), gripper.finger_width_m)
        view_id = HEAP_VIEW_BASE + heap * 1000 + v
        sel = np.flatnonzero(inside)
        res.views += 1
        if "jacquard" in cfg.formats:
            positives = [Grasp2D(tuple(c_px[i]), angle[i], width_px[i], jaw_px[i], z[i]) for i in sel if robust[i] > thr]
            sidecar = {
                "heap": {"index": heap, "objects": [{"key": keys[k],
                                                     "index": int(idx[k]), "family": objects[k].family,
                                                     "on_table": k in on_table,
                                                     "T_world_obj": poses[k].to_dict()} for k in range(len(objects))]},
                "intrinsics": intr.to_dict(), "T_world_camera": T_wc.to_dict(), "gripper": gripper.to_dict(),
                "positive_threshold": thr,
                "objects_image": "pixel value k > 0: object k − 1 of heap.objects; 0: table",
                "candidates": [{
                    "object": int(owner[i]), "center_xy_px": c_px[i].round(3).tolist(), "angle_rad": float(angle[i]),
                    "width_px": float(width_px[i]), "jaw_px": float(jaw_px[i]), "depth_m": float(z[i]),
                    "center_world_m": grasps.centers_m[i].round(6).tolist(), "axis_world": grasps.axes[i].round(6).tolist(),
                    "width_m": float(grasps.widths_m[i]), "robust_ferrari_canny": float(eps[i]),
                    "p_force_closure": float(pfc[i]), "collision_free": bool(free[i]), "positive": bool(robust[i] > thr)}
                    for i in sel],
            }
            write_jacquard_view(out_dir / "jacquard", view_id, heap_key(heap), rgb, depth, noisy, index >= 0,
                                positives, sidecar, object_index=index)
        if "gqcnn" in cfg.formats and sel.size:
            append_datapoints(fields, cfg, noisy, intr, T_wc, sel, c_px, angle, width_px, z, robust=robust,
                              epsilon=eps0, p_force_closure=pfc, collision_free=free, obj_labels=obj_ids[sel],
                              pose_label=-1 - heap, view_id=view_id)
        res.positives += int(np.sum(robust[sel] > thr))
        res.datapoints += int(sel.size)
    write_unit(out_dir, res, fields)
    return res
