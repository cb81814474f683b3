"""The one path from a ``Frame`` to a per-pixel network's input: ``frame → (input, window)``.

Training datasets, the grasp-map policies, evaluation and the benchmarks all call
:func:`network_input`; grasps found in the input go back to the frame through the same
:class:`~grasplab.imaging.window.Window`. The crop is chosen from the image alone, never from
the labels (the GG-CNN reference code centres its evaluation crop on the ground truth):

* with the model's metric scale (``px_per_m``, recorded at training) and the frame's
  intrinsics: a square of ``output × (f / depth) / px_per_m`` frame pixels around the object
  mask's box (or the image centre), so objects appear at the size the model learned whatever
  the camera's resolution and distance;
* otherwise the model's own crop: the whole image resized, a fixed centre crop, a square
  around the object mask, or a fixed fraction of the view centred on the mask.

Depth is referenced to the image mean (GG-CNN) or a fitted table plane and clipped to [−1, 1];
RGB is scaled to [0, 1] minus its mean.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from ..errors import ConfigError, GrasplabError
from .frame import Frame
from .table_plane import fit_table_plane
from .window import Window, mask_box_center

Inputs = Literal["depth", "rgb", "rgbd"]
CropMode = Literal["resize", "center", "mask", "object"]
DepthReference = Literal["mean", "table"]
CHANNELS = {"depth": 1, "rgb": 3, "rgbd": 4}

# a metric window this far from the frame's size means the camera scale or units are wrong
MAX_WINDOW_OVER_FRAME = 8.0
MIN_WINDOW_PX = 8.0


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

    def __post_init__(self):
        if self.inputs not in CHANNELS:
            raise ConfigError(f"unknown inputs {self.inputs!r}; use depth, rgb or rgbd")
        if self.crop not in ("resize", "center", "mask", "object"):
            raise ConfigError(f"unknown crop {self.crop!r}; use resize, center, mask or object")
        if self.depth_reference not in ("mean", "table"):
            raise ConfigError(f"unknown depth reference {self.depth_reference!r}; use mean or table")

    @property
    def channels(self) -> int:
        return CHANNELS[self.inputs]

    @property
    def needs_rgb(self) -> bool:
        return self.inputs in ("rgb", "rgbd")

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


@dataclass(frozen=True)
class NetworkInput:
    """A network input (C, S, S) float32 and the window it was cut from."""

    x: np.ndarray
    window: Window


def choose_window(shape: tuple[int, int], cfg: PreprocessConfig, mask: np.ndarray | None = None) -> Window:
    """The model's own crop of an image of ``shape`` (and its mask): never from the labels."""
    h, w = shape
    has_mask = mask is not None and bool(np.any(mask))
    if cfg.crop == "resize":
        side = min(h, w)
    elif cfg.crop == "center":
        side = cfg.center_crop_fraction * min(h, w)
    elif cfg.crop == "object":
        # a fixed fraction of the view (so a fixed scale for a given camera), centred on the
        # object; without a mask, centred on the image
        side = cfg.object_fraction * min(h, w)
        if not has_mask:
            return Window((h - side) / 2, (w - side) / 2, side, cfg.output_px)
        cy, cx = mask_box_center(mask)
        return Window(float(np.clip(cy - side / 2, 0, h - side)), float(np.clip(cx - side / 2, 0, w - side)),
                      side, cfg.output_px)
    else:                                                          # 'mask'
        if not has_mask:
            raise GrasplabError("this crop ('mask') is a square around the object mask: pass a mask (or, for a "
                                "model with a metric scale, the camera intrinsics); datasets without masks need "
                                "crop 'center' or 'resize'")
        rows, cols = np.nonzero(mask)
        side = min(max(cfg.mask_margin * max(np.ptp(rows), np.ptp(cols)), 32.0), min(h, w))
        cy, cx = mask_box_center(mask)
        return Window(float(np.clip(cy - side / 2, 0, h - side)), float(np.clip(cx - side / 2, 0, w - side)),
                      side, cfg.output_px)
    return Window((h - side) / 2, (w - side) / 2, side, cfg.output_px)


def metric_window(frame: Frame, output_px: int, px_per_m: float) -> Window:
    """A square at ``px_per_m`` input pixels per metre at the object (the median depth under the
    mask, else of the frame), centred on the mask's box or the image; moved inside the frame
    where it fits, else centred on the same point and running past the frame's edges."""
    h, w = frame.shape
    sel = frame.depth_m[frame.mask] if frame.mask is not None else frame.depth_m
    frame_px_per_m = frame.intrinsics.fx / float(np.median(sel))
    side = output_px * frame_px_per_m / px_per_m
    if not MIN_WINDOW_PX <= side <= MAX_WINDOW_OVER_FRAME * max(h, w):
        raise GrasplabError(f"{frame.name or 'frame'}: at this camera's scale ({frame_px_per_m:.0f} px/m at the "
                            f"object: fx {frame.intrinsics.fx:g} px, depth {np.median(sel):.3g} m) the model's "
                            f"{output_px}-px input ({px_per_m:.0f} px/m) would cover {side:.0f} frame pixels; "
                            f"check the intrinsics and the depth units")
    cy, cx = mask_box_center(frame.mask) if frame.mask is not None else (h / 2, w / 2)
    top = float(np.clip(cy - side / 2, 0, h - side)) if side <= h else cy - side / 2
    left = float(np.clip(cx - side / 2, 0, w - side)) if side <= w else cx - side / 2
    return Window(top, left, side, output_px)


def frame_window(frame: Frame, cfg: PreprocessConfig, px_per_m: float | None = None) -> Window:
    """The crop of ``frame`` for a model: metric with ``px_per_m`` and intrinsics, else the
    model's own (see the module's notes)."""
    if px_per_m and frame.intrinsics is not None:
        return metric_window(frame, cfg.output_px, px_per_m)
    return choose_window(frame.shape, cfg, frame.mask)


def network_input(frame: Frame, cfg: PreprocessConfig, px_per_m: float | None = None,
                  window: Window | None = None) -> NetworkInput:
    """The network input of ``frame`` (channels: depth, then RGB) and its window (given, or
    ``frame_window``)."""
    win = window or frame_window(frame, cfg, px_per_m)
    chans = []
    if cfg.inputs in ("depth", "rgbd"):
        # the frame's depth has no holes, and resampling an image without holes makes none
        chans.append(normalise_depth(win.sample(frame.depth_m), cfg.depth_reference)[None])
    if cfg.needs_rgb:
        if frame.rgb is None:
            raise GrasplabError(f"{frame.name or 'this frame'}: the model takes {cfg.inputs} input; pass an RGB "
                                f"image of the same camera too")
        chans.append(np.moveaxis(normalise_rgb(win.sample(np.asarray(frame.rgb, np.float64))), -1, 0))
    return NetworkInput(np.concatenate(chans).astype(np.float32), win)


def normalise_depth(depth_m: np.ndarray, reference: DepthReference = "mean") -> np.ndarray:
    """Depth relative to a reference, clipped to [−1, 1]: the image mean (GG-CNN), or a plane
    fitted robustly to the image (``table``: the table dominates it), so the input is the
    height above the supporting surface, the same for any camera distance and tilt."""
    d = np.asarray(depth_m, dtype=np.float64)
    if reference == "table":
        return np.clip(d - fit_table_plane(d), -1.0, 1.0)
    if reference != "mean":
        raise ConfigError(f"unknown depth reference {reference!r}; use mean or table")
    return np.clip(d - d.mean(), -1.0, 1.0)


def normalise_rgb(rgb: np.ndarray) -> np.ndarray:
    x = np.asarray(rgb, dtype=np.float64) / 255.0
    return x - x.mean()
