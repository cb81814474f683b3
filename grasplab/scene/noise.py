"""Depth noise: Dex-Net's multiplicative Gamma and correlated Gaussian-process noise, plus
sensor-like dropouts.

Defaults follow gqcnn's configuration (gamma_shape 1000, one Gamma factor per image;
Gaussian-process σ = 0.005 m sampled on a grid 4× coarser than the image and
interpolated). Dropouts set pixels to 0, as real sensors report missing depth.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import scipy.ndimage as ndi

from ..errors import ConfigError
from ..presets import published


_DEXNET2 = published("synth", "noise")        # the published values (grasplab/presets/dexnet2.json)

@dataclass(frozen=True)
class DepthNoiseConfig:
    gamma_shape: float = _DEXNET2["gamma_shape"]          # 0 disables; multiplier ~ Gamma(k, 1/k): mean 1, std 1/√k
    gamma_per_pixel: bool = False        # Dex-Net draws one multiplier for the whole image
    gp_sigma_m: float = _DEXNET2["gp_sigma_m"]            # 0 disables the Gaussian-process noise
    gp_scale_px: float = _DEXNET2["gp_scale_px"]             # correlation grid spacing in pixels
    dropout_rate: float = 0.0            # fraction of pixels lost at random
    edge_dropout_rate: float = 0.0       # probability of losing a pixel at a depth discontinuity
    edge_threshold_m: float = 0.01       # depth jump (to a 4-neighbour) that counts as an edge

    def __post_init__(self):
        if self.gamma_shape < 0 or self.gp_sigma_m < 0 or self.gp_scale_px <= 0:
            raise ConfigError("noise parameters must be non-negative (gp_scale_px positive)")
        for name in ("dropout_rate", "edge_dropout_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"{name} must be a probability in [0, 1]")


NO_NOISE = DepthNoiseConfig(gamma_shape=0.0, gp_sigma_m=0.0)


@lru_cache(maxsize=16)
def _spline_basis(n_out: int, n_grid: int, scale_px: float) -> np.ndarray:
    """Matrix (n_out, n_grid) evaluating a cubic B-spline with unit coefficients at pixels i/scale."""
    pos = np.arange(n_out) / scale_px
    basis = np.empty((n_out, n_grid))
    for j in range(n_grid):
        e = np.zeros(n_grid)
        e[j] = 1.0
        basis[:, j] = ndi.map_coordinates(e, [pos], order=3, mode="mirror", prefilter=False)
    return basis


def gaussian_process_noise(rng: np.random.Generator, shape: tuple[int, int], sigma_m: float,
                           scale_px: float) -> np.ndarray:
    """Smooth noise: i.i.d. N(0, σ²) on a coarse grid, cubic-spline interpolated to ``shape``.

    Grid node k sits at pixel k·scale_px, where the field equals the node's sample exactly,
    so the marginal standard deviation at nodes is σ and nearby pixels are correlated. The
    interpolation is separable, so it is two matrix products with cached basis matrices.
    """
    h, w = shape
    gh, gw = int(np.ceil((h - 1) / scale_px)) + 2, int(np.ceil((w - 1) / scale_px)) + 2
    grid = rng.normal(0.0, sigma_m, size=(gh, gw))
    coeffs = ndi.spline_filter(grid, order=3, mode="mirror")
    return _spline_basis(h, gh, float(scale_px)) @ coeffs @ _spline_basis(w, gw, float(scale_px)).T


def apply_depth_noise(depth_m: np.ndarray, config: DepthNoiseConfig, rng: np.random.Generator) -> np.ndarray:
    """A noisy copy of a rendered depth image (float32 metres; dropped pixels are 0)."""
    d = np.asarray(depth_m, dtype=np.float64)
    out = d.copy()
    if config.gamma_shape > 0:
        k = config.gamma_shape
        size = d.shape if config.gamma_per_pixel else None
        out = out * rng.gamma(k, 1.0 / k, size=size)
    if config.gp_sigma_m > 0:
        out = out + gaussian_process_noise(rng, d.shape, config.gp_sigma_m, config.gp_scale_px)
    drop = np.zeros(d.shape, dtype=bool)
    if config.dropout_rate > 0:
        drop |= rng.random(d.shape) < config.dropout_rate
    if config.edge_dropout_rate > 0:
        edges = np.zeros(d.shape, dtype=bool)
        jump_r = np.abs(np.diff(d, axis=0)) > config.edge_threshold_m
        jump_c = np.abs(np.diff(d, axis=1)) > config.edge_threshold_m
        edges[1:] |= jump_r
        edges[:-1] |= jump_r
        edges[:, 1:] |= jump_c
        edges[:, :-1] |= jump_c
        drop |= edges & (rng.random(d.shape) < config.edge_dropout_rate)
    out[drop] = 0.0
    return out.astype(np.float32)
