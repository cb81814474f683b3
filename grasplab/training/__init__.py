"""Training loops (Lightning), checkpoints and run metadata."""
from .rerank_train import RerankTrainConfig, train_reranker
from .train import TrainConfig, TrainResult, train_grasp_map_model

__all__ = ["TrainConfig", "TrainResult", "train_grasp_map_model", "RerankTrainConfig", "train_reranker"]
