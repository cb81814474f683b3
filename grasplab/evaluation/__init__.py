"""Evaluation: the rectangle metric, accuracies with confidence intervals, the one loop that
scores any policy on labelled scenes, and classification metrics for crop classifiers."""
from .evaluate_policy import EvaluationReport, evaluate_policy, miss_kind
from .rectangle_metric import Accuracy, RectangleMetric, accuracy_with_ci

__all__ = ["Accuracy", "RectangleMetric", "accuracy_with_ci", "EvaluationReport", "evaluate_policy", "miss_kind"]
