"""The MuJoCo world shared by dataset synthesis and grasp trials: a table, objects as their convex
parts, a parallel-jaw gripper; settling objects and dropping heaps by physics."""
from .heaps import DROP_AREA_M, HEAP_SETTLE_S, drop_heap, settle
from .world import TIMESTEP_S, SimWorld

__all__ = ["DROP_AREA_M", "HEAP_SETTLE_S", "SimWorld", "TIMESTEP_S", "drop_heap", "settle"]
