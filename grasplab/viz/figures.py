"""Figures people look at: contact sheets of renders and grids of objects."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..storage import atomic_write  # noqa: E402


def _axes_grid(n: int, cols: int, cell_w: float, cell_h: float):
    """A figure with ``n`` cells in rows of ``cols``, every axis hidden until used."""
    cols = min(cols, n)
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(cell_w * cols, cell_h * rows), dpi=90, squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    return fig, axes.ravel()


def _save(fig, path: str | Path) -> Path:
    out = atomic_write(path, lambda p: fig.savefig(p, format="png", dpi=fig.dpi, bbox_inches="tight"))
    plt.close(fig)
    return out


def finish_figure(fig, path: str | Path, title: str = "") -> Path:
    """Add the title, lay out and save (atomically)."""
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def finish_panels(fig, axes, path: str | Path, title: str = "") -> Path:
    """Hide the ticks of image panels, add the title, lay out and save."""
    for ax in np.ravel(axes):
        ax.set_xticks([])
        ax.set_yticks([])
    return finish_figure(fig, path, title)


def depth_picture(depth_m: np.ndarray) -> np.ndarray:
    """An H×W×3 uint8 grey picture of a depth image (1st–99th percentile of the valid pixels)."""
    d = np.asarray(depth_m, dtype=np.float64)
    valid = d[np.isfinite(d) & (d > 0)]
    lo, hi = (np.percentile(valid, 1), np.percentile(valid, 99)) if valid.size else (0.0, 1.0)
    v = np.clip((np.nan_to_num(d) - lo) / max(hi - lo, 1e-9), 0, 1)
    return (np.repeat(v[..., None], 3, axis=2) * 255).astype(np.uint8)


def frame_picture(frame) -> np.ndarray:
    """What to draw grasps on: a frame's colour image, else its depth in grey."""
    return frame.rgb if frame.rgb is not None else depth_picture(frame.depth_m)


def object_crop(mask: np.ndarray | None, shape: tuple[int, int], margin: float = 1.5,
                min_size_px: int = 128) -> tuple[slice, slice]:
    """A square window around the mask's bounding box (the whole image when there is no mask)."""
    from ..imaging import mask_box_center
    h, w = shape
    if mask is None or not mask.any():
        return slice(0, h), slice(0, w)
    rows, cols = np.nonzero(mask)
    cy, cx = (c - 0.5 for c in mask_box_center(mask))          # in pixel-centre coordinates
    side = int(min(max(margin * max(np.ptp(rows), np.ptp(cols)), min_size_px), h, w))
    top = int(np.clip(round(cy - side / 2), 0, h - side))
    left = int(np.clip(round(cx - side / 2), 0, w - side))
    return slice(top, top + side), slice(left, left + side)


def save_contact_sheet(rows: Sequence[dict], path: str | Path, title: str = "", crop: bool = True) -> Path:
    """One row per view: RGB, depth (metres, colour bar) and mask, cropped around the object.

    Each row is a dict with ``title``, ``rgb`` (H×W×3 uint8 or None), ``depth_m``, ``mask``.
    """
    n = len(rows)
    if n == 0:
        raise ValueError("a contact sheet needs at least one view")
    fig, axes = plt.subplots(n, 3, figsize=(9.6, 2.7 * n), dpi=90, squeeze=False)
    for r, row in enumerate(rows):
        depth = np.asarray(row["depth_m"], dtype=np.float32)
        win = object_crop(row.get("mask"), depth.shape) if crop else (slice(None), slice(None))
        depth = depth[win]
        row = {**row, "rgb": None if row.get("rgb") is None else row["rgb"][win],
               "mask": None if row.get("mask") is None else row["mask"][win]}
        valid = depth[depth > 0]
        vmin, vmax = (np.percentile(valid, 1), np.percentile(valid, 99.5)) if valid.size else (0, 1)
        panels = [("RGB", row.get("rgb")), ("depth [m]", depth), ("mask", row.get("mask"))]
        for c, (label, img) in enumerate(panels):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            if img is None:
                ax.set_facecolor("0.9")
                continue
            if c == 1:
                im = ax.imshow(np.where(depth > 0, depth, np.nan), cmap="viridis", vmin=vmin, vmax=vmax)
                fig.colorbar(im, ax=ax, fraction=0.046, pad=0.02)
            elif c == 2:
                ax.imshow(img, cmap="gray", vmin=0, vmax=1)
            else:
                ax.imshow(img)
            ax.set_title(f"{row['title']} — {label}" if c == 0 else label, fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.3 / n))
    return _save(fig, path)


def save_image_grid(images: Sequence[tuple[str, np.ndarray]], path: str | Path, cols: int = 4,
                    title: str = "") -> Path:
    """A grid of titled RGB images (e.g. one per generated object)."""
    if not images:
        raise ValueError("an image grid needs at least one image")
    fig, axes = _axes_grid(len(images), cols, 3.0, 3.1)
    for ax, (label, img) in zip(axes, images):
        ax.imshow(img)
        ax.set_title(label, fontsize=8)
    return finish_figure(fig, path, title)


def draw_grasp_rectangles(ax, grasps, color: str, linewidth: float = 1.2) -> None:
    """Outline grasps (``Grasp2D``) on a matplotlib axis: the opening edges thicker than the jaws."""
    from matplotlib.patches import Polygon
    for g in grasps:
        corners = g.corners_xy_px(max(g.jaw_px, 2.0))
        ax.add_patch(Polygon(corners, closed=True, fill=False, edgecolor=color, linewidth=linewidth * 0.6))
        ax.plot(*corners[[1, 2]].T, color=color, linewidth=linewidth * 1.8)   # jaw 2
        ax.plot(*corners[[3, 0]].T, color=color, linewidth=linewidth * 1.8)   # jaw 1


#: One colour convention in every figure: labelled positives green, labelled negatives red, the
#: grasps a policy returned blue (the best thick, the others thin).
LABEL_POSITIVE, LABEL_NEGATIVE, PREDICTED = "lime", "red", "deepskyblue"


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def save_grasp_scenes(scenes: Sequence[dict], path: str | Path, title: str = "", cols: int = 3,
                      full_frame: bool = False) -> Path:
    """Scenes with grasps: each dict has ``title``, ``image`` (RGB), ``mask`` (optional, for the
    crop), ``positives`` and ``negatives`` (labelled grasps, Grasp2D), optionally ``predicted``
    (the policy's best, thick blue), ``predicted_others`` (its next grasps, thin blue) and
    ``legend`` (the line under the title; by default the counts of labelled grasps).
    ``full_frame``: show whole frames at their own resolution (up to 1600 px wide) instead of
    crops around the mask."""
    if not scenes:
        raise ValueError("no scenes to draw")
    if full_frame:
        h, w = scenes[0]["image"].shape[:2]
        width_in = min(max(w, 400), 1600) / 90
        fig, axes = _axes_grid(len(scenes), cols, width_in, width_in * h / w + 0.5)
    else:
        fig, axes = _axes_grid(len(scenes), cols, 4.0, 4.2)
    for ax, sc in zip(axes, scenes):
        img = sc["image"]
        ys, xs = (slice(0, img.shape[0]), slice(0, img.shape[1])) if full_frame else \
            object_crop(sc.get("mask"), img.shape[:2], margin=2.2, min_size_px=160)
        ax.imshow(img)
        draw_grasp_rectangles(ax, sc.get("negatives", []), LABEL_NEGATIVE, 0.8)
        draw_grasp_rectangles(ax, sc["positives"], LABEL_POSITIVE, 1.2)
        draw_grasp_rectangles(ax, sc.get("predicted_others", []), PREDICTED, 0.9)
        draw_grasp_rectangles(ax, sc.get("predicted", []), PREDICTED, 2.0)
        ax.set_xlim(xs.start, xs.stop)
        ax.set_ylim(ys.stop, ys.start)
        counts = f"{len(sc['positives'])} positive (green)"
        counts += f", {len(sc['negatives'])} negative (red)" if "negatives" in sc else ", prediction (blue)"
        ax.set_title(f"{sc['title']}\n{sc.get('legend', counts)}", fontsize=8)
    return finish_figure(fig, path, title)


def save_prediction_figure(panels: Sequence[dict], path: str | Path, title: str = "") -> Path:
    """Per scene: input with ground truth (green) and top prediction (red), quality, angle, width maps."""
    from matplotlib.patches import Polygon

    from ..geometry import angle_from_double_rad
    n = len(panels)
    fig, axes = plt.subplots(n, 4, figsize=(12, 3.1 * n), dpi=80, squeeze=False)
    for row, p in zip(axes, panels):
        q, c, s, w = p["maps"]
        row[0].imshow(p["input"], cmap="gray")
        for r in p["truth"]:
            row[0].add_patch(Polygon(r.corners_xy_px, closed=True, fill=False, edgecolor="lime", linewidth=0.8))
        for r in p["predicted"]:
            row[0].add_patch(Polygon(r.corners_xy_px, closed=True, fill=False, edgecolor="red", linewidth=1.6))
        row[0].set_title(p["title"], fontsize=8)
        for ax, img, lab, kw in ((row[1], q, "quality", dict(cmap="jet", vmin=0, vmax=1)),
                                 (row[2], angle_from_double_rad(c, s), "angle [rad]", dict(cmap="hsv", vmin=-np.pi / 2, vmax=np.pi / 2)),
                                 (row[3], w * 150, "width [px]", dict(cmap="jet", vmin=0, vmax=150))):
            im = ax.imshow(img, **kw)
            ax.set_title(lab, fontsize=8)
            fig.colorbar(im, ax=ax, fraction=0.046, pad=0.02)
    return finish_panels(fig, axes, path, title)
