"""Dataset readers and writers: GQ-CNN tensors, Jacquard-layout scenes."""
from .gqcnn_tensors import FIELDS, TensorDataset, write_tensor_dataset
from .jacquard_layout import JacquardGrasp, read_jacquard_grasps, write_jacquard_view

__all__ = ["FIELDS", "TensorDataset", "write_tensor_dataset", "JacquardGrasp", "read_jacquard_grasps",
           "write_jacquard_view"]
