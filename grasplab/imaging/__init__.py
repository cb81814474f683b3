"""Camera frames and pixels: depth hygiene, file formats, the frame → network-input path, crops."""
from .depth_checks import (PreparedDepth, as_depth_array, depth_to_metres, detect_depth_units,
                           hole_mask, inpaint_depth, prepare_depth_m)
from .frame import Frame, read_frame
from .image_io import read_depth_m, read_depth_raw, read_mask, read_rgb, write_depth_tiff, write_png
from .network_input import NetworkInput, PreprocessConfig, choose_window, frame_window, network_input
from .table_plane import above_table, fit_table_plane
from .bin_walls import across_walls, bin_walls, objects_above_table
from .window import Window, mask_box_center

__all__ = ["PreparedDepth", "as_depth_array", "depth_to_metres", "detect_depth_units", "hole_mask",
           "inpaint_depth", "prepare_depth_m", "Frame", "read_frame", "read_depth_m", "read_depth_raw", "read_mask",
           "read_rgb", "write_depth_tiff", "write_png", "NetworkInput", "PreprocessConfig", "choose_window",
           "frame_window", "network_input", "above_table", "fit_table_plane", "across_walls", "bin_walls", "objects_above_table",
           "Window", "mask_box_center"]
