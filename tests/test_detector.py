"""The grasp-map policy on camera frames: the window's forward and inverse maps, grasps mapped back
to the full frame in pixels and metres, and the gate that keeps every grasp in the frame and on
the mask (objects at the border, a metric window larger than the frame)."""
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is not installed")

from grasplab.cli import main  # noqa: E402
from grasplab.errors import GrasplabError, NoGraspFoundError  # noqa: E402
from grasplab.geometry import PRIMESENSE, CameraIntrinsics, Grasp2D  # noqa: E402
from grasplab.imaging import Frame, Window  # noqa: E402
from grasplab.policies import GraspMapPolicy, load_detector, load_policy  # noqa: E402
from oracle_models import PeakOracle, save_for_detection  # noqa: E402


@pytest.fixture
def oracle_path(tmp_path):
    return save_for_detection(PeakOracle(row=48, col=60), tmp_path / "oracle.npz", crop="center")


def test_window_maps_points_and_grasps_both_ways():
    win = Window(top=-20.0, left=35.5, side=150.0, out=96)
    xy = np.array([[0.0, 0.0], [12.25, 99.5], [-40.0, 300.0]])
    np.testing.assert_allclose(win.to_frame(win.map_points(xy)), xy, atol=1e-12)
    # pixel centres: the window's first output pixel centre lies half an output pixel in from its edge
    np.testing.assert_allclose(win.to_frame([0.0, 0.0]), [35.5 + 0.5 / win.scale - 0.5, -20 + 0.5 / win.scale - 0.5])
    g = Grasp2D((50.0, 30.0), 0.4, 30.0, 15.0, 0.7)
    back = win.grasp_to_frame(win.grasp_to_output(g))
    np.testing.assert_allclose(back.center_xy_px, g.center_xy_px, atol=1e-12)
    assert back.width_px == pytest.approx(30.0) and back.jaw_px == pytest.approx(15.0) and back.angle_rad == g.angle_rad
    # the output pixels that see the frame: rows above the frame (top < 0) and columns past it are out
    inside = win.output_inside((100, 120))
    rows = win.to_frame(np.c_[np.zeros(96), np.arange(96.0)])[:, 1]
    cols = win.to_frame(np.c_[np.arange(96.0), np.zeros(96)])[:, 0]
    np.testing.assert_array_equal(inside, ((rows >= -0.5) & (rows < 99.5))[:, None] & ((cols >= -0.5) & (cols < 119.5))[None])
    assert not inside.all() and inside.any()


def test_grasps_map_back_to_the_full_frame(oracle_path, shared_data):
    pol = load_detector(oracle_path)
    depth = np.load(shared_data / "gqcnn/primesense/depth_0.npy")
    (g, *_) = pol.plan(Frame.from_images(depth, intrinsics=PRIMESENSE))
    # centre crop of 480 px starting at column 80, scaled to 96 px (×0.2): output (r 48, c 60) →
    x, y = (60 + 0.5) / 0.2 - 0.5 + 80, (48 + 0.5) / 0.2 - 0.5
    np.testing.assert_allclose(g.grasp.center_xy_px, (x, y), atol=1e-6)
    assert g.grasp.width_px == pytest.approx(30 / 0.2, rel=1e-6) and g.grasp.angle_rad == pytest.approx(0.0)
    z = float(depth[int(round(y)), int(round(x)), 0])
    assert g.grasp.depth_m == pytest.approx(z)
    assert g.width_m == pytest.approx(150 * z / 525.0, rel=1e-6)
    np.testing.assert_allclose(g.center_m, [(x - 319.5) * z / 525, (y - 239.5) * z / 525, z], atol=1e-9)
    assert 0.0 <= g.score <= 1.0 and not g.on_hole
    np.testing.assert_allclose(g.rectangle().center_xy_px, (x, y), atol=1e-9)
    # the same frame in millimetres gives the same grasp
    (g_mm, *_) = pol.plan(Frame.from_images(np.round(depth * 1000).astype(np.uint16)))
    np.testing.assert_allclose(g_mm.grasp.center_xy_px, g.grasp.center_xy_px)


def _metric_oracle(tmp_path, row, col, px_per_m=400.0, output_px=96):
    return PeakOracle(row=row, col=col).save(tmp_path / f"metric-{row}-{col}.npz", metadata={"preprocess": {
        "inputs": "depth", "output_px": output_px, "crop": "resize", "depth_reference": "table", "px_per_m": px_per_m}})


def test_a_metric_window_larger_than_the_frame_never_returns_grasps_outside_it(tmp_path):
    """A wide 386-row frame seen at a scale that makes the model's input cover 480 frame pixels:
    the window runs past the top and bottom. A quality peak placed in the part above the frame
    gives no grasp there; the policy finds the frame's own peak or says there is none."""
    intr = CameraIntrinsics(fx=600.0, fy=600.0, cx=257.5, cy=192.5, width=516, height=386)
    depth = np.full((386, 516), 0.75)
    frame = Frame.from_images(depth, intrinsics=intr)
    # px/m at the object 800; the model's 96-px input at 160 px/m covers 96 × 800 / 160 = 480 px
    pol = GraspMapPolicy(_metric_oracle(tmp_path, row=3, col=48, px_per_m=160.0))
    win = pol.prepare(frame).window
    assert win.side == pytest.approx(480.0) and win.top < 0 and win.top + win.side > 386
    # row 3 of the input maps to frame row 3.5 × 5 − 0.5 − 47 ≈ −30: above the image
    assert win.to_frame([48.0, 3.0])[1] < -0.5
    with pytest.raises(NoGraspFoundError, match="no pixel of the smoothed quality map in the frame"):
        pol.plan(frame)
    # a peak inside the frame comes back, inside it
    (g, *_) = GraspMapPolicy(_metric_oracle(tmp_path, row=48, col=48, px_per_m=160.0)).plan(frame)
    x, y = g.grasp.center_xy_px
    assert -0.5 <= y < 385.5 and -0.5 <= x < 515.5


def test_objects_touching_the_border_and_masks_keep_grasps_on_the_object(tmp_path):
    """An object at the frame's left edge, seen at a scale that makes the model's input cover 400
    frame pixels: centred on the mask, the window runs past the top, bottom and left edges. The
    model's peak lies left of the frame, off the mask; what comes back is on the mask (the blob's
    tail there), and never outside the frame."""
    intr = CameraIntrinsics(fx=500.0, fy=500.0, cx=159.5, cy=119.5, width=320, height=240)
    depth = np.full((240, 320), 0.8)
    mask = np.zeros((240, 320), bool)
    mask[100:140, 0:30] = True                           # the object touches the left border
    depth[mask] = 0.75
    frame = Frame.from_images(depth, mask=mask, intrinsics=intr)
    # 666.7 px/m at the object; the model's 96-px input at 160 px/m covers 400 frame pixels
    path = _metric_oracle(tmp_path, row=48, col=40, px_per_m=160.0)
    pol = GraspMapPolicy(path)
    win = pol.prepare(frame).window
    assert win.side == pytest.approx(400.0) and win.left < 0 and win.top < 0 and win.top + win.side > 240
    assert win.to_frame([40.0, 48.0])[0] < -0.5          # the raw peak: left of the frame
    grasps = pol.plan(frame, max_grasps=5)
    for g in grasps:
        x, y = g.grasp.center_xy_px
        assert -0.5 <= x < 319.5 and -0.5 <= y < 239.5 and mask[int(round(y)), int(round(x))], (x, y)
    # without the mask the window is centred on the image and the same model's peak lies inside it
    (g,) = pol.plan(frame.with_mask(None), max_grasps=1)
    assert 0 <= g.grasp.center_xy_px[0] < 320 and not mask[int(round(g.grasp.center_xy_px[1])),
                                                          int(round(g.grasp.center_xy_px[0]))]


def test_bad_frames_and_requests_get_clear_errors(oracle_path):
    pol = load_detector(oracle_path)
    with pytest.raises(GrasplabError, match="no valid pixels"):
        Frame.from_images(np.zeros((480, 640)))
    with pytest.raises(GrasplabError, match="intrinsics"):
        Frame.from_images(np.full((240, 320), 0.7), intrinsics=PRIMESENSE)
    with pytest.raises(GrasplabError, match="mask is empty"):
        Frame.from_images(np.full((240, 320), 0.7), mask=np.zeros((240, 320), bool))
    with pytest.raises(GrasplabError, match="holes"):
        Frame(np.zeros((240, 320)))
    frame = Frame.from_images(np.full((240, 320), 0.7))
    for bad in (0, -1, 2.5, True):
        with pytest.raises(GrasplabError, match="max_grasps"):
            pol.plan(frame, max_grasps=bad)
    with pytest.raises(GrasplabError, match="Frame"):
        pol.plan(np.full((240, 320), 0.7))
    with pytest.raises(GrasplabError, match="intrinsics"):
        load_policy(oracle_path, gripper="robotiq_2f85").plan(frame)
    with pytest.raises(GrasplabError, match="neither a model file nor a pretrained"):
        load_detector("missing.npz")


def test_predict_cli_writes_json_and_overlay(oracle_path, shared_data, tmp_path):
    with pytest.raises(SystemExit) as exc:
        main(["predict", "--model", str(oracle_path), "--depth", str(shared_data / "gqcnn/primesense/depth_1.npy"),
              "--intrinsics", str(shared_data / "gqcnn/calib/primesense.intr"), "--out", str(tmp_path / "p")])
    assert exc.value.code in (0, None)
    out = json.loads((tmp_path / "p" / "grasps.json").read_text())
    g = out["grasps"][0]
    assert "center_m" in g and "T_camera_gripper" in g and 0 <= g["score"] <= 1 and out["grasplab_version"]
    assert out["config"]["policy"]["policy"] == "map"
    assert (tmp_path / "p" / "overlay.png").stat().st_size > 5000


def test_predict_cli_says_why_when_there_is_no_grasp(tmp_path, capsys):
    """A frame on which the model finds nothing: exit 2 with the reason, and the files still written."""
    model = _metric_oracle(tmp_path, row=3, col=48, px_per_m=160.0)
    np.save(tmp_path / "d.npy", np.full((386, 516), 0.75))
    intr = tmp_path / "c.intr"
    intr.write_text(CameraIntrinsics(fx=600.0, fy=600.0, cx=257.5, cy=192.5, width=516, height=386).to_intr_json())
    with pytest.raises(SystemExit) as exc:
        main(["predict", "--model", str(model), "--depth", str(tmp_path / "d.npy"), "--intrinsics", str(intr),
              "--out", str(tmp_path / "p")])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "no grasp found" in err and "Traceback" not in err
    out = json.loads((tmp_path / "p" / "grasps.json").read_text())
    assert out["grasps"] == [] and "quality map" in out["no_grasp"]
    assert (tmp_path / "p" / "overlay.png").is_file()
