"""A GQ-CNN tensor dataset as arrays: crops, gripper depths, labels and object ids for a split.

The readers every GQ-CNN consumer shares (training, ``grasplab evaluate --format gqcnn``): a
``grasplab synth`` folder or its ``gqcnn/`` subfolder (or gqcnn's own layout), labels from the
robust-ε threshold (given, the dataset's, else ``QualityConfig``'s Dex-Net 2.0 value), and
clear errors for incomplete or non-finite data.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import GrasplabError
from .gqcnn_tensors import TensorDataset


@dataclass
class GQCNNArrays:
    """Crops (N, 1, S, S) m, gripper depths (N,) m, labels (N,) 0/1, object ids (N,)."""

    crops_m: np.ndarray
    depth_m: np.ndarray
    label: np.ndarray
    obj: np.ndarray

    def __len__(self) -> int:
        return len(self.label)

    def subset(self, idx: np.ndarray) -> "GQCNNArrays":
        return GQCNNArrays(self.crops_m[idx], self.depth_m[idx], self.label[idx], self.obj[idx])

    def __getitem__(self, i: int):             # a torch Dataset: (crop, depth, label, index)
        import torch
        return (torch.from_numpy(self.crops_m[i]), torch.tensor(self.depth_m[i]),
                torch.tensor(float(self.label[i])), i)


def dataset_threshold(ds: TensorDataset, threshold: float | None) -> float:
    """The robust-ε threshold for a positive label: given, else the dataset's, else Dex-Net 2.0's
    (``QualityConfig``'s default)."""
    if threshold is not None:
        return float(threshold)
    from ..quality import QualityConfig
    return float(ds.config.get("positive_threshold", QualityConfig().positive_threshold))


def open_tensor_dataset(root) -> TensorDataset:
    """A GQ-CNN tensor dataset given its folder or a ``grasplab synth`` folder holding it in ``gqcnn/``."""
    root = Path(root)
    if not (root / "config.json").is_file() and (root / "gqcnn" / "config.json").is_file():
        root = root / "gqcnn"
    return TensorDataset.open(root)


def load_arrays(root, threshold: float | None = None) -> tuple[GQCNNArrays, float, TensorDataset]:
    """Every datapoint of a GQ-CNN tensor dataset (a ``grasplab synth`` folder or its ``gqcnn/``
    subfolder) as arrays, the label threshold used, and the opened dataset."""
    ds = open_tensor_dataset(root)
    root = ds.root
    thr = dataset_threshold(ds, threshold)
    ims = ds.field("depth_ims_tf_table").astype(np.float32)
    if ims.ndim == 3:
        ims = ims[..., None]
    if ims.ndim != 4 or ims.shape[1] != ims.shape[2] or ims.shape[3] != 1:
        raise GrasplabError(f"{root}: depth_ims_tf_table has shape {ims.shape}; expected (N, S, S, 1) depth crops")
    poses = ds.field("hand_poses")
    metric = ds.field("robust_ferrari_canny")
    obj = ds.field("obj_labels") if "obj_labels" in ds.field_names else np.zeros(len(poses), np.int64)
    if not (len(ims) == len(poses) == len(metric) == len(obj)):
        raise GrasplabError(f"{root}: fields have different lengths (crops {len(ims)}, poses {len(poses)}, "
                            f"labels {len(metric)}); the dataset is incomplete — rerun `grasplab synth` on it")
    bad = ~np.isfinite(ims).all(axis=(1, 2, 3)) | ~np.isfinite(poses[:, 2])
    if bad.any():
        raise GrasplabError(f"{root}: {int(bad.sum())} datapoints have NaN or infinite depth (first: {int(np.flatnonzero(bad)[0])}); "
                            f"inpaint the crops before writing the dataset")
    arrays = GQCNNArrays(np.ascontiguousarray(ims.transpose(0, 3, 1, 2)), poses[:, 2].astype(np.float32),
                         (metric > thr).astype(np.uint8), obj.astype(np.int64))
    return arrays, thr, ds


def load_split(root, split: str, threshold: float | None = None) -> tuple[GQCNNArrays, GQCNNArrays, float]:
    """(train, val, threshold) for ``split`` (``image_wise`` or ``object_wise``) of a GQ-CNN tensor dataset."""
    arrays, thr, ds = load_arrays(root, threshold)
    train_idx, val_idx = ds.split(split)
    if len(train_idx) == 0 or len(val_idx) == 0:
        raise GrasplabError(f"{ds.root}: split {split!r} has an empty train or validation part")
    return arrays.subset(train_idx), arrays.subset(val_idx), thr
