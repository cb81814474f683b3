"""GQ-CNN training data: a tensor dataset's crops, gripper depths and labels for one split, and
Dex-Net 2.0's training-time augmentation (DESIGN B5, gqcnn's ``train_dex-net_2.0.yaml``).

Augmentation draws every random number for a batch from (seed, epoch, batch index), so the
same seed gives the same training run for any number of data-loading workers, and a run
resumed after an epoch sees what the uninterrupted one would have.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..datasets.gqcnn_tensors import TensorDataset
from ..errors import ConfigError, GrasplabError
from ..seeding import derive_rng


@dataclass(frozen=True)
class AugmentConfig:
    """Dex-Net 2.0's published values; 0 / False turns a part off."""

    symmetrize: bool = True          # mirror along and/or across the grasp axis (incl. 180° turns)
    gamma_shape: float = 1000.0      # multiplicative depth noise ~ Gamma(k, 1/k) per image
    gp_rate: float = 0.5             # fraction of images given Gaussian-process noise
    gp_sigma_m: float = 0.005        # its standard deviation
    gp_scale: int = 4                # noise drawn on a grid this many times coarser, upsampled

    def __post_init__(self):
        if self.gamma_shape < 0 or not 0 <= self.gp_rate <= 1 or self.gp_sigma_m < 0 or self.gp_scale < 1:
            raise ConfigError("augmentation: gamma shape ≥ 0, GP rate in [0, 1], GP sigma ≥ 0 and GP scale ≥ 1")


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
    """The robust-ε threshold for a positive label: given, else the dataset's, else Dex-Net's 0.002."""
    if threshold is not None:
        return float(threshold)
    return float(ds.config.get("positive_threshold", 0.002))


def open_tensor_dataset(root) -> TensorDataset:
    """A GQ-CNN tensor dataset given its folder or a ``grasplab synth`` folder holding it in ``gqcnn/``."""
    from pathlib import Path
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


def augment_batch(crops_m, depth_m, cfg: AugmentConfig, seed: int, epoch: int, batch: int):
    """Dex-Net 2.0's augmentation of one batch (torch tensors), from (seed, epoch, batch) alone:
    random mirrors, multiplicative Gamma noise and Gaussian-process noise on the crops (the
    gripper depth is left as it is, as in gqcnn)."""
    import torch
    import torch.nn.functional as F
    n, _, s, _ = crops_m.shape
    rng = derive_rng(seed, "gqcnn augmentation", epoch, batch)
    x = crops_m
    if cfg.symmetrize:
        flips = torch.from_numpy(rng.random((n, 2)) < 0.5)
        x = torch.where(flips[:, 0, None, None, None], x.flip(-1), x)
        x = torch.where(flips[:, 1, None, None, None], x.flip(-2), x)
    if cfg.gamma_shape > 0:
        k = cfg.gamma_shape
        x = x * torch.from_numpy(rng.gamma(k, 1.0 / k, n).astype(np.float32))[:, None, None, None]
    if cfg.gp_rate > 0 and cfg.gp_sigma_m > 0:
        g = max(1, s // cfg.gp_scale)
        on = torch.from_numpy((rng.random(n) < cfg.gp_rate).astype(np.float32))[:, None, None, None]
        coarse = torch.from_numpy(rng.normal(0.0, cfg.gp_sigma_m, (n, 1, g, g)).astype(np.float32))
        x = x + on * F.interpolate(coarse, size=(s, s), mode="bicubic", align_corners=False)
    return x, depth_m
