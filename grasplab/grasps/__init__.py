"""Grasp candidates: gripper model, antipodal sampling, collision checks."""
from ..geometry import GraspSet  # re-exported: the grasp batch type lives with the geometry
from .antipodal import AntipodalConfig, sample_antipodal_grasps
from .collision import CollisionChecker, CollisionConfig
from .gripper import GRIPPER_PRESETS, ParallelJawGripper, load_gripper

__all__ = ["AntipodalConfig", "sample_antipodal_grasps", "CollisionChecker", "CollisionConfig", "GraspSet",
           "GRIPPER_PRESETS", "ParallelJawGripper", "load_gripper"]
