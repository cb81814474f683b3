"""Evaluation: the rectangle metric, accuracies with confidence intervals, model evaluation."""
from .rectangle_metric import Accuracy, RectangleMetric, accuracy_with_ci

__all__ = ["Accuracy", "RectangleMetric", "accuracy_with_ci"]
