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


def evaluation_scenes(data: str | Path, fmt: str, depth_kind: str = "perfect", split: str | None = None,
                      folds: int = 5, fold: int = 0, seed: int = 0) -> list:
    """The scenes to evaluate on: all of a folder, or (with ``split``) the held-out part of fold
    ``fold`` of the same grouped split training used."""
    scenes = load_scenes(data, fmt, depth_kind)
    return split_scenes(scenes, split, folds, fold, seed)[1] if split else scenes


def train_val_scenes(data: list[str | Path], fmt: str, depth_kind: str = "perfect", split: str | None = None,
                     folds: int | None = None, fold: int | None = None, seed: int = 0,
                     val_data: str | Path | None = None) -> tuple[list, list, str]:
    """(train, validation, a line saying where they came from): a held-out fold (default:
    object-wise, 5 folds, fold 0) of the ``data`` folders' scenes, or all of them with all of
    ``val_data`` (then no fold options may be given)."""
    if val_data is not None and (split, folds, fold) != (None, None, None):
        raise ConfigError("--split/--folds/--fold choose a held-out fold of --data; with --val-data every scene of "
                          "--data trains, so leave them out (or drop --val-data)")
    split, folds, fold = split or "object", 5 if folds is None else folds, 0 if fold is None else fold
    scenes = [s for d in data for s in load_scenes(d, fmt, depth_kind)]
    where = ", ".join(map(str, data))
    if val_data is None:
        train, val = split_scenes(scenes, split, folds, fold, seed)
        return train, val, f"{len(train)} training and {len(val)} validation scenes from {where} ({split}-wise fold {fold}/{folds})"
    val = load_scenes(val_data, fmt, depth_kind)
    return scenes, val, f"{len(scenes)} training scenes from {where}, {len(val)} validation scenes from {val_data}"


def scene_set_identity(train: list, val: list) -> dict:
    """Which scenes train and which validate, as counts and content-free digests of their names
    (``object/view`` and depth kind): a run folder records it, so a resumed run refuses other
    data, another split or fold, or another depth image."""
    import hashlib

    def digest(scenes):
        h = hashlib.sha256()
        for i, s in enumerate(scenes):
            stem = getattr(s, "stem", None)
            key = f"{Path(stem).parent.name}/{Path(stem).name}" if stem is not None else f"{type(s).__name__}#{i}"
            h.update(f"{key}|{getattr(s, 'depth_kind', '')}\n".encode())
        return h.hexdigest()
    return {"train_scenes": len(train), "val_scenes": len(val), "train_sha256": digest(train),
            "val_sha256": digest(val)}
