"""Policies: from images to ranked grasps."""
from .detector import DetectedGrasp, GraspMapDetector, load_detector
from .map_decoding import MapDecodingConfig, RankedGrasps, decode_grasp_maps, local_maxima
from .reranking import CropReranker, RerankConfig, load_reranker

__all__ = ["DetectedGrasp", "GraspMapDetector", "load_detector", "MapDecodingConfig", "RankedGrasps",
           "decode_grasp_maps", "local_maxima", "CropReranker", "RerankConfig", "load_reranker"]
