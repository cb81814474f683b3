"""Models (nn.Modules only), behind one registry; saved as JSON config + tensors (no pickle)."""
from .base import MODELS, GraspMapModel, load_map_model, load_model, read_header, register_model
from .crop_quality import CropQualityNet
from .ggcnn import GGCNN, GGCNN2
from .gqcnn import GQCNN
from .grconvnet import GRConvNet
from .latent_grasp import LatentGraspNet

__all__ = ["MODELS", "GraspMapModel", "load_map_model", "load_model", "read_header", "register_model", "GGCNN", "GGCNN2", "GRConvNet", "LatentGraspNet", "CropQualityNet", "GQCNN"]
