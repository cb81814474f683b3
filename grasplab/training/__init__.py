"""Training loops (Lightning), checkpoints and run metadata."""
from .train import TrainConfig, TrainResult, train_grasp_map_model

__all__ = ["TrainConfig", "TrainResult", "train_grasp_map_model"]
