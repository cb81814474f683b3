"""Figures of the semi-supervised experiment: autoencoder reconstructions with their training
curves (reconstruction error, codebook perplexity or KL), the label-fraction curve, and
side-by-side quality maps of several grasp networks on out-of-distribution frames."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from .figures import _save, draw_grasp_rectangles, finish_figure, finish_panels, plt

METHOD_LABELS = {"ggcnn": "GG-CNN (labels only)", "vqvae": "VQ-VAE latents", "vae-flow": "flow-VAE latents",
                 "joint": "joint VQ-VAE", "pseudo": "pseudo-labels (teacher–student)",
                 "consistency": "symmetry consistency"}


def _channels_as_images(x: np.ndarray) -> list[tuple[str, np.ndarray, dict]]:
    """(title, image, imshow kwargs) for a (C, H, W) network input: depth and/or RGB."""
    out = []
    if x.shape[0] in (1, 4):
        out.append(("depth", x[0], dict(cmap="viridis")))
    if x.shape[0] >= 3:
        rgb = np.moveaxis(x[-3:], 0, -1)
        out.append(("rgb", np.clip((rgb - rgb.min()) / max(float(np.ptp(rgb)), 1e-9), 0, 1), {}))
    return out


def save_autoencoder_figure(ae, x, log: Sequence[dict], path: str | Path, title: str = "") -> Path:
    """Rows: a few training images and their reconstructions (each channel group), then the
    per-epoch reconstruction error and perplexity (VQ) or KL (flow) curves."""
    import torch
    with torch.no_grad():
        z, _, _ = ae.encode(x, sample=False)
        recon = ae.decoder(z)
        target = ae.encoder.standardise(x)
    target, recon = target.cpu().numpy(), recon.cpu().numpy()
    groups = len(_channels_as_images(target[0]))
    n = len(target)
    fig, axes = plt.subplots(2 * groups + 1, n, figsize=(2.4 * n, 2.4 * (2 * groups + 1)), dpi=80, squeeze=False)
    for i in range(n):
        for g, ((lab, img, kw), (_, rec, _)) in enumerate(zip(_channels_as_images(target[i]),
                                                             _channels_as_images(recon[i]))):
            if lab == "depth":      # same colour scale for input and reconstruction
                kw = dict(kw, vmin=float(img.min()), vmax=float(img.max()))
            axes[2 * g, i].imshow(img, **kw)
            axes[2 * g, i].set_title(f"{lab} in", fontsize=8)
            axes[2 * g + 1, i].imshow(np.clip(rec, 0, 1) if lab == "rgb" else rec, **kw)
            axes[2 * g + 1, i].set_title(f"{lab} reconstructed", fontsize=8)
    for ax in axes[:-1].ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes[-1, 2:]:
        ax.axis("off")
    epochs = [r["epoch"] + 1 for r in log]
    axes[-1, 0].plot(epochs, [r["reconstruction"] for r in log], "o-", ms=3)
    axes[-1, 0].set_xlabel("epoch", fontsize=8)
    axes[-1, 0].set_title("reconstruction MSE (standardised)", fontsize=8)
    key = "perplexity" if log and "perplexity" in log[0] else "kl"
    if n > 1:
        axes[-1, 1].plot(epochs, [r[key] for r in log], "o-", ms=3, color="C1")
        axes[-1, 1].set_xlabel("epoch", fontsize=8)
        axes[-1, 1].set_title("codebook perplexity" if key == "perplexity" else "KL per image", fontsize=8)
    return finish_figure(fig, path, title)


def save_fraction_curve(summary: Sequence[dict], path: str | Path, title: str = "") -> Path:
    """Top-1 accuracy against the labelled fraction, one line per method, ± one std over seeds."""
    fig, ax = plt.subplots(figsize=(6, 4), dpi=90)
    for m in dict.fromkeys(s["method"] for s in summary):
        rows = sorted((s for s in summary if s["method"] == m), key=lambda s: s["labelled_fraction"])
        f = np.array([s["labelled_fraction"] for s in rows])
        mean = np.array([s["top1_mean"] for s in rows])
        std = np.array([s["top1_std"] for s in rows])
        ax.plot(f, mean, "o-", label=METHOD_LABELS.get(m, m))
        ax.fill_between(f, mean - std, mean + std, alpha=0.2)
    ax.set_xscale("log")
    ax.set_xticks(sorted({s["labelled_fraction"] for s in summary}))
    ax.set_xticklabels([f"{v:g}" for v in sorted({s["labelled_fraction"] for s in summary})])
    ax.set_xlabel("fraction of training images labelled")
    ax.set_ylabel("top-1 rectangle accuracy")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return _save(fig, path)


def save_quality_map_comparison(panels: Sequence[dict], path: str | Path, title: str = "") -> Path:
    """One row per frame: the network's input (RGB and depth crops), then each method's
    quality map with its top grasp. ``panels``: dicts with ``title``, ``input`` (C, H, W) and
    ``maps``: ``[(method, quality (H, W), top Grasp2D or None)]``."""
    n_methods = len(panels[0]["maps"])
    n_in = len(_channels_as_images(panels[0]["input"]))
    cols = n_in + n_methods
    fig, axes = plt.subplots(len(panels), cols, figsize=(2.6 * cols, 2.7 * len(panels)), dpi=80, squeeze=False)
    for row, p in zip(axes, panels):
        for ax, (lab, img, kw) in zip(row, _channels_as_images(p["input"])):
            ax.imshow(img, **kw)
            ax.set_title(f"{p['title']}\n{lab}", fontsize=7)
        for ax, (m, q, top) in zip(row[n_in:], p["maps"]):
            ax.imshow(q, cmap="jet", vmin=0, vmax=1)
            if top is not None:
                draw_grasp_rectangles(ax, [top], "white", 1.2)
            ax.set_title(f"{METHOD_LABELS.get(m, m)}\nmax Q {float(q.max()):.2f}", fontsize=7)
    return finish_panels(fig, axes, path, title)
