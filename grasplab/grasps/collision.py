"""Collision checks for top-down parallel-jaw grasps: fingers and palm against object and table.

The gripper is a set of boxes (two fingers, one palm) in the grasp frame. A top-down
approach sweeps them straight down from ``approach_height_m`` above the grasp, so the swept
volume of each box is the box extended upwards. A box collides with the table if any of
its corners lies below z = 0, and with the object if any point of a dense sample of the
object's surface (plus its vertices) lies inside it, or the box lies wholly inside the
object. The surface sample spacing (``spacing_m``) bounds what can be missed.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import trimesh

from ..geometry import GraspSet
from .gripper import ParallelJawGripper


@dataclass(frozen=True)
class CollisionConfig:
    approach_height_m: float = 0.10   # how far above the grasp the straight-down approach starts
    spacing_m: float = 0.002          # object surface sample spacing
    table_clearance_m: float = 0.0    # fingertips may not go below z = clearance


def grasp_frames(grasps: GraspSet, approach_world=(0.0, 0.0, -1.0)) -> np.ndarray:
    """Rotation matrices (N, 3, 3) whose columns are the grasp frame axes x (closing), y, z (approach)."""
    z = np.broadcast_to(np.asarray(approach_world, dtype=np.float64), grasps.axes.shape)
    x = grasps.axes - np.sum(grasps.axes * z, axis=1, keepdims=True) * z      # make x ⟂ approach
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    y = np.cross(z, x)
    return np.stack([x, y, z], axis=2)


def gripper_boxes(gripper: ParallelJawGripper, widths_m: np.ndarray, approach_height_m: float) -> np.ndarray:
    """Swept boxes (N, 3, 2, 3) in grasp frame: for each grasp, fingers 1 and 2 and the palm,
    as [min corner, max corner]; each box extends up by the approach height. The fingers stand
    at the opening (width + margin, at most the stroke); the palm spans the whole stroke whatever
    the opening, as a real hand's body (and the simulated one, :mod:`grasplab.sim.world`) does."""
    n = len(widths_m)
    half_open = np.minimum(widths_m / 2 + gripper.open_margin_m, gripper.max_width_m / 2)
    t, fw, fl = gripper.finger_thickness_m, gripper.finger_width_m, gripper.finger_length_m
    tip = gripper.tip_below_center_m
    z_top_finger = tip - fl                                    # z is the approach: negative is up
    z_top_palm = z_top_finger - gripper.palm_height_m
    boxes = np.zeros((n, 3, 2, 3))
    boxes[:, 0, 0] = np.c_[-half_open - t, np.full(n, -fw / 2), np.full(n, z_top_finger - approach_height_m)]
    boxes[:, 0, 1] = np.c_[-half_open, np.full(n, fw / 2), np.full(n, tip)]
    boxes[:, 1, 0] = np.c_[half_open, np.full(n, -fw / 2), np.full(n, z_top_finger - approach_height_m)]
    boxes[:, 1, 1] = np.c_[half_open + t, np.full(n, fw / 2), np.full(n, tip)]
    pw, palm_half_x = gripper.palm_width_m, gripper.max_width_m / 2 + t
    boxes[:, 2, 0] = np.c_[np.full(n, -palm_half_x), np.full(n, -pw / 2), np.full(n, z_top_palm - approach_height_m)]
    boxes[:, 2, 1] = np.c_[np.full(n, palm_half_x), np.full(n, pw / 2), np.full(n, z_top_finger)]
    return boxes


class CollisionChecker:
    """Checks grasps on one object resting in one pose (everything in the table/world frame)."""

    def __init__(self, mesh_world: trimesh.Trimesh, gripper: ParallelJawGripper,
                 config: CollisionConfig = CollisionConfig(), seed: int = 0):
        self.mesh = mesh_world
        self.gripper = gripper
        self.config = config
        n = int(np.clip(2.0 * mesh_world.area / config.spacing_m ** 2, 500, 200_000))
        pts, _ = trimesh.sample.sample_surface(mesh_world, n, seed=seed)
        self.points = np.vstack([pts, mesh_world.vertices])

    def collides(self, grasps: GraspSet) -> np.ndarray:
        """Boolean (N,): True where a finger or the palm hits the table or the object."""
        if len(grasps) == 0:
            return np.zeros(0, dtype=bool)
        R = grasp_frames(grasps)                                      # (N, 3, 3) grasp → world
        boxes = gripper_boxes(self.gripper, grasps.widths_m, self.config.approach_height_m)
        # table: the lowest box corner in world z (only the unswept lower part can go low)
        corners = np.stack(np.meshgrid([0, 1], [0, 1], [0, 1], indexing="ij"), -1).reshape(-1, 3)
        box_c = boxes[:, :, corners, np.arange(3)]                    # (N, 3 boxes, 8, 3)
        world_c = np.einsum("nij,nbkj->nbki", R, box_c) + grasps.centers_m[:, None, None, :]
        hits_table = world_c[..., 2].min(axis=(1, 2)) < self.config.table_clearance_m
        # object: surface points inside any box (points expressed in each grasp frame)
        hits_obj = np.zeros(len(grasps), dtype=bool)
        lo = boxes[:, :, 0] - 1e-9
        hi = boxes[:, :, 1] + 1e-9
        reach = np.linalg.norm(np.abs(boxes).max(axis=2), axis=-1).max(axis=1)   # bounding radius
        for i in range(len(grasps)):
            d = self.points - grasps.centers_m[i]
            near = np.einsum("ij,ij->i", d, d) <= reach[i] ** 2
            local = d[near] @ R[i]                                    # world → grasp frame
            inside = np.all((local[:, None, :] >= lo[i]) & (local[:, None, :] <= hi[i]), axis=2)
            hits_obj[i] = bool(inside.any())
        # a finger wholly inside the object touches no surface point: test the (unswept) box centres
        at_grasp = gripper_boxes(self.gripper, grasps.widths_m, 0.0).mean(axis=2)   # (N, 3, 3)
        centres = (np.einsum("nij,nbj->nbi", R, at_grasp) + grasps.centers_m[:, None, :]).reshape(-1, 3)
        inside_obj = self.mesh.contains(centres).reshape(len(grasps), 3).any(axis=1)
        return hits_table | hits_obj | inside_obj
