"""Angle-binned heads: a quality and a width per angle bin instead of GG-CNN's single angle map."""
from dataclasses import replace

import numpy as np
import pytest
import torch
from torch import nn

from grasplab.datasets.ggcnn_targets import (angle_bin_centres_rad, angle_bin_index, binned_grasp_maps,
                                             grasp_maps)
from grasplab.geometry import Grasp2D, GraspRectangle
from grasplab.models import MODELS
from grasplab.models.layers import head_channels, head_to_maps
from grasplab.policies import decode_grasp_maps


def rect(cx, cy, angle_deg, width=30.0):
    return GraspRectangle.from_grasp2d(Grasp2D((cx, cy), np.deg2rad(angle_deg), width, width / 2))


def test_bins_cover_half_a_turn():
    np.testing.assert_allclose(np.rad2deg(angle_bin_centres_rad(12)), np.arange(-82.5, 90, 15))
    assert angle_bin_index(0.0, 12) == 6                       # [0°, 15°)
    assert angle_bin_index(np.deg2rad(-0.1), 12) == 5          # [−15°, 0°)
    assert angle_bin_index(np.deg2rad(-90), 12) == 0
    assert angle_bin_index(np.deg2rad(90), 12) == 0            # a grasp's angle is mod 180°
    assert angle_bin_index(np.deg2rad(89.9), 12) == 11
    assert angle_bin_index(np.deg2rad(179.0), 12) == 5         # −1° + 180°
    assert angle_bin_index(np.deg2rad(-91.0), 12) == 11


def test_binned_targets_keep_both_angles_of_a_crossing():
    """Two grasps through one pixel at right angles: each bin keeps its own; GG-CNN's single
    angle map keeps only the one drawn last."""
    a, b = rect(50, 40, 0, width=30), rect(50, 40, 90, width=60)
    y = binned_grasp_maps([a, b], (80, 100), bins=12)
    assert y.shape == (24, 80, 100)
    k0, k90 = angle_bin_index(0.0, 12), angle_bin_index(np.pi / 2, 12)
    assert y[k0, 40, 50] == 1 and y[k90, 40, 50] == 1
    assert y[:12, 40, 50].sum() == 2
    assert y[12 + k0, 40, 50] == pytest.approx(30 / 150) and y[12 + k90, 40, 50] == pytest.approx(60 / 150)
    # drawn like GG-CNN: the middle third of the opening (10 px along x for the 0° grasp)
    assert y[k0, 40, 54] == 1 and y[k0, 40, 57] == 0
    assert y[k0].sum() == grasp_maps([a], (80, 100)).quality.sum()
    single = grasp_maps([a, b], (80, 100))
    assert np.isclose(single.cos2[40, 50], -1.0)                 # only the 90° grasp survives there


def test_head_to_maps_reads_the_best_bin():
    k = 12
    y = torch.zeros((1, 2 * k + 1, 3, 3))
    y[:, 0] = torch.arange(9.0).view(3, 3)
    y[:, k + 1:] = 0.1
    y[0, 1 + 3, 1, 1] = 6.0                   # one bin alone: its centre, its width
    y[0, k + 1 + 3, 1, 1] = 0.4
    y[0, 1 + 4, 0, 0] = y[0, 1 + 5, 0, 0] = 9.0    # two neighbours equally: the boundary between them
    y[0, 1, 2, 2] = y[0, k, 2, 2] = 9.0       # the first and last bins are neighbours (±90°)
    q, c, s, w = head_to_maps(y, k)
    assert q.shape == (1, 1, 3, 3) and torch.equal(q[0, 0], y[0, 0])    # quality passes through
    angle = 0.5 * torch.atan2(s, c)[0, 0]
    centres = angle_bin_centres_rad(k)
    assert angle[1, 1].item() == pytest.approx(centres[3], abs=1e-3)   # faint neighbours cancel
    assert w[0, 0, 1, 1].item() == pytest.approx(0.4)
    assert angle[0, 0].item() == pytest.approx(np.deg2rad(-90 + 5 * 15), abs=1e-4)
    assert abs(abs(angle[2, 2].item()) - np.pi / 2) < 1e-4
    assert torch.allclose(c ** 2 + s ** 2, torch.ones_like(c))
    plain = torch.randn(2, 4, 5, 5)
    assert all(torch.equal(a, b) for a, b in zip(head_to_maps(plain, 0), plain.split(1, dim=1)))
    assert head_channels(0) == 4 and head_channels(12) == 25


def _peaked_head(target: torch.Tensor, k: int, centre_rc: tuple[int, int]) -> torch.Tensor:
    """Confident head outputs for binned targets: a quality peak at the grasp, ±10 bin logits."""
    h, w = target.shape[-2:]
    rr, cc = torch.meshgrid(torch.arange(float(h)), torch.arange(float(w)), indexing="ij")
    bump = torch.exp(-((rr - centre_rc[0]) ** 2 + (cc - centre_rc[1]) ** 2) / 50)     # a peak, not a plateau
    q = target[:, :k].amax(dim=1, keepdim=True) * bump
    return torch.cat([q, 20 * target[:, :k] - 10, target[:, k:]], dim=1)


def test_targets_decode_back_to_their_grasp():
    """Targets turned into confident head outputs decode to the labelled grasp (angle within half a bin)."""
    for angle_deg in (-60.0, 0.0, 37.0, 88.0):
        y = torch.from_numpy(binned_grasp_maps([rect(60, 50, angle_deg, width=45)], (100, 120), 12))[None]
        maps = [m[0, 0].numpy() for m in head_to_maps(_peaked_head(y, 12, (50, 60)), 12)]
        g = decode_grasp_maps(*maps).grasps[0]
        assert np.hypot(g.center_xy_px[0] - 60, g.center_xy_px[1] - 50) <= 1.0
        d = (g.angle_rad - np.deg2rad(angle_deg) + np.pi / 2) % np.pi - np.pi / 2
        assert abs(np.rad2deg(d)) <= 7.5 + 0.01
        assert g.width_px == pytest.approx(45, abs=0.5)


def test_a_crossing_decodes_to_one_of_its_grasps():
    """Where GG-CNN's averaged angle maps point between two good angles (0° and 90° average to
    no direction at all; 5° and 65° to 35°), the binned head picks one of them."""
    a, b = rect(60, 50, 5, width=40), rect(60, 50, 65, width=40)
    y = torch.from_numpy(binned_grasp_maps([a, b], (100, 120), 12))[None]
    maps = [m[0, 0].numpy() for m in head_to_maps(_peaked_head(y, 12, (50, 60)), 12)]
    g = decode_grasp_maps(*maps).grasps[0]
    deg = np.rad2deg(g.angle_rad)
    assert min(abs(deg - 5), abs(deg - 65)) <= 7.5
    two = np.deg2rad([10.0, 130.0])               # 2θ of the two grasps
    avg = np.rad2deg(0.5 * np.arctan2(np.sin(two).sum(), np.cos(two).sum()))
    assert avg == pytest.approx(35.0)          # what one averaged angle map would say: neither grasp


def test_binned_loss():
    from grasplab.training.grasp_map_module import binned_grasp_map_loss
    k = 4
    target = torch.zeros(2, 2 * k, 6, 6)
    target[0, 1, 2:4, 2:4] = 1.0              # 4 labelled pixels, bin 1 ...
    target[0, 2, 2:3, 2:4] = 1.0              # ... two of them also good in bin 2
    target[0, k + 1, 2:4, 2:4] = 0.3
    target[0, k + 2, 2:3, 2:4] = 0.5
    zero = torch.zeros(2, 2 * k + 1, 6, 6)
    for w in (1.0, 10.0):
        terms = binned_grasp_map_loss(zero, target, quality_pos_weight=w)
        assert terms["quality"].item() == pytest.approx(w * 4 / 72, rel=1e-5)
        assert terms["angle"].item() == pytest.approx(np.log(k) * 4 / 72, rel=1e-5)   # uniform softmax
        # labelled (pixel, bin) pairs only: four at 0.3, two at 0.5
        assert terms["width"].item() == pytest.approx((4 * 0.09 + 2 * 0.25) / 6, rel=1e-5)
    other = zero.clone()
    other[:, k + 1:] = 0.7                     # widths outside labelled (pixel, bin) pairs do not count
    labelled = target[:, :k] > 0
    other[:, k + 1:][labelled] = target[:, k:][labelled]
    assert binned_grasp_map_loss(other, target)["width"].item() == 0.0
    # the angle term: the optimum spreads the softmax evenly over the good bins
    half = zero.clone()
    half[0, 1 + 1, 2:3, 2:4] = half[0, 1 + 2, 2:3, 2:4] = 30.0
    half[0, 1 + 1, 3:4, 2:4] = 30.0
    assert binned_grasp_map_loss(half, target)["angle"].item() == pytest.approx(2 * np.log(2) / 72, rel=1e-4)
    exact = torch.cat([target[:, :k].amax(1, keepdim=True), half[:, 1:k + 1], target[:, k:]], dim=1)
    terms = binned_grasp_map_loss(exact, target, 10.0)
    assert terms["quality"].item() == 0 and terms["width"].item() == 0


@pytest.mark.parametrize("arch", ["ggcnn", "ggcnn2", "grconvnet"])
def test_binned_models_give_the_four_maps(arch):
    torch.manual_seed(0)
    m = MODELS[arch](angle_bins=6).eval()
    x = torch.randn(1, 1, 96, 96)
    head = m.head_output(x)
    assert head.shape == (1, 13, 96, 96) and m.config["angle_bins"] == 6
    for a, b in zip(m(x), head_to_maps(head, 6)):
        assert torch.equal(a, b)
    with torch.no_grad():
        for a, b in zip(m(x), m.for_inference()(x)):
            torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)
    assert "angle_bins" not in MODELS[arch]().config        # unbinned files stay as they were


def test_binned_model_saves_loads_and_exports(tmp_path):
    from grasplab.models import load_model
    torch.manual_seed(1)
    m = MODELS["ggcnn2"](angle_bins=12)
    for p in m.parameters():
        nn.init.normal_(p, 0, 0.1)
    path = m.save(tmp_path / "binned.npz", {"preprocess": {"inputs": "depth", "output_px": 96, "crop": "resize"}})
    back = load_model(path)
    assert back.angle_bins == 12
    x = torch.randn(1, 1, 96, 96)
    with torch.no_grad():
        for a, b in zip(m(x), back(x)):
            assert torch.equal(a, b)
    pytest.importorskip("onnxruntime", reason="onnxruntime (the onnx extra) is not installed")
    from grasplab.models.onnx_export import export_onnx
    from grasplab.imaging import Frame
    from grasplab.policies import GraspMapPolicy, MapDecodingConfig
    onnx_path = export_onnx(path, tmp_path / "binned.onnx")
    dec = MapDecodingConfig(threshold=-1e9, min_distance_px=5)
    ta, tb = GraspMapPolicy(path, decoding=dec), GraspMapPolicy(onnx_path, decoding=dec)
    depth = 0.7 + 0.003 * np.random.default_rng(0).standard_normal((96, 96))
    depth[30:60, 40:55] -= 0.04
    xa = ta.prepare(Frame.from_images(depth)).x
    for ma, mb in zip(ta.grasp_maps(xa), tb.grasp_maps(xa)):
        np.testing.assert_allclose(ma, mb, atol=1e-4)




@pytest.mark.slow
def test_binned_ggcnn_learns_to_grasp_blocks(tmp_path):
    """The overfitting check of the GG-CNN training tests, with 12 angle bins."""
    pytest.importorskip("lightning", reason="lightning is not installed")
    from test_training import metrics, scenes

    from grasplab.models import load_model
    from grasplab.training import TrainConfig, train_grasp_map_model
    data = scenes()
    cfg = TrainConfig(epochs=40, output_px=96, crop="resize", batch_size=4, lr=3e-3, augment=False,
                      quality_pos_weight=10.0, model_kwargs={"angle_bins": 12})
    res = train_grasp_map_model(data, data, cfg, tmp_path / "run", show_progress=False)
    loss = metrics(tmp_path / "run", "train_loss")
    assert metrics(tmp_path / "run", "val_accuracy")[0] == 0.0 and res.best_val_accuracy >= 0.5
    assert loss[-1] < 0.5 * loss[0]
    assert load_model(res.model_path).angle_bins == 12


def test_converted_head_predicts_what_the_angle_head_did():
    """``binned_head_from_angle_head``: same quality and width, the angle within half a bin."""
    from grasplab.models.layers import binned_head_from_angle_head
    torch.manual_seed(2)
    for kernel in (1, 2):                                   # GG-CNN2's 1×1 and GG-CNN's 2×2 heads
        old = nn.Conv2d(16, 4, kernel)
        feats = torch.randn(1, 16, 40, 40)
        new = binned_head_from_angle_head(old, 12)
        with torch.no_grad():
            a, b = head_to_maps(old(feats), 0), head_to_maps(new(feats), 12)
        torch.testing.assert_close(a[0], b[0])
        torch.testing.assert_close(a[3], b[3])
        d = (0.5 * (torch.atan2(a[2], a[1]) - torch.atan2(b[2], b[1])) + torch.pi / 2) % torch.pi - torch.pi / 2
        assert d.abs().max().item() <= np.deg2rad(7.5) + 1e-4
    with pytest.raises(ValueError, match="4-channel"):
        binned_head_from_angle_head(nn.Conv2d(16, 25, 1), 12)


def test_binned_head_fine_tunes_from_an_unbinned_model(tmp_path):
    """--init with --angle-bins: the trunk comes from the model and its head is converted, so
    with a zero learning rate the run predicts the model's quality; other differences are
    still refused."""
    pytest.importorskip("lightning", reason="lightning is not installed")
    from test_training import scenes

    from grasplab.errors import ConfigError
    from grasplab.models import load_model
    from grasplab.training import TrainConfig, train_grasp_map_model
    data = scenes(4)
    base = TrainConfig(architecture="ggcnn2", epochs=1, output_px=72, crop="resize", batch_size=2, augment=False)
    start = train_grasp_map_model(data, data, base, tmp_path / "start", show_progress=False).model_path
    cfg = replace(base, lr=0.0, init=str(start), model_kwargs={"angle_bins": 6})
    tuned = load_model(train_grasp_map_model(data, data, cfg, tmp_path / "tuned", show_progress=False).model_path)
    s0 = load_model(start)
    for name, p in tuned.state_dict().items():
        if not name.startswith("heads."):
            assert torch.equal(p, s0.state_dict()[name]), name
    assert tuned.state_dict()["heads.weight"].shape[0] == 13
    x = torch.randn(1, 1, 72, 72)
    with torch.no_grad():
        torch.testing.assert_close(tuned(x)[0], s0(x)[0])
    assert tuned.metadata["init_head_converted_to_bins"] and "init_fresh_tensors" not in tuned.metadata
    rebinned = load_model(train_grasp_map_model(
        data, data, replace(cfg, init=str(tmp_path / "tuned" / "model.npz"), model_kwargs={"angle_bins": 4}),
        tmp_path / "rebinned", show_progress=False).model_path)
    assert rebinned.metadata["init_fresh_tensors"] == ["heads.weight", "heads.bias"]   # another K: a fresh head
    assert torch.equal(rebinned.state_dict()["features.0.weight"], s0.state_dict()["features.0.weight"])
    with pytest.raises(ConfigError, match="network settings"):
        train_grasp_map_model(data, data, replace(cfg, model_kwargs={"angle_bins": 6, "l3_kernel": 3}),
                              tmp_path / "bad", show_progress=False)
    assert not (tmp_path / "bad").exists()
    with pytest.raises(ConfigError, match="--angle-bins must be"):
        replace(base, model_kwargs={"angle_bins": 1})
    with pytest.raises(ConfigError, match="cannot be distilled"):
        replace(base, model_kwargs={"angle_bins": 6}, teacher=str(start))
