import numpy as np
import pytest

from grasplab.datasets.ggcnn_targets import grasp_maps
from grasplab.geometry import Grasp2D, GraspRectangle
from grasplab.policies import MapDecodingConfig, decode_grasp_maps, local_maxima


def bump(shape, r, c, height, sigma=6.0):
    y, x = np.indices(shape)
    return height * np.exp(-((y - r) ** 2 + (x - c) ** 2) / (2 * sigma ** 2))


def test_peaks_ranked_thresholded_and_spaced():
    q = bump((200, 200), 50, 60, 0.9) + bump((200, 200), 140, 150, 0.6) + bump((200, 200), 60, 70, 0.5) \
        + bump((200, 200), 150, 40, 0.1)
    peaks = local_maxima(q, min_distance_px=20, threshold=0.2, max_peaks=10)
    # the 0.5 bump 14 px from the 0.9 one is suppressed; the 0.1 bump is below threshold
    np.testing.assert_array_equal(peaks, [[50, 60], [140, 150]])
    assert len(local_maxima(q, 20, 0.2, 1)) == 1
    assert len(local_maxima(np.zeros((50, 50)), 5, 0.2, 10)) == 0


def test_decoding_recovers_the_rectangles_drawn_as_targets():
    truth = [Grasp2D((80.0, 70.0), 0.6, 45.0, 20.0), Grasp2D((200.0, 150.0), -1.2, 90.0, 20.0)]
    maps = grasp_maps([GraspRectangle.from_grasp2d(g) for g in truth], (300, 300))
    second = grasp_maps([GraspRectangle.from_grasp2d(truth[1])], (300, 300)).quality
    q = maps.quality - 0.2 * second                  # the second grasp scores 0.8: ranking is unambiguous
    out = decode_grasp_maps(q, maps.cos2, maps.sin2, maps.width, MapDecodingConfig(min_distance_px=10),
                            depth_m=np.full((300, 300), 0.7))
    assert len(out) == 2 and out.qualities[0] >= out.qualities[1]
    for g, t in zip(out.grasps, truth):
        assert np.hypot(*(np.array(g.center_xy_px) - t.center_xy_px)) < 4
        assert g.angle_rad == pytest.approx(t.angle_rad, abs=0.02)
        assert g.width_px == pytest.approx(t.width_px, rel=0.05)
        assert g.depth_m == 0.7 and g.jaw_px == pytest.approx(g.width_px / 2)


def test_vector_smoothing_handles_the_angle_wrap():
    # a region at θ ≈ ±π/2: smoothing cos/sin keeps it vertical, smoothing the angle blends to ~0
    truth = [GraspRectangle.from_grasp2d(Grasp2D((60.0, 60.0), np.pi / 2 - 0.05, 60.0, 30.0)),
             GraspRectangle.from_grasp2d(Grasp2D((60.0, 64.0), -np.pi / 2 + 0.05, 60.0, 30.0))]
    maps = grasp_maps(truth, (120, 120))
    vec = decode_grasp_maps(maps.quality, maps.cos2, maps.sin2, maps.width, MapDecodingConfig(min_distance_px=5))
    assert abs(abs(vec.grasps[0].angle_rad) - np.pi / 2) < 0.1
    naive = decode_grasp_maps(maps.quality, maps.cos2, maps.sin2, maps.width,
                              MapDecodingConfig(min_distance_px=5, smooth_angle="angle"))
    assert abs(abs(naive.grasps[0].angle_rad) - np.pi / 2) > abs(abs(vec.grasps[0].angle_rad) - np.pi / 2)


def test_smoothing_at_peaks_equals_full_filtering():
    import scipy.ndimage as ndi
    from grasplab.policies.map_decoding import smoothed_at
    rng = np.random.default_rng(0)
    img = rng.normal(size=(60, 80))
    pts = np.array([[0, 0], [59, 79], [30, 40], [2, 77], [58, 1]])
    for sigma in (1.0, 2.0):
        full = ndi.gaussian_filter(img, sigma, mode="nearest")
        np.testing.assert_allclose(smoothed_at(img, pts, sigma), full[pts[:, 0], pts[:, 1]], atol=1e-12)
