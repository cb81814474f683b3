"""Objects coming to rest on the table: settling one object or all, and heaps made by dropping
objects one above another (the clutter of grasp trials and of clutter datasets)."""
from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from ..geometry import RigidTransform
from .world import TIMESTEP_S, SimWorld

SETTLE_MAX_S = 3.0
SETTLE_SPEED_M_S = 2e-3          # at rest: slower than this (and the angular speed below) for 0.1 s
SETTLE_SPIN_RAD_S = 2e-2
DROP_AREA_M = 0.12               # objects fall from above a square this wide around the table origin
HEAP_SETTLE_S = 4.0


def settle(world: SimWorld, index: int | None = 0, max_s: float = SETTLE_MAX_S) -> float:
    """Simulate until the object ``index`` (``None``: every object on the table) rests, or
    ``max_s``; returns the simulated time."""
    calm_needed = int(0.1 / TIMESTEP_S)
    calm, steps = 0, 0
    indices = world.active_objects() if index is None else [index]
    while steps * TIMESTEP_S < max_s:
        world.step(10)
        steps += 10
        speeds = [world.object_speed(i) for i in indices]
        still = all(v < SETTLE_SPEED_M_S and w < SETTLE_SPIN_RAD_S for v, w in speeds)
        calm = calm + 10 if still else 0
        if calm >= calm_needed:
            break
    return steps * TIMESTEP_S



def drop_heap(objects: list, gripper, friction: float, rng: np.random.Generator,
              bin_m: float | None = None, keep_bin_m: float | None = None) -> SimWorld:
    """Drop ``objects`` one above another in random orientations over a small square and let
    them settle into a heap. With ``bin_m`` they fall into a bin of that inner width, which is
    taken away once they rest, and the heap settles again (VGN's piles): dropped freely, a third of
    a ten-object column came to rest beyond 25 cm of the centre; from a 20 cm bin, a thirtieth
    (``tests/test_trials.py``). With ``keep_bin_m`` too, the bin stays, its walls that high."""
    poses, z = [], 0.0
    for obj in objects:
        radius = float(np.linalg.norm(obj.mesh.vertices, axis=1).max())
        z += radius + 0.005
        xy = rng.uniform(-DROP_AREA_M / 2, DROP_AREA_M / 2, 2)
        if bin_m:                                       # start clear of the walls
            xy = np.clip(xy, -max(0.0, bin_m / 2 - radius), max(0.0, bin_m / 2 - radius))
        R = Rotation.random(random_state=np.random.RandomState(int(rng.integers(2 ** 31)))).as_matrix()
        poses.append((obj, RigidTransform(R, (xy[0], xy[1], z), "obj", "world")))
        z += radius
    world = SimWorld.build(poses, gripper, friction, bin_m=bin_m)
    for i in range(len(objects)):                       # colours, so RGB views tell the objects apart
        world.model.geom_rgba[world.object_geoms(i)] = (*rng.uniform(0.1, 0.95, 3), 1.0)
    settle(world, None, HEAP_SETTLE_S)
    if bin_m:
        world.remove_bin() if keep_bin_m is None else world.lower_bin(keep_bin_m)
        settle(world, None, HEAP_SETTLE_S)
    return world
