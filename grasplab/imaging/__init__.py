"""Depth and image utilities used by every stage that touches pixels."""
from .depth_checks import (PreparedDepth, as_depth_array, depth_to_metres, detect_depth_units,
                           hole_mask, inpaint_depth, prepare_depth_m)
from .image_io import read_depth_m, read_depth_raw, read_mask, read_rgb, write_depth_tiff, write_png

__all__ = ["PreparedDepth", "as_depth_array", "depth_to_metres", "detect_depth_units", "hole_mask",
           "inpaint_depth", "prepare_depth_m", "read_depth_m", "read_depth_raw", "read_mask",
           "read_rgb", "write_depth_tiff", "write_png"]
