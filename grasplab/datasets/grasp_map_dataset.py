"""Torch datasets for per-pixel grasp networks (GG-CNN family), without label leaks.

Each scene becomes a ``Frame`` and goes through ``imaging.network_input``, the same path the
grasp-map policies take at inference: the crop window comes from the image alone (the whole
image resized, a fixed centre crop, or a square around the object mask), never from the
ground-truth grasps, and the rectangles are carried into the input by the same window.
Augmentation (rotations by multiples of 90°, zoom, flips) is for training sets only and moves
the rectangles with the image.
"""
from __future__ import annotations

from typing import Protocol, Sequence

import numpy as np

from ..errors import GrasplabError
from ..geometry import GraspRectangle
from ..imaging import Frame, NetworkInput, PreprocessConfig, Window, choose_window, network_input
from .ggcnn_targets import binned_grasp_maps, grasp_maps


class GraspScene(Protocol):
    """What a dataset needs from a scene (Jacquard, grasplab's scenes, Cornell). A scene may also
    offer ``frame(rgb=True, mask=True) -> Frame`` (with its camera intrinsics and pose, where it
    knows them); ``scene_frame`` builds one from the images otherwise."""

    def depth_m(self) -> np.ndarray: ...
    def rgb(self) -> np.ndarray: ...
    def mask(self) -> np.ndarray: ...
    def rectangles(self) -> list[GraspRectangle]: ...


def scene_frame(scene, rgb: bool = True, mask: bool = True) -> Frame:
    """A labelled scene as the ``Frame`` a policy is given: its own ``frame()`` where it has one,
    else its depth (metres), RGB and mask (where it has one)."""
    if hasattr(scene, "frame"):
        return scene.frame(rgb=rgb, mask=mask)
    m = None
    if mask:
        try:
            m = scene.mask()
        except GrasplabError:                  # a dataset without masks (Cornell)
            m = None
    return Frame.from_images(scene.depth_m(), rgb=scene.rgb() if rgb else None, mask=m, units="m",
                             name=str(getattr(scene, "stem", "")))


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
                 angle_bins: int = 0):
        """``angle_bins`` > 0 gives targets for a binned head (``binned_grasp_maps``)."""
        self.scenes = list(scenes)
        self.config = config
        self.seed = seed
        self.angle_bins = int(angle_bins)
        self.epoch = 0                               # set by the trainer: new augmentations each epoch

    def __len__(self) -> int:
        return len(self.scenes)

    @property
    def input_channels(self) -> int:
        return self.config.channels

    def _uses_mask(self) -> bool:
        return self.config.crop in ("mask", "object")

    def frame(self, i: int) -> Frame:
        """Scene i as a camera frame, with what this preprocessing reads (RGB, the mask)."""
        return scene_frame(self.scenes[i], rgb=self.config.needs_rgb, mask=self._uses_mask())

    def window(self, i: int) -> Window:
        sc = self.scenes[i]
        return choose_window(sc.depth_m().shape, self.config, sc.mask() if self._uses_mask() else None)

    def prepared(self, i: int) -> NetworkInput:
        """Scene i's network input and window (no augmentation), through ``imaging.network_input``."""
        return network_input(self.frame(i), self.config)

    def inputs(self, i: int, win: Window | None = None) -> np.ndarray:
        """The network input (C, S, S) float32 for scene i (no augmentation), in ``win`` (default:
        the scene's own window)."""
        return network_input(self.frame(i), self.config, window=win).x

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
        prep = self.prepared(i)
        x, win = prep.x, prep.window
        rects = [r.corners_xy_px for r in self.rectangles(i, win)]
        if self.config.augment:
            rng = np.random.default_rng([self.seed, self.epoch, i])
            x, rects = _augment(x, rects, rng, self.config.zoom_range)
        shape = (self.config.output_px, self.config.output_px)
        rects = [GraspRectangle(r) for r in rects]
        y = (binned_grasp_maps(rects, shape, self.angle_bins) if self.angle_bins
             else grasp_maps(rects, shape).stack())
        return torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(y), i
