import json

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is not installed")

from grasplab.cli import main  # noqa: E402
from grasplab.errors import GrasplabError  # noqa: E402
from grasplab.geometry import PRIMESENSE  # noqa: E402
from grasplab.policies import load_detector  # noqa: E402
from oracle_models import PeakOracle, save_for_detection  # noqa: E402


@pytest.fixture
def oracle_path(tmp_path):
    return save_for_detection(PeakOracle(row=48, col=60), tmp_path / "oracle.npz", crop="center")


def test_detections_map_back_to_the_full_frame(oracle_path, shared_data):
    det = load_detector(oracle_path)
    depth = np.load(shared_data / "gqcnn/primesense/depth_0.npy")
    (g, *_) = det.detect(depth, intrinsics=PRIMESENSE)
    # centre crop of 480 px starting at column 80, scaled to 96 px (×0.2): output (r 48, c 60) →
    x, y = (60 + 0.5) / 0.2 - 0.5 + 80, (48 + 0.5) / 0.2 - 0.5
    np.testing.assert_allclose(g.grasp.center_xy_px, (x, y), atol=1e-6)
    assert g.grasp.width_px == pytest.approx(30 / 0.2, rel=1e-6) and g.grasp.angle_rad == pytest.approx(0.0)
    z = float(depth[int(round(y)), int(round(x)), 0])
    assert g.grasp.depth_m == pytest.approx(z)
    assert g.width_m == pytest.approx(150 * z / 525.0, rel=1e-6)
    np.testing.assert_allclose(g.center_m, [(x - 319.5) * z / 525, (y - 239.5) * z / 525, z], atol=1e-9)
    # the same frame in millimetres gives the same grasp
    (g_mm, *_) = det.detect(np.round(depth * 1000).astype(np.uint16))
    np.testing.assert_allclose(g_mm.grasp.center_xy_px, g.grasp.center_xy_px)


def test_bad_frames_get_clear_errors(oracle_path):
    det = load_detector(oracle_path)
    with pytest.raises(GrasplabError, match="no valid pixels"):
        det.detect(np.zeros((480, 640)))
    with pytest.raises(GrasplabError, match="intrinsics"):
        det.detect(np.full((240, 320), 0.7), intrinsics=PRIMESENSE)
    with pytest.raises(GrasplabError, match="neither a model file nor a pretrained"):
        load_detector("missing.npz")


def test_predict_cli_writes_json_and_overlay(oracle_path, shared_data, tmp_path):
    with pytest.raises(SystemExit) as exc:
        main(["predict", "--model", str(oracle_path), "--depth", str(shared_data / "gqcnn/primesense/depth_1.npy"),
              "--intrinsics", str(shared_data / "gqcnn/calib/primesense.intr"), "--out", str(tmp_path / "p")])
    assert exc.value.code in (0, None)
    out = json.loads((tmp_path / "p" / "grasps.json").read_text())
    assert out["grasps"] and "center_m" in out["grasps"][0] and out["grasplab_version"]
    assert (tmp_path / "p" / "overlay.png").stat().st_size > 5000
