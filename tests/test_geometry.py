import json

import numpy as np
import pytest

from grasplab.errors import CameraError
from grasplab.geometry import PRIMESENSE, CameraIntrinsics, Grasp2D, Grasp3D, RigidTransform, wrap_angle_rad


def random_transform(rng, frm="a", to="b"):
    q = rng.normal(size=4)
    return RigidTransform.from_quaternion_wxyz(q / np.linalg.norm(q), rng.normal(size=3), frm, to)


def test_transform_inverse_and_compose_round_trip():
    rng = np.random.default_rng(0)
    T_ba = random_transform(rng, "a", "b")
    T_cb = random_transform(rng, "b", "c")
    p = rng.normal(size=(10, 3))
    np.testing.assert_allclose(T_ba.inverse().apply(T_ba.apply(p)), p, atol=1e-12)
    np.testing.assert_allclose((T_cb @ T_ba).apply(p), T_cb.apply(T_ba.apply(p)), atol=1e-12)
    np.testing.assert_allclose((T_ba @ T_ba.inverse()).matrix, np.eye(4), atol=1e-12)
    with pytest.raises(ValueError, match="do not chain"):
        T_ba @ T_cb


def test_look_at_points_optical_axis_at_target():
    T = RigidTransform.look_at([0.1, -0.2, 0.7], [0.0, 0.0, 0.0], roll_rad=0.3)
    target_cam = T.inverse().apply(np.zeros(3))
    assert target_cam[0] == pytest.approx(0, abs=1e-12) and target_cam[1] == pytest.approx(0, abs=1e-12)
    assert target_cam[2] == pytest.approx(np.linalg.norm([0.1, -0.2, 0.7]))


def test_projection_deprojection_round_trip():
    K = CameraIntrinsics(520.0, 530.0, 301.2, 297.8, 600, 600)
    rng = np.random.default_rng(1)
    pts = np.c_[rng.uniform(-0.2, 0.2, (50, 2)), rng.uniform(0.5, 1.0, 50)]
    uv = K.project(pts)
    np.testing.assert_allclose(K.deproject_pixels(uv, pts[:, 2]), pts, atol=1e-12)
    # principal point projects straight ahead
    np.testing.assert_allclose(K.project([0, 0, 1.0]), [301.2, 297.8])


def test_depth_image_to_point_cloud_of_a_plane():
    K = PRIMESENSE
    depth = np.full(K.shape, 0.7)
    cloud = K.deproject(depth)
    assert cloud.shape == (480, 640, 3)
    np.testing.assert_allclose(cloud[..., 2], 0.7)
    # the pixel (u=0, v=0) lies (0-319.5)/525*0.7 m left of and above the axis
    np.testing.assert_allclose(cloud[0, 0, :2], [-319.5 / 525 * 0.7, -239.5 / 525 * 0.7])


def test_resize_keeps_pixel_centre_convention():
    K = CameraIntrinsics(525, 525, 319.5, 239.5, 640, 480)
    half = K.resized(0.5)
    assert (half.width, half.height) == (320, 240)
    assert half.cx == pytest.approx(159.5) and half.fx == pytest.approx(262.5)


def test_intr_files_load_with_right_values(shared_data):
    prime = CameraIntrinsics.from_file(shared_data / "gqcnn/calib/primesense.intr")
    assert (prime.fx, prime.fy, prime.cx, prime.cy, prime.width, prime.height) == (525, 525, 319.5, 239.5, 640, 480)
    phoxi = CameraIntrinsics.from_file(shared_data / "gqcnn/calib/phoxi.intr")
    assert (phoxi.fx, phoxi.cx, phoxi.cy, phoxi.width, phoxi.height) == (552.5, 255.5, 191.75, 516, 386)
    assert phoxi.frame == "phoxi"


def test_intr_round_trip_and_bad_files(tmp_path):
    p = tmp_path / "cam.intr"
    p.write_text(PRIMESENSE.to_intr_json())
    assert CameraIntrinsics.from_file(p) == PRIMESENSE
    bad = tmp_path / "bad.intr"
    bad.write_text(json.dumps({"_fx": 525}))
    with pytest.raises(CameraError, match="bad.intr"):
        CameraIntrinsics.from_file(bad)
    with pytest.raises(CameraError, match="not found"):
        CameraIntrinsics.from_file(tmp_path / "missing.intr")
    with pytest.raises(CameraError, match="positive"):
        CameraIntrinsics(-1, 525, 0, 0, 10, 10)


def test_grasp_angle_wrapping_and_symmetry():
    assert wrap_angle_rad(np.pi / 2) == pytest.approx(-np.pi / 2)
    g1 = Grasp2D((100, 50), 0.3, 40)
    g2 = Grasp2D((100, 50), 0.3 + np.pi, 40)
    assert g1.angle_rad == pytest.approx(g2.angle_rad)
    # GG-CNN convention: angle = atan2(-(p1.y - p0.y), p1.x - p0.x) on the opening edge
    p0, p1 = g1.corners_xy_px(10)[:2]
    assert np.arctan2(-(p1[1] - p0[1]), p1[0] - p0[0]) == pytest.approx(0.3)
    assert np.linalg.norm(p1 - p0) == pytest.approx(40)


def test_grasp_2d_3d_round_trip():
    K = PRIMESENSE
    g = Grasp2D((350.0, 200.0), 0.7, 60.0, jaw_px=20, depth_m=0.65)
    g3 = g.to_3d(K)
    assert g3.width_m == pytest.approx(60.0 * 0.65 / 525.0)
    assert g3.center_m[2] == pytest.approx(0.65)
    back = g3.to_2d(K, jaw_px=20)
    np.testing.assert_allclose(back.center_xy_px, g.center_xy_px, atol=1e-9)
    assert back.angle_rad == pytest.approx(g.angle_rad)
    assert back.width_px == pytest.approx(60.0)


def test_grasp3d_transform_to_camera_then_project():
    T_wc = RigidTransform.look_at([0, 0, 0.7], [0, 0, 0], from_frame="camera", to_frame="world")
    g_w = Grasp3D([0.0, 0.0, 0.02], [1.0, 0.0, 0.0], 0.05, frame="world")
    g2 = g_w.to_2d(PRIMESENSE, T_wc.inverse())
    assert g2.depth_m == pytest.approx(0.68)
    assert g2.width_px == pytest.approx(0.05 * 525 / 0.68)
    np.testing.assert_allclose(g2.center_xy_px, [319.5, 239.5], atol=1e-9)


def test_point_cloud_to_depth_round_trip_and_z_buffer():
    K = CameraIntrinsics(300.0, 300.0, 79.5, 59.5, 160, 120)
    v, u = np.indices(K.shape)
    depth = 0.6 + 0.001 * u + 0.0002 * v
    depth[30:50, 40:70] = 0.0                        # holes stay holes
    cloud = K.deproject(depth)[depth > 0]
    np.testing.assert_allclose(K.points_to_depth(cloud), depth, atol=1e-12)
    # a nearer point in the same pixel wins
    both = np.array([[0.0, 0.0, 0.8], [0.0, 0.0, 0.5]])
    assert K.points_to_depth(both)[60, 80] == pytest.approx(0.5)


def test_camera_sampler_respects_its_ranges():
    from grasplab.scene import camera_preset, sample_camera
    cfg = camera_preset("dexnet2")
    rng = np.random.default_rng(0)
    target = np.array([0.02, -0.01, 0.0])
    for _ in range(200):
        intr, T = sample_camera(rng, cfg, target)
        assert 520 <= intr.fx <= 530 and intr.fx == intr.fy and (intr.width, intr.height) == (600, 600)
        eye = T.translation_m
        r = np.linalg.norm(eye - target)
        assert 0.65 <= r <= 0.75
        polar = np.degrees(np.arccos((eye - target)[2] / r))
        assert 0.1 - 1e-9 <= polar <= 5.0 + 1e-9
        # the optical axis passes through the target, and the camera looks down
        t_cam = T.inverse().apply(target)
        assert np.hypot(t_cam[0], t_cam[1]) < 1e-9 and T.rotation[2, 2] < -0.99
    prime = camera_preset("primesense")
    intr, _ = sample_camera(rng, prime)
    assert (intr.fx, intr.cx, intr.cy, intr.width, intr.height) == (525.0, 319.5, 239.5, 640, 480)
