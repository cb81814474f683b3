"""Test-time augmentation: with a network that is exactly equivariant to mirrors and quarter
turns, averaging over views must give back the single view's maps (angles included)."""
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is not installed")

from grasplab.errors import ConfigError  # noqa: E402
from grasplab.models import GraspMapModel, register_model  # noqa: E402
from grasplab.imaging import Frame  # noqa: E402
from grasplab.policies import load_detector  # noqa: E402
from grasplab.policies.map_augmentation import VIEWS, augmented_grasp_maps, unview_maps, view_image  # noqa: E402
from oracle_models import PeakOracle, save_for_detection  # noqa: E402


@register_model("gradient_oracle_for_tests")
class GradientOracle(GraspMapModel):
    """Grasps across depth edges: quality = blurred gradient magnitude, angle = gradient
    direction (structure tensor), width 0.2. Equivariant to the square's symmetries."""

    def __init__(self, input_channels: int = 1):
        super().__init__(input_channels=input_channels)
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def head_output(self, x):
        gy, gx = torch.gradient(x, dim=(2, 3))
        mag = gx ** 2 + gy ** 2
        q = torch.nn.functional.avg_pool2d(mag, 5, stride=1, padding=2)
        q = q / (q.amax(dim=(2, 3), keepdim=True) + 1e-12)
        return torch.cat([q, (gx ** 2 - gy ** 2) / (mag + 1e-12), 2 * gx * gy / (mag + 1e-12), torch.full_like(x, 0.2)],
                         dim=1)


def gradient_maps(x):
    with torch.no_grad():
        return [m[0, 0].numpy() for m in GradientOracle()(torch.from_numpy(np.ascontiguousarray(x)))]


def block(angle, size=64):
    y, x = np.indices((size, size)) - (size - 1) / 2 + [[[3.0]], [[-5.0]]]
    u = x * np.cos(angle) + y * np.sin(angle)
    v = -x * np.sin(angle) + y * np.cos(angle)
    return np.where((np.abs(u) < 6) & (np.abs(v) < 14), -0.08, 0.0)[None, None].astype(np.float32)


@pytest.mark.parametrize("views", [2, 4, 8])
def test_equivariant_network_gives_the_same_maps_in_every_view(views):
    x = block(0.4)
    single = gradient_maps(x)
    for turns, mirrored in VIEWS[views]:          # each view, brought back, is the original
        back = unview_maps(gradient_maps(view_image(x, turns, mirrored)), turns, mirrored)
        for a, b in zip(single, back):
            np.testing.assert_allclose(a, b, atol=1e-5)
    averaged = augmented_grasp_maps(gradient_maps, x, views)
    for a, b in zip(single, averaged):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_a_network_blind_to_turns_is_averaged_away():
    """A network that always answers θ = 0 in its own view: turned back, two of four quarter
    turns say θ = 90°, so the averaged cos 2θ is 0; mirrors keep θ = 0."""
    def fixed(x):
        h, w = x.shape[-2:]
        return [np.ones((h, w)), np.ones((h, w)), np.zeros((h, w)), np.full((h, w), 0.2)]
    x = block(0.0)
    assert np.allclose(augmented_grasp_maps(fixed, x, 4)[1], 0.0)
    assert np.allclose(augmented_grasp_maps(fixed, x, 2)[1], 1.0)
    with pytest.raises(ConfigError, match="choose 1"):
        augmented_grasp_maps(fixed, x, 3)
    with pytest.raises(ConfigError, match="square input"):
        augmented_grasp_maps(fixed, np.zeros((1, 1, 32, 48)), 2)


def test_detector_with_views_finds_the_same_grasp(tmp_path):
    path = save_for_detection(GradientOracle(), tmp_path / "g.npz")
    depth = 0.7 + np.kron(block(0.4, 48)[0, 0], np.ones((3, 3)))          # 144² frame, the block raised
    frame = Frame.from_images(depth)
    one = load_detector(path).plan(frame, max_grasps=10)
    eight = load_detector(path, views=8).plan(frame, max_grasps=10)
    assert one and len(one) == len(eight)
    for a, b in zip(one, eight):
        np.testing.assert_allclose(a.grasp.center_xy_px, b.grasp.center_xy_px, atol=1e-6)
        assert a.grasp.angle_rad == pytest.approx(b.grasp.angle_rad, abs=1e-4)
        assert a.score == pytest.approx(b.score, abs=1e-5)


def test_predict_cli_views(tmp_path, capsys):
    from grasplab.cli import main
    path = save_for_detection(GradientOracle(), tmp_path / "g.npz")
    np.save(tmp_path / "d.npy", 0.7 + np.kron(block(0.4, 48)[0, 0], np.ones((3, 3))))
    grasps = {}
    for views in (1, 8):
        with pytest.raises(SystemExit) as exc:
            main(["predict", "--model", str(path), "--depth", str(tmp_path / "d.npy"), "--views", str(views),
                  "--out", str(tmp_path / f"p{views}")])
        assert exc.value.code in (0, None)
        report = json.loads((tmp_path / f"p{views}" / "grasps.json").read_text())
        assert report["config"]["policy"]["options"]["views"] == views
        grasps[views] = report["grasps"]
    assert grasps[1] and [g["center_xy_px"] for g in grasps[1]] == [g["center_xy_px"] for g in grasps[8]]
    with pytest.raises(SystemExit) as exc:
        main(["predict", "--model", str(path), "--depth", str(tmp_path / "d.npy"), "--views", "3",
              "--out", str(tmp_path / "bad")])
    assert exc.value.code != 0 and "--views 3" in capsys.readouterr().err


def test_detector_views_reach_the_network(tmp_path):
    """Averaged over four quarter turns, a fixed off-centre peak lands on four places at a
    quarter of its height: the detector really runs the turned views."""
    path = save_for_detection(PeakOracle(row=30, col=60), tmp_path / "o.npz")
    x = torch.zeros(1, 1, 96, 96)
    q1 = load_detector(path).grasp_maps(x)[0]
    q4 = load_detector(path, views=4).grasp_maps(x)[0]
    peaks = [(30, 60), (60, 65), (65, 35), (35, 30)]      # (row, col) turned by quarter turns
    assert q1[30, 60] == pytest.approx(1.0) and q1[60, 65] < 1e-6
    for r, c in peaks:
        assert q4[r, c] == pytest.approx(0.25, abs=1e-4)


class GraspAtPeak:
    """A flat 96² scene whose one labelled grasp lies where a PeakOracle(row=30, col=60)'s peak is."""

    def depth_m(self):
        return np.full((96, 96), 0.7)

    def rgb(self):
        return np.zeros((96, 96, 3), np.uint8)

    def mask(self):
        return np.ones((96, 96), bool)

    def rectangles(self):
        from grasplab.geometry import Grasp2D, GraspRectangle
        return [GraspRectangle.from_grasp2d(Grasp2D((60.0, 30.0), 0.0, 30.0, 15.0))]


def test_evaluation_runs_the_views(tmp_path):
    """One view: the peak is the labelled grasp. Two views (mirror): the peak is split between
    the grasp and its mirror image at half height, and the report says so."""
    from grasplab.evaluation import evaluate_policy
    from grasplab.policies import load_policy
    path = save_for_detection(PeakOracle(row=30, col=60), tmp_path / "o.npz")
    one = evaluate_policy(load_policy(path), [GraspAtPeak()], k=2, figures=0)
    two = evaluate_policy(load_policy(path, views=2), [GraspAtPeak()], k=2, out_dir=tmp_path / "e", figures=0)
    assert one.top1.value == 1.0 and one.per_scene[0]["grasps"] == 1
    assert two.per_scene[0]["grasps"] == 2 and two.topk.value == 1.0
    assert two.per_scene[0]["score"] == pytest.approx(one.per_scene[0]["score"] / 2, rel=1e-3)
    assert json.loads((tmp_path / "e" / "evaluation.json").read_text())["config"]["policy"]["options"]["views"] == 2
