"""Grasp candidates: gripper model, antipodal sampling, collision checks."""
from .antipodal import AntipodalConfig, sample_antipodal_grasps
from .collision import CollisionChecker, CollisionConfig
from .grasp_set import GraspSet
from .gripper import GRIPPER_PRESETS, ParallelJawGripper, load_gripper

__all__ = ["AntipodalConfig", "sample_antipodal_grasps", "CollisionChecker", "CollisionConfig", "GraspSet",
           "GRIPPER_PRESETS", "ParallelJawGripper", "load_gripper"]
