"""Policies: from a camera ``Frame`` to ranked grasps, every method behind ``GraspPolicy``."""
from .base import Candidates, GraspPolicy, PlannedGrasp

# the built-in policies: importing their modules registers them
from .auto import AutoPolicy
from .clearance import ClearanceConfig, ClearancePolicy, with_clearance
from .fallback import FallbackPolicy
from .fc_gqcnn_policy import FCGQCNNPolicy
from .gqcnn_policy import GQCNNPolicy
from .grasp_map_policy import GraspMapPolicy, load_detector
from .map_decoding import MapDecodingConfig, RankedGrasps, decode_grasp_maps, local_maxima
from .random_antipodal import RandomAntipodalPolicy
from .registry import POLICIES, load_policy, policy_from_spec, policy_names, policy_options, register_policy
from .reranking import CropReranker, RerankConfig, load_reranker

__all__ = ["Candidates", "GraspPolicy", "PlannedGrasp", "AutoPolicy", "ClearanceConfig", "ClearancePolicy", "with_clearance",
           "FallbackPolicy", "FCGQCNNPolicy", "GQCNNPolicy", "GraspMapPolicy", "RandomAntipodalPolicy", "load_detector", "MapDecodingConfig",
           "RankedGrasps", "decode_grasp_maps", "local_maxima", "POLICIES", "load_policy", "policy_from_spec", "policy_names",
           "policy_options", "register_policy", "CropReranker", "RerankConfig", "load_reranker"]
