"""A GQ-CNN's validation at a glance: precision-recall and ROC curves, the score histogram of
each class, and the crops it was most confidently wrong about."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..viz.figures import finish_figure, plt
from .classification import precision_recall_curve, roc_curve


def save_gqcnn_report(prob: np.ndarray, arrays, path: str | Path, title: str = "", examples: int = 6) -> Path:
    """``prob``: predicted success probabilities; ``arrays``: a ``GQCNNArrays`` (crops, labels)."""
    y = arrays.label.astype(bool)
    fig = plt.figure(figsize=(12, 7.6), dpi=90)
    grid = fig.add_gridspec(3, 2 * examples, height_ratios=(1.3, 1.3, 1.0))
    third = (2 * examples) // 3
    ax_pr = fig.add_subplot(grid[0:2, 0:third])
    ax_roc = fig.add_subplot(grid[0:2, third:2 * third])
    ax_hist = fig.add_subplot(grid[0:2, 2 * third:])
    if y.any():
        p, r, _ = precision_recall_curve(prob, y)
        ax_pr.plot(np.r_[0.0, r], np.r_[1.0, p], lw=1.5)
    ax_pr.axhline(y.mean(), color="grey", lw=0.8, ls="--", label=f"chance ({y.mean():.1%} positive)")
    ax_pr.set(xlabel="recall", ylabel="precision", xlim=(0, 1), ylim=(0, 1.02), title="precision-recall")
    ax_pr.legend(fontsize=8, loc="lower left")
    if y.any() and (~y).any():
        fpr, tpr = roc_curve(prob, y)
        ax_roc.plot(fpr, tpr, lw=1.5)
    ax_roc.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--")
    ax_roc.set(xlabel="false-positive rate", ylabel="true-positive rate", xlim=(0, 1), ylim=(0, 1.02), title="ROC")
    bins = np.linspace(0, 1, 26)
    ax_hist.hist(prob[~y], bins=bins, alpha=0.6, label="negative", density=True)
    ax_hist.hist(prob[y], bins=bins, alpha=0.6, label="positive", density=True)
    ax_hist.set(xlabel="predicted success probability", ylabel="density", title="scores by label")
    ax_hist.legend(fontsize=8)
    worst_fp = np.argsort(-np.where(~y, prob, -1.0))[:examples]
    worst_fn = np.argsort(np.where(y, prob, 2.0))[:examples]
    picks = [(i, "false positive") for i in worst_fp if not y[i]] + [(i, "false negative") for i in worst_fn if y[i]]
    for k, (i, what) in enumerate(picks[:2 * examples]):
        ax = fig.add_subplot(grid[2, k])
        ax.imshow(arrays.crops_m[i, 0], cmap="viridis")
        ax.axhline((arrays.crops_m.shape[-1] - 1) / 2, color="w", lw=0.6)      # the grasp axis
        ax.set_title(f"{what}\np={prob[i]:.2f}", fontsize=7)
        ax.set_xticks([])
        ax.set_yticks([])
    return finish_figure(fig, path, title)
