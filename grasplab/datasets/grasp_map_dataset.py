"""Torch datasets for per-pixel grasp networks (GG-CNN family), without label leaks.

The crop window is chosen from the image alone — the whole image resized, a fixed centre
crop, or a square around the object mask — never from the ground-truth grasps (the GG-CNN
reference code centres its evaluation crop on the labels). Depth is inpainted, its mean
subtracted and clipped to [−1, 1]; RGB is scaled to [0, 1] minus its mean. Augmentation
(rotations by multiples of 90°, zoom, flips) is for training sets only and moves the
rectangles with the image.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol, Sequence

import numpy as np
import scipy.ndimage as ndi

from ..errors import ConfigError, GrasplabError
from ..geometry import GraspRectangle
from ..imaging import inpaint_depth, hole_mask
from .ggcnn_targets import binned_grasp_maps, grasp_maps

Inputs = Literal["depth", "rgb", "rgbd"]
CropMode = Literal["resize", "center", "mask", "object"]
DepthReference = Literal["mean", "table"]


class GraspScene(Protocol):
    """What a dataset needs from a scene (Jacquard, grasplab's scenes, Cornell)."""

    def depth_m(self) -> np.ndarray: ...
    def rgb(self) -> np.ndarray: ...
    def mask(self) -> np.ndarray: ...
    def rectangles(self) -> list[GraspRectangle]: ...


@dataclass(frozen=True)
class PreprocessConfig:
    inputs: Inputs = "depth"
    output_px: int = 300
    crop: CropMode = "center"
    center_crop_fraction: float = 1.0     # 'center': side of the centred square / shorter image side
    mask_margin: float = 1.6              # 'mask': square side = margin × the mask's larger extent
    object_fraction: float = 0.5          # 'object': side = fraction × shorter image side, centred on the mask
    depth_reference: DepthReference = "mean"   # subtract the mean (GG-CNN) or a fitted table plane
    augment: bool = False
    zoom_range: tuple[float, float] = (0.5, 1.0)

    _SAVED = ("inputs", "output_px", "crop", "center_crop_fraction", "mask_margin", "object_fraction",
              "depth_reference")

    def to_metadata(self) -> dict:
        """What a model file records so it is used the way it was trained."""
        return {k: getattr(self, k) for k in self._SAVED}

    @classmethod
    def from_metadata(cls, pre: dict) -> "PreprocessConfig":
        """The inference settings from a model's ``preprocess`` metadata (older files: defaults)."""
        known = {k: pre[k] for k in cls._SAVED if k in pre}
        if "output_px" in known:
            known["output_px"] = int(known["output_px"])
        return cls(**known)


@dataclass
class Window:
    """A square crop: ``top``, ``left`` and ``side`` in source pixels, output ``out`` pixels."""

    top: float
    left: float
    side: float
    out: int

    @property
    def scale(self) -> float:
        return self.out / self.side

    def map_points(self, xy: np.ndarray) -> np.ndarray:
        """Source (x, y) pixel coordinates → output coordinates (pixel-centre convention)."""
        p = np.asarray(xy, dtype=np.float64)
        return (p - [self.left, self.top] + 0.5) * self.scale - 0.5

    def sample(self, image: np.ndarray, order: int = 1, antialias: bool = True) -> np.ndarray:
        """Resample ``image`` (H×W or H×W×C) into the out×out window (edges repeat)."""
        t, left = int(round(self.top)), int(round(self.left))
        if (self.side == self.out and t == self.top and left == self.left and t >= 0 and left >= 0
                and t + self.out <= image.shape[0] and left + self.out <= image.shape[1]):
            return np.array(image[t:t + self.out, left:left + self.out], dtype=np.float64)   # exact crop: no resampling
        if self.scale < 1.0 and order > 0 and antialias:
            # shrinking: low-pass first so noise and edges do not alias (skimage.transform.resize's
            # anti-aliasing σ); only the window's part of the image is filtered
            sigma = (1.0 / self.scale - 1.0) / 2.0
            pad = int(4 * sigma + 2)
            r0, c0 = max(int(np.floor(self.top)) - pad, 0), max(int(np.floor(self.left)) - pad, 0)
            r1 = min(int(np.ceil(self.top + self.side)) + pad, image.shape[0])
            c1 = min(int(np.ceil(self.left + self.side)) + pad, image.shape[1])
            part = np.asarray(image[r0:r1, c0:c1], dtype=np.float64)
            part = ndi.gaussian_filter(part, (sigma, sigma) + (0,) * (part.ndim - 2), mode="nearest")
            return Window(self.top - r0, self.left - c0, self.side, self.out).sample(part, order, antialias=False)
        o = (np.arange(self.out) + 0.5) / self.scale - 0.5
        rows, cols = np.meshgrid(self.top + o, self.left + o, indexing="ij")
        if image.ndim == 2:
            return ndi.map_coordinates(image, [rows, cols], order=order, mode="nearest")
        return np.stack([ndi.map_coordinates(image[..., k], [rows, cols], order=order, mode="nearest")
                         for k in range(image.shape[2])], axis=-1)


def choose_window(shape: tuple[int, int], cfg: PreprocessConfig, mask: np.ndarray | None = None) -> Window:
    """The crop window from the image (and its mask) only — never from the labels."""
    h, w = shape
    if cfg.crop == "resize":
        side = min(h, w)
    elif cfg.crop == "center":
        side = cfg.center_crop_fraction * min(h, w)
    elif cfg.crop == "object":
        # a fixed fraction of the view (so a fixed scale for a given camera), centred on the
        # object; without a mask, centred on the image
        side = cfg.object_fraction * min(h, w)
        if mask is None or not mask.any():
            return Window((h - side) / 2, (w - side) / 2, side, cfg.output_px)
        rows, cols = np.nonzero(mask)
        cy, cx = (rows.min() + rows.max()) / 2 + 0.5, (cols.min() + cols.max()) / 2 + 0.5
        return Window(float(np.clip(cy - side / 2, 0, h - side)), float(np.clip(cx - side / 2, 0, w - side)),
                      side, cfg.output_px)
    elif cfg.crop == "mask":
        if mask is None or not mask.any():
            raise GrasplabError("crop 'mask' needs a non-empty object mask; use crop 'center' or 'resize'")
        rows, cols = np.nonzero(mask)
        side = min(max(cfg.mask_margin * max(np.ptp(rows), np.ptp(cols)), 32.0), min(h, w))
        cy, cx = (rows.min() + rows.max()) / 2 + 0.5, (cols.min() + cols.max()) / 2 + 0.5
        top = float(np.clip(cy - side / 2, 0, h - side))
        left = float(np.clip(cx - side / 2, 0, w - side))
        return Window(top, left, side, cfg.output_px)
    else:
        raise ConfigError(f"unknown crop {cfg.crop!r}; use resize, center, mask or object")
    return Window((h - side) / 2, (w - side) / 2, side, cfg.output_px)


def normalise_depth(depth_m: np.ndarray, reference: DepthReference = "mean", holes_filled: bool = False) -> np.ndarray:
    """Inpaint holes (nearest valid depth), subtract a reference, clip to [−1, 1].

    ``mean``: the image mean (GG-CNN). ``table``: a plane fitted robustly to the image (the
    table dominates it), so the input is the depth relative to the supporting surface — the
    same for any camera distance and tilt. ``holes_filled``: the caller already inpainted
    (the detector's hot path), so the hole search is skipped.
    """
    d = np.asarray(depth_m, dtype=np.float64)
    if not holes_filled:
        if hole_mask(d).all():
            raise GrasplabError("depth image has no valid pixels")
        d = inpaint_depth(d, method="nearest")
    if reference == "table":
        return np.clip(d - fit_table_plane(d), -1.0, 1.0)
    if reference != "mean":
        raise ConfigError(f"unknown depth reference {reference!r}; use mean or table")
    return np.clip(d - d.mean(), -1.0, 1.0)


def fit_table_plane(depth_m: np.ndarray, iterations: int = 4, samples: int = 2500) -> np.ndarray:
    """The depth of the dominant plane (the table) at every pixel: least squares on a grid of
    pixels, refitted on the inliers (within 2.5 robust σ, at least 3 mm) each round, so objects
    standing on the table do not pull it."""
    h, w = depth_m.shape
    step = max(1, int(np.sqrt(h * w / samples)))
    sub = np.asarray(depth_m[::step, ::step], dtype=np.float64)
    z = sub.ravel()
    At = np.empty((3, z.size))                            # rows: x / w, y / h, 1
    At[0] = np.tile(np.arange(0, w, step) / w, sub.shape[0])
    At[1] = np.repeat(np.arange(0, h, step) / h, sub.shape[1])
    At[2] = 1.0
    keep = np.ones(z.size, bool)
    coef = np.array([0.0, 0.0, float(np.median(z))])
    for _ in range(iterations):
        if keep.sum() < 3:
            break
        wt = At * keep                        # the inliers' columns, without copying them out
        try:                                  # 3 unknowns on normalised coordinates: the normal equations are well posed
            coef = np.linalg.solve(wt @ At.T, wt @ z)
        except np.linalg.LinAlgError:         # inliers on one line: keep the previous plane
            break
        res = z - coef @ At
        inliers = res[keep]
        centre = _median(inliers)                     # the table's offset: it is most of the pixels
        sigma = 1.4826 * _median(np.abs(inliers - centre))
        keep = np.abs(res - centre) < max(2.5 * sigma, 0.003)
    return (coef[1] * np.arange(h) / h + coef[2])[:, None] + (coef[0] * np.arange(w) / w)[None, :]


def _median(a: np.ndarray) -> float:
    """``np.median`` of a 1-D float array (the same number) by one partition, without its
    generic machinery, which dominates at the table fit's ~2,500 samples."""
    n = a.size
    k = n // 2
    if n % 2:
        return float(np.partition(a, k)[k])
    p = np.partition(a, (k - 1, k))
    return float((p[k - 1] + p[k]) / 2)


def normalise_rgb(rgb: np.ndarray) -> np.ndarray:
    x = np.asarray(rgb, dtype=np.float64) / 255.0
    return x - x.mean()


def _augment(x: np.ndarray, rects: list[np.ndarray], rng: np.random.Generator,
             zoom_range: tuple[float, float]) -> tuple[np.ndarray, list[np.ndarray]]:
    """Rotate by k·90°, zoom about the centre, flip; x is (C, S, S), rectangles (4, 2) in (x, y)."""
    s = x.shape[-1]
    c = (s - 1) / 2.0
    k = int(rng.integers(4))
    x = np.rot90(x, k, axes=(1, 2))             # counter-clockwise on screen
    for _ in range(k):                           # (x, y) → (y, s−1−x) for one CCW quarter turn
        rects = [np.c_[r[:, 1], (s - 1) - r[:, 0]] for r in rects]
    z = float(rng.uniform(*zoom_range))
    if z < 1.0:
        win = Window(c + 0.5 - z * s / 2, c + 0.5 - z * s / 2, z * s, s)
        x = np.stack([win.sample(ch) for ch in x])
        rects = [win.map_points(r) for r in rects]
    if rng.random() < 0.5:
        x = x[:, :, ::-1]
        rects = [np.c_[(s - 1) - r[:, 0], r[:, 1]] for r in rects]
    return np.ascontiguousarray(x), rects


class GraspMapDataset:
    """(input, target maps) pairs for a list of scenes; a torch ``Dataset`` by duck typing."""

    def __init__(self, scenes: Sequence[GraspScene], config: PreprocessConfig = PreprocessConfig(), seed: int = 0,
                 cache_inputs: bool = False, angle_bins: int = 0):
        """``cache_inputs`` keeps each unaugmented input once computed (for repeated evaluation);
        ``angle_bins`` > 0 gives targets for a binned head (``binned_grasp_maps``)."""
        if config.inputs not in ("depth", "rgb", "rgbd"):
            raise ConfigError(f"unknown inputs {config.inputs!r}; use depth, rgb or rgbd")
        self._input_cache: dict[int, np.ndarray] | None = {} if cache_inputs else None
        self.scenes = list(scenes)
        self.config = config
        self.seed = seed
        self.angle_bins = int(angle_bins)
        self.epoch = 0                               # set by the trainer: new augmentations each epoch

    def __len__(self) -> int:
        return len(self.scenes)

    @property
    def input_channels(self) -> int:
        return {"depth": 1, "rgb": 3, "rgbd": 4}[self.config.inputs]

    def window(self, i: int) -> Window:
        sc = self.scenes[i]
        mask = sc.mask() if self.config.crop in ("mask", "object") else None
        return choose_window(sc.depth_m().shape, self.config, mask)

    def inputs(self, i: int, win: Window | None = None) -> np.ndarray:
        """The network input (C, S, S) float32 for scene i (no augmentation)."""
        if win is None and self._input_cache is not None:
            if i not in self._input_cache:
                self._input_cache[i] = self.inputs(i, self.window(i))
            return self._input_cache[i]
        sc = self.scenes[i]
        win = win or self.window(i)
        chans = []
        if self.config.inputs in ("depth", "rgbd"):
            d = np.asarray(sc.depth_m(), np.float64)
            holes = hole_mask(d)
            if holes.all():
                raise GrasplabError(f"scene {i}: depth image has no valid pixels")
            if holes.any():                         # fill before resampling, so holes do not spread
                d = inpaint_depth(d, method="nearest")
            chans.append(normalise_depth(win.sample(d, order=1), self.config.depth_reference)[None])
        if self.config.inputs in ("rgb", "rgbd"):
            chans.append(np.moveaxis(normalise_rgb(win.sample(sc.rgb().astype(np.float64))), -1, 0))
        return np.concatenate(chans).astype(np.float32)

    def rectangles(self, i: int, win: Window | None = None) -> list[GraspRectangle]:
        """Ground-truth rectangles in the network's output pixels (for evaluation)."""
        win = win or self.window(i)
        return [GraspRectangle(win.map_points(r.corners_xy_px)) for r in self.scenes[i].rectangles()]

    def negative_rectangles(self, i: int, win: Window | None = None) -> list[GraspRectangle] | None:
        """Candidates the labels tried and rejected, in output pixels; ``None`` when the scene
        does not say (only grasplab's own scenes do)."""
        negatives = getattr(self.scenes[i], "negative_rectangles", lambda: None)()
        if negatives is None:
            return None
        win = win or self.window(i)
        return [GraspRectangle(win.map_points(r.corners_xy_px)) for r in negatives]

    def __getitem__(self, i: int):
        import torch
        win = self.window(i)
        x = self.inputs(i, win)
        rects = [r.corners_xy_px for r in self.rectangles(i, win)]
        if self.config.augment:
            rng = np.random.default_rng([self.seed, self.epoch, i])
            x, rects = _augment(x, rects, rng, self.config.zoom_range)
        shape = (self.config.output_px, self.config.output_px)
        rects = [GraspRectangle(r) for r in rects]
        y = (binned_grasp_maps(rects, shape, self.angle_bins) if self.angle_bins
             else grasp_maps(rects, shape).stack())
        return torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(y), i
