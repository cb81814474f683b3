"""Finding the scenes of a planar-grasp dataset and splitting them (image- or object-wise)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import ConfigError
from .cornell import list_cornell_scenes
from .jacquard import list_jacquard_scenes
from .splits import kfold_splits

FORMATS = ("jacquard", "cornell")


def load_scenes(data: str | Path, fmt: str, depth_kind: str = "perfect") -> list:
    """Scenes of a Jacquard folder (or grasplab synth output: its ``jacquard/``) or a Cornell folder."""
    if fmt == "jacquard":
        return list_jacquard_scenes(data, depth_kind)
    if fmt == "cornell":
        return list_cornell_scenes(data)
    raise ConfigError(f"unknown dataset format {fmt!r}; choose {', '.join(FORMATS)}")


def scene_groups(scenes: list, split: str) -> np.ndarray:
    """Group labels for a split: one group per image, or per object (where the dataset has ids)."""
    if split == "image":
        return np.array([str(s.stem) for s in scenes])
    if split == "object":
        if not all(getattr(s, "object_id", None) is not None for s in scenes):
            raise ConfigError("an object-wise split needs object ids, which this dataset does not carry "
                              "(a Cornell folder needs its image → object mapping z.txt); use --split image")
        return np.array([s.object_id for s in scenes])
    raise ConfigError(f"unknown split {split!r}; use image or object")


def split_scenes(scenes: list, split: str = "object", folds: int = 5, fold: int = 0, seed: int = 0):
    """(train, test) scene lists for fold ``fold`` of a ``folds``-fold grouped split."""
    if not 0 <= fold < folds:
        raise ConfigError(f"--fold {fold} must lie in 0..{folds - 1}")
    train_idx, test_idx = kfold_splits(scene_groups(scenes, split), folds, seed)[fold]
    return [scenes[i] for i in train_idx], [scenes[i] for i in test_idx]
