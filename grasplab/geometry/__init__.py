"""Geometry shared by every stage: frames, cameras, grasps (units in every name)."""
from .grasp_set import GraspSet
from .grasps import Grasp2D, Grasp3D, angle_difference_rad, angle_from_double_rad, segment_angle_rad, wrap_angle_rad
from .intrinsics import PRIMESENSE, CameraIntrinsics
from .rectangles import GraspRectangle, convex_intersection, convex_iou, polygon_area
from .transforms import RigidTransform

__all__ = ["CameraIntrinsics", "PRIMESENSE", "RigidTransform", "Grasp2D", "Grasp3D", "GraspSet",
           "wrap_angle_rad", "angle_difference_rad", "angle_from_double_rad", "segment_angle_rad", "GraspRectangle", "convex_intersection",
           "convex_iou", "polygon_area"]
