"""Dataset readers and writers: GQ-CNN tensors (and their arrays), Jacquard-layout scenes,
Cornell; scenes become ``Frame``\\ s for policies and inputs for training."""
from .gqcnn_arrays import GQCNNArrays, load_arrays, load_split, open_tensor_dataset
from .gqcnn_tensors import FIELDS, TensorDataset, write_tensor_dataset
from .jacquard_layout import JacquardGrasp, read_jacquard_grasps, write_jacquard_view

__all__ = ["FIELDS", "TensorDataset", "write_tensor_dataset", "JacquardGrasp", "read_jacquard_grasps",
           "write_jacquard_view", "GQCNNArrays", "load_arrays", "load_split", "open_tensor_dataset"]
