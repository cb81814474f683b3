"""The rectangle metric (Cornell / Jacquard) and accuracies with confidence intervals.

A predicted grasp is correct if, for at least one ground-truth rectangle, the angle
difference (mod π) is below 30° and the intersection over union of the two rectangles is
above 0.25. The predicted rectangle's jaw size defaults to half its opening (GG-CNN).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy.stats import norm

from ..geometry import Grasp2D, GraspRectangle, angle_difference_rad


@dataclass(frozen=True)
class RectangleMetric:
    angle_threshold_deg: float = 30.0
    iou_threshold: float = 0.25
    jaw_fraction: float = 0.5        # predicted jaw size = fraction × opening when the grasp has none

    def prediction_rectangle(self, g: Grasp2D) -> GraspRectangle:
        jaw = g.jaw_px if g.jaw_px > 0 else self.jaw_fraction * g.width_px
        return GraspRectangle.from_grasp2d(g, jaw)

    def matches(self, prediction: Grasp2D, ground_truth: Sequence[GraspRectangle]) -> bool:
        rect = self.prediction_rectangle(prediction)
        limit = np.deg2rad(self.angle_threshold_deg)
        for gt in ground_truth:
            if angle_difference_rad(prediction.angle_rad, gt.angle_rad) < limit and rect.iou(gt) > self.iou_threshold:
                return True
        return False

    def top_k_correct(self, ranked: Sequence[Grasp2D], ground_truth: Sequence[GraspRectangle], k: int = 1) -> bool:
        """True if any of the first ``k`` ranked predictions matches (k = 1 is the standard)."""
        return any(self.matches(g, ground_truth) for g in list(ranked)[:k])


@dataclass(frozen=True)
class Accuracy:
    correct: int
    total: int
    low: float
    high: float

    @property
    def value(self) -> float:
        return self.correct / self.total if self.total else float("nan")

    def __str__(self) -> str:
        return f"{100 * self.value:.1f} % ({self.correct}/{self.total}; 95 % CI {100 * self.low:.1f}–{100 * self.high:.1f})"


def accuracy_with_ci(correct: int, total: int, confidence: float = 0.95) -> Accuracy:
    """Accuracy with a Wilson score interval (sensible at small n and near 0 or 1)."""
    if total <= 0:
        return Accuracy(correct, total, float("nan"), float("nan"))
    z = float(norm.ppf(0.5 + confidence / 2))
    p = correct / total
    denom = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denom
    half = z * np.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denom
    low = 0.0 if correct == 0 else max(0.0, centre - half)      # the bounds are exactly 0 / 1 there
    high = 1.0 if correct == total else min(1.0, centre + half)
    return Accuracy(correct, total, low, high)
