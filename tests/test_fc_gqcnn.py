"""The FC-GQ-CNN (a GQ-CNN evaluated densely), the channel LRN it made fast, and metric crops that
bring frames from other cameras to the training camera."""
import numpy as np
import pytest
import torch

from grasplab.errors import ConfigError
from grasplab.geometry import CameraIntrinsics
from grasplab.imaging import Frame
from grasplab.imaging.camera_match import TrainingCamera, table_depth_at_centre
from grasplab.imaging.crops import rotated_crops
from grasplab.models import GQCNN
from grasplab.models.fc_gqcnn import DenseGQCNN
from grasplab.models.gqcnn import LRN_ALPHA, ChannelLRN
from grasplab.policies import load_policy

from test_gqcnn_policy import INTR, box_scene


def _net(seed=0, **kw):
    torch.manual_seed(seed)
    return GQCNN(filters=6, fc_size=16, im_mean=0.69, im_std=0.01, depth_mean=0.7, depth_std=0.01, **kw).eval()


def test_channel_lrn_equals_torch_lrn():
    x = torch.randn(3, 7, 9, 9) * 40
    for beta in (0.75, 0.5):
        ref = torch.nn.LocalResponseNorm(5, alpha=LRN_ALPHA * 5, beta=beta, k=1.0)(x)
        torch.testing.assert_close(ChannelLRN(beta=beta)(x), ref, atol=1e-4, rtol=1e-5)


def test_channel_lrn_backpropagates_like_torch_lrn():
    x = (torch.randn(2, 6, 5, 5) * 40).requires_grad_()
    ChannelLRN()(x).square().sum().backward()
    g = x.grad.clone()
    x.grad = None
    torch.nn.LocalResponseNorm(5, alpha=LRN_ALPHA * 5, beta=0.75, k=1.0)(x).square().sum().backward()
    torch.testing.assert_close(g, x.grad, atol=1e-4, rtol=1e-4)


def test_inference_in_cache_sized_chunks_gives_the_whole_batch_answer(monkeypatch):
    from grasplab.models import layers
    net = _net()
    crops = 0.69 + 0.01 * torch.randn(37, 1, 32, 32)
    depth = 0.7 + 0.01 * torch.randn(37)
    images = 0.69 + 0.01 * torch.randn(5, 1, 60, 52)
    dense = DenseGQCNN(net)
    with torch.no_grad():
        whole = net(crops, depth), dense.image_features(images)
    calls = []
    monkeypatch.setattr(layers, "CACHE_CHUNK_FLOATS", 6 * 32 * 32 * 8)      # 8 crops, 0 images: 1 at a time
    original = net._logits
    monkeypatch.setattr(net, "_logits", lambda c, d: calls.append(len(c)) or original(c, d))
    with torch.no_grad():
        torch.testing.assert_close(net(crops, depth), whole[0])
        torch.testing.assert_close(dense.image_features(images), whole[1])
    assert calls == [8, 8, 8, 8, 5]
    calls.clear()
    net(crops, depth)                                      # with gradients: one batch (training)
    assert calls == [37]


def test_dense_pass_on_a_crop_sized_image_is_the_crop_network():
    net = _net()
    crops = 0.69 + 0.01 * torch.randn(4, 1, 32, 32)
    depth = torch.tensor([0.68, 0.70, 0.71, 0.72])
    dense = DenseGQCNN(net)
    with torch.no_grad():
        want = net(crops, depth)
        got = torch.stack([dense(crops[i:i + 1], depth[i:i + 1])[0, 0, 0, 0] for i in range(4)])
        per_position = dense(crops, depth[:, None, None, None])[:, 0, 0, 0]       # depths per position
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(per_position, want, atol=1e-5, rtol=1e-5)
    with torch.no_grad():                                  # the re-scoring path: crops through the dense layers
        torch.testing.assert_close(dense.crop_logits(crops, depth), want, atol=1e-5, rtol=1e-5)
        half = DenseGQCNN(net, torch.bfloat16)                       # bfloat16 convolutions: close, not equal
        assert (half.crop_logits(crops, depth) - want).abs().max() < 0.05 * want.abs().max() + 0.05


def test_scores_at_chosen_positions_are_the_dense_scores_there():
    """The policy scores only the outputs on the mask: ``image_features_at`` + ``head_at`` at
    chosen (image, row, column) give the dense pass's logits there, whatever the depths."""
    net = _net(1)
    dense = DenseGQCNN(net)
    images = 0.69 + 0.01 * torch.randn(3, 1, 56, 48)
    depth = 0.68 + 0.03 * torch.rand(3, 1, 7, 5)                   # H' = 56/4 − 8 + 1, W' = 48/4 − 8 + 1
    with torch.inference_mode():
        want = dense(images, depth)[:, 0]                          # (3, 7, 5)
        b, i, j = np.nonzero(np.random.default_rng(0).random((3, 7, 5)) < 0.3)
        feats = dense.image_features_at(dense.conv_features(images), b, i, j)
        got = dense.head_at(feats, depth[b, 0, i, j])
    assert len(b) > 5
    torch.testing.assert_close(got, want[b, i, j], atol=1e-5, rtol=1e-5)


def test_dense_scores_are_the_crop_scores_of_the_grasps_they_name(tmp_path):
    """Each dense output, mapped back to a centre and angle in the frame, scores what the crop
    network scores on that grasp's crop (up to the crops' padded borders): a wrong position or
    angle mapping would decorrelate them."""
    d, mask, _, _ = box_scene(short_m=0.05, long_m=0.09)
    d = d + 0.002 * np.random.default_rng(0).standard_normal(d.shape)       # texture for the net to read
    path = _net(3).save(tmp_path / "gq.npz", metadata={"dataset": {"crop_px": 96, "gripper": "robotiq_2f85"}})
    pol = load_policy("fc-gqcnn", model=path, refine=0, nms_radius_m=0.0)
    cands = pol._candidates(Frame(d, mask=mask, intrinsics=INTR), 60, np.random.default_rng(0))
    assert len(cands.grasps) == 60 and cands.stats["positions"] > 60
    from grasplab.geometry import Grasp2D

    def corr(moved):
        return np.corrcoef(cands.scores, pol._score(d, moved, {"grasps_scored": 0}))[0, 1]
    right = corr(cands.grasps)
    mirrored = corr([Grasp2D(g.center_xy_px, -g.angle_rad, g.width_px, g.jaw_px, g.depth_m) for g in cands.grasps])
    shifted = corr([Grasp2D((g.center_xy_px[0] + 6, g.center_xy_px[1] + 6), g.angle_rad, g.width_px, g.jaw_px,
                            g.depth_m) for g in cands.grasps])
    assert right > 0.6 and right > max(mirrored, shifted) + 0.25      # measured 0.67 vs 0.04 / 0.32
    for g in cands.grasps:                                               # every centre on the object
        assert mask[int(round(g.center_xy_px[1])), int(round(g.center_xy_px[0]))]
        assert -np.pi / 2 <= g.angle_rad < np.pi / 2


def test_fc_policy_plans_through_the_gate_and_refuses_empty_frames(tmp_path):
    d, mask, _, _ = box_scene()
    path = _net().save(tmp_path / "gq.npz", metadata={"dataset": {"crop_px": 96, "gripper": "robotiq_2f85"}})
    pol = load_policy("fc-gqcnn", model=path)
    out = pol.plan(Frame(d, mask=mask, intrinsics=INTR), max_grasps=3)
    assert 1 <= len(out) <= 3 and out[0].width_m <= 0.085 + 1e-9
    assert [g.score for g in out] == sorted((g.score for g in out), reverse=True)
    assert pol.spec()["options"]["angle_bins"] == 8 and pol.last_stats["grid"].startswith("8×")
    scored = pol.last_stats["grasps_scored"]
    assert pol.spec()["options"]["refine_angle"] and scored % 7 == 0 < scored           # 7 crops per refined grasp
    from grasplab.errors import NoGraspFoundError
    with pytest.raises(NoGraspFoundError, match="above the table"):
        pol.plan(Frame(np.full((480, 640), 0.7), intrinsics=INTR))
    with pytest.raises(ConfigError, match="angle bin"):
        load_policy("fc-gqcnn", model=path, angle_bins=0)


def test_training_camera_leaves_training_frames_alone_and_rescales_others():
    cam = TrainingCamera(crop_side_m=(0.129, 0.141, 0.153), table_depth_m=(1.41, 1.50, 1.59))
    # a Jacquard-like frame (f 1000 px, 1.45 m): inside both ranges, nothing changes
    assert cam.crop_scale(96, 1000.0, np.array([1.45]))[0] == pytest.approx(1.0)
    assert cam.depth_offset_m(1.45) == 0.0
    # a PhoXi-like frame (f 1100 px, 0.8 m): 96 px span 7 cm; stretched to the 12.9 cm minimum
    s = cam.crop_scale(96, 1100.0, np.array([0.8]))[0]
    assert 96 * s * 0.8 / 1100 == pytest.approx(0.129)
    assert cam.depth_offset_m(0.7) == pytest.approx(0.71)          # a Primesense table at 0.7 m moves to 1.41 m
    assert TrainingCamera.from_dict(cam.to_dict()) == cam and TrainingCamera.from_dict(None) is None
    with pytest.raises(ConfigError, match="percentiles"):
        TrainingCamera((0.2, 0.1, 0.3), (1, 1, 1))


def test_table_depth_of_a_tilted_camera():
    from scipy.spatial.transform import Rotation
    q = Rotation.from_euler("x", 180 + 30, degrees=True).as_quat()   # looking down, tilted 30°
    pose = np.r_[0, 0, 1.0, q[3], q[0], q[1], q[2]]
    assert table_depth_at_centre(pose)[0] == pytest.approx(1.0 / np.cos(np.radians(30)))


def test_metric_crops_see_the_same_object_from_another_camera():
    """The same box seen with twice the focal length: metric crops of the same grasp agree."""
    cam = TrainingCamera(crop_side_m=(0.12, 0.122, 0.124), table_depth_m=(0.69, 0.70, 0.71))
    near = CameraIntrinsics(fx=1050.0, fy=1050.0, cx=639.5, cy=479.5, width=1280, height=960)
    table, top = 0.70, 0.67
    images = []
    for intr in (INTR, near):
        d = np.full((intr.height, intr.width), table)
        px = intr.fx / top
        y, x = np.indices(d.shape)
        d[(np.abs(x - intr.cx) < 0.02 * px) & (np.abs(y - intr.cy) < 0.05 * px)] = top
        images.append(d)
    crops = [rotated_crops(img, np.array([[intr.cx, intr.cy]]), np.array([0.0]), 96, 32,
                           crop_scale=cam.crop_scale(96, intr.fx, np.array([top + 0.01])))[0]
             for img, intr in zip(images, (INTR, near))]
    assert np.mean(np.abs(crops[0] - crops[1]) > 0.005) < 0.05      # the same box, the same pixels (edges aside)
    raw = rotated_crops(images[1], np.array([[near.cx, near.cy]]), np.array([0.0]), 96, 32)[0]
    assert np.mean(np.abs(crops[0] - raw) > 0.005) > 0.2            # raw 96-px crops would not agree


def test_nms_by_place_and_angle():
    """Greedy suppression: within the radius, any angle at π/2; at π/8 another angle at the same
    place is kept unless it lies within π/8 of a kept one, counted modulo π (−80° and +85° are
    15° apart as jaw axes)."""
    from grasplab.policies.fc_gqcnn_policy import _nms
    deg = np.radians
    x = np.array([0.0, 1.0, 0.0, 0.0, 50.0, 0.0])
    y = np.zeros(6)
    a = deg(np.array([-80.0, 40.0, 85.0, -50.0, 85.0, 10.0]))
    q = np.array([0.9, 0.8, 0.7, 0.6, 0.5, -1.0])              # the last lies off the mask
    order = np.argsort(-q)
    assert _nms(order, q, x, y, a, 5.0, np.pi / 2, 10) == [0, 4]
    assert _nms(order, q, x, y, a, 5.0, np.pi / 8, 10) == [0, 1, 3, 4]     # 85° is 15° from −80°: dropped
    assert _nms(order, q, x, y, a, 5.0, np.pi / 8, 2) == [0, 1]
    assert _nms(order, q, x, y, a, 0.0, np.pi / 8, 10) == [0, 1, 2, 3, 4]


def test_table_opening_is_binary_opening():
    """``open_square`` (separable and/or of shifted copies) removes the same specks as
    ``binary_opening`` by a 3×3 square twice, borders included."""
    import scipy.ndimage as ndi

    from grasplab.imaging.table_plane import open_square
    rng = np.random.default_rng(0)
    for _ in range(100):
        m = rng.random(tuple(rng.integers(1, 30, 2))) < rng.random()
        want = ndi.binary_opening(m, np.ones((3, 3), bool), iterations=2)
        assert np.array_equal(open_square(m, 5), want)


def _fc(tmp_path, **options):
    path = _net(3).save(tmp_path / "gq.npz", metadata={"dataset": {"crop_px": 96, "gripper": "robotiq_2f85"}})
    return load_policy("fc-gqcnn", model=path, **options)


def test_views_turned_by_90_degrees_are_shared(tmp_path):
    """With an even number of angles, view k + K/2 is view k turned by 90°: the views filled by
    sharing equal the ones sampled one by one, whatever windows are asked for."""
    d, _, _, _ = box_scene(short_m=0.05, long_m=0.09)
    d = d + 0.002 * np.random.default_rng(1).standard_normal(d.shape)
    pol = _fc(tmp_path)
    n, step, centre = 48, 3.0, (321.3, 238.7)
    angles = -np.pi / 2 + np.pi * (np.arange(8) + 0.5) / 8
    img = torch.from_numpy(d.astype(np.float32))
    windows = {0: (0, 48, 0, 48), 4: (4, 40, 8, 48), 1: (0, 32, 16, 48), 5: (16, 48, 0, 32), 2: (8, 24, 8, 24),
               6: (0, 16, 32, 48), 7: (12, 40, 4, 44)}             # pairs that overlap and pairs that do not
    shared = torch.full((8, 1, n, n), float("inf"))
    pol._fill_views(shared, img, centre, angles, step, windows)
    for k, (r0, r1, c0, c1) in windows.items():
        alone = pol._rotated(img, centre, angles[k], n, step, (r0, r1, c0, c1))
        torch.testing.assert_close(shared[k, 0, r0:r1, c0:c1], alone, atol=1e-5, rtol=0)
    assert torch.isinf(shared[3]).all()                              # a view without outputs is left alone


def test_view_windows_are_quantised_and_hold_what_outputs_read():
    from grasplab.policies.fc_gqcnn_policy import _QUANTUM_PX, _REACH_PX, _span
    rng = np.random.default_rng(2)
    for _ in range(200):
        n = _QUANTUM_PX * int(rng.integers(3, 15))
        h = n // 4 - 8 + 1
        idx = rng.integers(0, h, int(rng.integers(1, 6)))
        lo, hi = _span(idx, 8, n)
        assert 0 <= lo and hi <= n and lo % 4 == 0 and (hi - lo) % _QUANTUM_PX == 0
        assert lo <= max(0, 4 * idx.min() - _REACH_PX) and hi >= min(n, 4 * (idx.max() + 8) + _REACH_PX)


def test_bfloat16_dense_pass_plans_what_float32_plans(tmp_path):
    """The dense convolutions in bfloat16 rank the same grasps as in float32 on a box (scores
    within 0.01), and an unknown number type is refused."""
    d, mask, _, _ = box_scene(short_m=0.05, long_m=0.09)
    d = d + 0.002 * np.random.default_rng(0).standard_normal(d.shape)
    frame = Frame(d, mask=mask, intrinsics=INTR)
    plans = {dt: _fc(tmp_path, dense_dtype=dt).plan(frame, max_grasps=3) for dt in ("float32", "bfloat16")}
    assert _fc(tmp_path, dense_dtype="bfloat16").dense.conv_dtype == torch.bfloat16
    a, b = plans["float32"][0], plans["bfloat16"][0]
    assert np.allclose(a.grasp.center_xy_px, b.grasp.center_xy_px) and a.grasp.angle_rad == b.grasp.angle_rad
    assert abs(a.score - b.score) < 0.01
    with pytest.raises(ConfigError, match="number type"):
        _fc(tmp_path, dense_dtype="float16")


def test_angle_refinement_turns_the_best_by_half_a_bin(tmp_path):
    d, mask, _, _ = box_scene(short_m=0.05, long_m=0.09)
    frame = Frame(d + 0.002 * np.random.default_rng(0).standard_normal(d.shape), mask=mask, intrinsics=INTR)
    plain, turned = _fc(tmp_path, refine=4, refine_angle=False), _fc(tmp_path, refine=4)
    grid = set(np.round(-np.pi / 2 + np.pi * (np.arange(8) + 0.5) / 8, 6))
    out_plain, out_turned = plain.plan(frame, max_grasps=4), turned.plan(frame, max_grasps=4)
    assert all(round(g.grasp.angle_rad, 6) in grid for g in out_plain)
    half = np.pi / 16
    for g in out_turned:                              # on the grid or half a bin off it, inside [−π/2, π/2)
        off = min(abs((g.grasp.angle_rad - a + np.pi / 2) % np.pi - np.pi / 2) for a in grid)
        assert min(off, abs(off - half)) < 1e-6 and -np.pi / 2 <= g.grasp.angle_rad < np.pi / 2
    assert turned.last_stats["grasps_scored"] == 4 * 7 and plain.last_stats["grasps_scored"] == 4 * 5
    assert max(g.score for g in out_turned) >= max(g.score for g in out_plain) - 1e-6
