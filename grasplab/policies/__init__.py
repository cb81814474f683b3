"""Policies: from images to ranked grasps."""
from .map_decoding import MapDecodingConfig, RankedGrasps, decode_grasp_maps, local_maxima

__all__ = ["MapDecodingConfig", "RankedGrasps", "decode_grasp_maps", "local_maxima"]
