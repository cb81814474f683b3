"""Binary classification metrics for grasp-quality classifiers (GQ-CNN): accuracy, precision,
recall, average precision, ROC AUC and the curves behind them, from scores and 0/1 labels."""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ..errors import GrasplabError


@dataclass(frozen=True)
class ClassificationReport:
    n: int
    positives: int
    decision_threshold: float       # probability at or above which a grasp is predicted to succeed
    accuracy: float
    precision: float            # nan when nothing is predicted positive
    recall: float               # nan when there is no positive
    average_precision: float    # area under the precision-recall curve (step-wise, as sklearn)
    roc_auc: float              # probability that a random positive outscores a random negative

    def to_dict(self) -> dict:
        return asdict(self)


def _check(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    y = np.asarray(labels).reshape(-1)
    if s.shape != y.shape:
        raise GrasplabError(f"{s.size} scores for {y.size} labels: give one score per label")
    if s.size == 0:
        raise GrasplabError("no datapoints to evaluate")
    if not np.all(np.isfinite(s)):
        raise GrasplabError("scores contain NaN or infinite values")
    if not np.all((y == 0) | (y == 1)):
        raise GrasplabError("labels must be 0 or 1")
    return s, y.astype(bool)


def precision_recall_curve(scores, labels) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(precision, recall, thresholds), one point per distinct score from the highest down."""
    s, y = _check(scores, labels)
    order = np.argsort(-s, kind="stable")
    s, y = s[order], y[order]
    last = np.r_[np.flatnonzero(np.diff(s)), s.size - 1]          # the last index of each distinct score
    tp = np.cumsum(y)[last]
    fp = (last + 1) - tp
    precision = tp / (tp + fp)
    recall = tp / max(int(y.sum()), 1)
    return precision, recall, s[last]


def roc_curve(scores, labels) -> tuple[np.ndarray, np.ndarray]:
    """(false-positive rate, true-positive rate) from (0, 0) to (1, 1)."""
    s, y = _check(scores, labels)
    order = np.argsort(-s, kind="stable")
    s, y = s[order], y[order]
    last = np.r_[np.flatnonzero(np.diff(s)), s.size - 1]
    tp = np.cumsum(y)[last]
    fp = (last + 1) - tp
    return np.r_[0.0, fp / max(int((~y).sum()), 1)], np.r_[0.0, tp / max(int(y.sum()), 1)]


def classification_report(scores, labels, threshold: float = 0.5) -> ClassificationReport:
    """Metrics of ``scores`` (probabilities) against 0/1 ``labels``; ``threshold`` decides a
    positive prediction for accuracy, precision and recall."""
    s, y = _check(scores, labels)
    pred = s >= threshold
    tp, fp = int(np.sum(pred & y)), int(np.sum(pred & ~y))
    npos, nneg = int(y.sum()), int((~y).sum())
    precision, recall, _ = precision_recall_curve(s, y)
    ap = float(np.sum(np.diff(np.r_[0.0, recall]) * precision)) if npos else float("nan")
    if npos and nneg:
        fpr, tpr = roc_curve(s, y)
        auc = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2.0))   # trapezoids
    else:
        auc = float("nan")
    return ClassificationReport(
        n=int(s.size), positives=npos, decision_threshold=float(threshold),
        accuracy=float(np.mean(pred == y)),
        precision=tp / (tp + fp) if tp + fp else float("nan"),
        recall=tp / npos if npos else float("nan"),
        average_precision=ap, roc_auc=auc)
