"""bench detect's reference pipeline, peak extraction against scikit-image, ONNX export."""
import numpy as np
import pytest
import torch
from torch import nn

from grasplab.errors import GrasplabError
from grasplab.models import GGCNN
from grasplab.policies import load_detector
from grasplab.policies.map_decoding import local_maxima


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    torch.manual_seed(0)
    m = GGCNN()
    for p in m.parameters():
        nn.init.normal_(p, 0, 0.1)
    path = tmp_path_factory.mktemp("m") / "ggcnn.npz"
    m.save(path, {"preprocess": {"inputs": "depth", "output_px": 300, "crop": "center"}})
    return path


def test_local_maxima_match_scikit_image():
    skf = pytest.importorskip("skimage.feature", reason="scikit-image (the dev/bench extra) is not installed")
    import scipy.ndimage as ndi
    rng = np.random.default_rng(3)
    for _ in range(5):
        q = ndi.gaussian_filter(rng.random((120, 150)), 3)
        q = (q - q.min()) / np.ptp(q)
        ours = local_maxima(q, 10, 0.3, 8)
        ref = skf.peak_local_max(q, min_distance=10, threshold_abs=0.3, num_peaks=8)
        np.testing.assert_array_equal(ours, ref)


def test_bench_detect_runs_and_pipelines_agree(model_file):
    pytest.importorskip("skimage", reason="scikit-image (the dev/bench extra) is not installed")
    from grasplab.bench.detect_bench import run_detect_bench
    res = run_detect_bench(str(model_file), frames=2, distinct_frames=2, threads=1)
    assert res["all_identical"], res["identical_grasps"]
    assert {r["pipeline"] for r in res["results"]} >= {"grasplab", "reference GG-CNN"}
    assert res["speedup_vs_reference"] > 0


def test_network_arithmetic_matches_the_ggcnn_figure():
    from grasplab.bench.detect_bench import network_gflop
    from grasplab.models import GGCNN2
    assert network_gflop(GGCNN(), 300) == pytest.approx(1.06, abs=0.005)     # the issue's ~1.06 GFLOP
    # the cheap head: the last up-sampling layer and the heads shrink 4×, the rest is unchanged
    assert network_gflop(GGCNN(), 300) - network_gflop(GGCNN(head_filters=8), 300) == pytest.approx(
        0.75 * (2 * 100 ** 2 * 16 * 32 * 81 + 2 * 300 ** 2 * 32 * 4 * 4) / 1e9, rel=1e-6)
    assert network_gflop(GGCNN2(), 300) > 2.9 * network_gflop(GGCNN(), 300)     # 3.14 GFLOP


def test_same_top_grasp_tolerances():
    from grasplab.bench.detect_bench import _same_top_grasp
    from grasplab.geometry import Grasp2D

    def top(cx=100.0, angle_deg=20.0, width=40.0):
        return [(Grasp2D((cx, 80.0), np.deg2rad(angle_deg), width, width / 2), 0.9)]
    assert _same_top_grasp(top(), top()) and _same_top_grasp([], [])
    assert _same_top_grasp(top(cx=102.9, angle_deg=29.9, width=43.9), top())
    assert not _same_top_grasp(top(cx=103.1), top())               # centre 3.1 px away
    assert not _same_top_grasp(top(angle_deg=30.1), top())         # 10.1°
    assert not _same_top_grasp(top(width=44.1), top())             # 10.25 % wider
    assert _same_top_grasp(top(angle_deg=-85.0), top(angle_deg=90.0))   # 5° across the ±90° wrap
    assert not _same_top_grasp(top(), []) and not _same_top_grasp([], top())


def test_bench_times_a_student_beside_its_teachers_reference(model_file, tmp_path):
    pytest.importorskip("skimage", reason="scikit-image (the dev/bench extra) is not installed")
    from grasplab.bench.detect_bench import run_detect_bench
    from grasplab.errors import ConfigError
    torch.manual_seed(1)
    student = GGCNN(head_filters=8)
    for p in student.parameters():
        nn.init.normal_(p, 0, 0.1)
    path = student.save(tmp_path / "student.npz", {"preprocess": {"inputs": "depth", "output_px": 300, "crop": "center"}})
    res = run_detect_bench(str(path), frames=1, distinct_frames=1, threads=1, reference_model_path=str(model_file))
    assert res["reference_model"] == str(model_file) and res["network_gflop"]["reference"] > 2.5 * res[
        "network_gflop"]["grasplab"]
    assert res["same_top_grasp"].startswith(("0/1", "1/1"))
    other = GGCNN().save(tmp_path / "other.npz", {"preprocess": {"inputs": "depth", "output_px": 300, "crop": "resize"}})
    with pytest.raises(ConfigError, match="preprocess depth differently"):
        run_detect_bench(str(path), frames=1, distinct_frames=1, threads=1, reference_model_path=str(other))


def test_onnx_export_gives_the_same_grasps(model_file, tmp_path):
    pytest.importorskip("onnxruntime", reason="onnxruntime (the onnx extra) is not installed")
    from grasplab.models.onnx_export import export_onnx
    onnx_path = export_onnx(model_file, tmp_path / "m.onnx")
    rng = np.random.default_rng(0)
    depth = 0.7 + 0.003 * rng.standard_normal((300, 300))
    depth[100:180, 120:170] -= 0.04
    from grasplab.imaging import Frame
    from grasplab.policies import GraspMapPolicy, MapDecodingConfig
    dec = MapDecodingConfig(threshold=-1e9)          # an untrained net: keep every peak
    ta, tb = GraspMapPolicy(model_file, decoding=dec), GraspMapPolicy(onnx_path, decoding=dec)
    frame = Frame.from_images(depth)
    x = ta.prepare(frame).x
    for ma, mb in zip(ta.grasp_maps(x), tb.grasp_maps(x)):
        np.testing.assert_allclose(ma, mb, atol=1e-4)
    a, b = ta.plan(frame, max_grasps=10), tb.plan(frame, max_grasps=10)
    assert len(a) == len(b) > 0
    for ga, gb in zip(a, b):
        assert ga.grasp.center_xy_px == gb.grasp.center_xy_px
        assert abs(ga.grasp.angle_rad - gb.grasp.angle_rad) < 1e-4
        assert abs(ga.grasp.width_px - gb.grasp.width_px) < 1e-3


def test_unknown_model_name_is_a_clear_error():
    with pytest.raises(GrasplabError, match="pretrained"):
        load_detector("no-such-model")


def test_metric_scale_window(model_file, tmp_path):
    """With a metric input scale and intrinsics, the crop covers output_px / px_per_m metres."""
    from grasplab.geometry import CameraIntrinsics
    from grasplab.models import load_model
    m = load_model(model_file)
    path = tmp_path / "scaled.npz"
    m.save(path, {"preprocess": {"inputs": "depth", "output_px": 300, "crop": "resize", "px_per_m": 400.0}})
    from grasplab.imaging import Frame
    det = load_detector(path)
    K = CameraIntrinsics(525.0, 525.0, 319.5, 239.5, 640, 480)
    frame = Frame.from_images(np.full((480, 640), 0.7), intrinsics=K)
    win = det.prepare(frame).window
    # 525 px/m-at-1m / 0.7 m = 750 px/m in the frame; 300 model px = 0.75 m = 562.5 frame px
    assert win.side == pytest.approx(300 * 750 / 400)
    assert win.top + win.side / 2 == pytest.approx(240) and win.left + win.side / 2 == pytest.approx(320)
    mask = np.zeros((480, 640), bool)
    mask[100:140, 400:460] = True
    win = det.prepare(frame.with_mask(mask)).window
    # centred on the mask's box (row 120, column 430); taller than the frame, it runs past the top
    # and bottom about that centre, and it is moved sideways into the frame (562.5 ≤ 640 columns)
    assert win.top + win.side / 2 == pytest.approx(120) and win.left == pytest.approx(640 - 562.5)
    # without intrinsics the model's own crop (resize: the whole shorter side)
    assert det.prepare(Frame.from_images(np.full((480, 640), 0.7))).window.side == 480
