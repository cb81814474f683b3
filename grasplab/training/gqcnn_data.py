"""Dex-Net 2.0's training-time augmentation of GQ-CNN crops (DESIGN B5, gqcnn's
``train_dex-net_2.0.yaml``); the data come from ``datasets.gqcnn_arrays``.

Augmentation draws every random number for a batch from (seed, epoch, batch index), so the
same seed gives the same training run for any number of data-loading workers, and a run
resumed after an epoch sees what the uninterrupted one would have.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError
from ..presets import published
from ..seeding import derive_rng


_DEXNET2 = published("train_gqcnn", "augment")  # the published values (grasplab/presets/dexnet2.json)

@dataclass(frozen=True)
class AugmentConfig:
    """Dex-Net 2.0's published values; 0 / False turns a part off."""

    symmetrize: bool = _DEXNET2["symmetrize"]          # mirror along and/or across the grasp axis (incl. 180° turns)
    gamma_shape: float = _DEXNET2["gamma_shape"]      # multiplicative depth noise ~ Gamma(k, 1/k) per image
    gp_rate: float = _DEXNET2["gp_rate"]             # fraction of images given Gaussian-process noise
    gp_sigma_m: float = _DEXNET2["gp_sigma_m"]        # its standard deviation
    gp_scale: int = _DEXNET2["gp_scale"]                # noise drawn on a grid this many times coarser, upsampled

    def __post_init__(self):
        if self.gamma_shape < 0 or not 0 <= self.gp_rate <= 1 or self.gp_sigma_m < 0 or self.gp_scale < 1:
            raise ConfigError("augmentation: gamma shape ≥ 0, GP rate in [0, 1], GP sigma ≥ 0 and GP scale ≥ 1")


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
