import numpy as np
import pytest

from grasplab.errors import ConfigError
from grasplab.scene import DepthNoiseConfig, apply_depth_noise, gaussian_process_noise


def test_gamma_noise_one_factor_per_image_with_configured_spread():
    cfg = DepthNoiseConfig(gamma_shape=1000.0, gp_sigma_m=0.0)
    rng = np.random.default_rng(0)
    factors = []
    for _ in range(2000):
        out = apply_depth_noise(np.ones((16, 16)), cfg, rng)
        assert np.ptp(out) == 0.0       # Dex-Net: one multiplier for the whole image
        factors.append(out[0, 0])
    assert np.mean(factors) == pytest.approx(1.0, abs=0.003)
    assert np.std(factors) == pytest.approx(1 / np.sqrt(1000), rel=0.06)


def test_gamma_noise_per_pixel():
    cfg = DepthNoiseConfig(gamma_shape=100.0, gamma_per_pixel=True, gp_sigma_m=0.0)
    out = apply_depth_noise(np.full((200, 200), 0.7), cfg, np.random.default_rng(1))
    assert out.mean() == pytest.approx(0.7, rel=0.002)
    assert out.std() == pytest.approx(0.7 / 10, rel=0.03)


def test_gaussian_process_noise_statistics_and_correlation():
    rng = np.random.default_rng(2)
    sigma, scale = 0.005, 4.0
    fields = np.stack([gaussian_process_noise(rng, (65, 65), sigma, scale) for _ in range(400)])
    nodes = fields[:, ::4, ::4]                      # grid nodes carry the i.i.d. samples exactly
    assert nodes.std() == pytest.approx(sigma, rel=0.03)
    assert abs(fields.mean()) < 2e-4
    a = fields[:, 30, 30]
    corr_1 = np.corrcoef(a, fields[:, 30, 31])[0, 1]
    corr_far = np.corrcoef(a, fields[:, 30, 46])[0, 1]
    assert corr_1 > 0.8 and abs(corr_far) < 0.2


def test_dropouts_and_determinism():
    depth = np.full((100, 100), 0.7)
    depth[40:60, 40:60] = 0.6
    cfg = DepthNoiseConfig(gamma_shape=0, gp_sigma_m=0, dropout_rate=0.1)
    out = apply_depth_noise(depth, cfg, np.random.default_rng(3))
    assert (out == 0).mean() == pytest.approx(0.1, abs=0.01)
    edge_cfg = DepthNoiseConfig(gamma_shape=0, gp_sigma_m=0, edge_dropout_rate=1.0)
    out = apply_depth_noise(depth, edge_cfg, np.random.default_rng(3))
    dropped = np.argwhere(out == 0)
    # both sides of the square outline: inner ring 4·20−4 pixels, outer ring 4·20 (no diagonals)
    assert len(dropped) == (4 * 20 - 4) + 4 * 20 and np.all((dropped >= 39) & (dropped <= 60))
    full = DepthNoiseConfig(dropout_rate=0.05)
    np.testing.assert_array_equal(apply_depth_noise(depth, full, np.random.default_rng(9)),
                                  apply_depth_noise(depth, full, np.random.default_rng(9)))
    with pytest.raises(ConfigError):
        DepthNoiseConfig(dropout_rate=1.5)
