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
    for sigma in (0.0, 0.1, 1.0, 2.0):            # σ = 0: no smoothing (the raw pixels)
        full = ndi.gaussian_filter(img, sigma, mode="nearest")
        np.testing.assert_allclose(smoothed_at(img, pts, sigma), full[pts[:, 0], pts[:, 1]], atol=1e-12)


def test_unsmoothed_decoding_reads_the_raw_maps():
    """All σ = 0: the grasp is the raw maximum with the raw angle and width there."""
    q = np.zeros((40, 50)); q[22, 31] = 0.9
    ang = np.deg2rad(40.0)
    cos2, sin2 = np.full_like(q, np.cos(2 * ang)), np.full_like(q, np.sin(2 * ang))
    width = np.full_like(q, 30 / 150)
    cfg = MapDecodingConfig(quality_sigma_px=0, angle_sigma_px=0, width_sigma_px=0, min_distance_px=3)
    g = decode_grasp_maps(q, cos2, sin2, width, cfg).grasps[0]
    assert g.center_xy_px == (31.0, 22.0)
    assert abs(g.angle_rad - ang) < 1e-9 and abs(g.width_px - 30.0) < 1e-9


@pytest.mark.parametrize("distance", [1, 10])
@pytest.mark.parametrize("case", ["corner", "scattered", "plateau", "spike", "none"])
def test_boxed_quality_smoothing_gives_the_full_maps_peaks(case, distance):
    """Only the box around above-threshold pixels is smoothed; the peaks and their qualities
    must be those of filtering the whole map (hot pixels at the border, spread out, or flat)."""
    import scipy.ndimage as ndi
    from grasplab.policies.map_decoding import smoothed_quality
    rng = np.random.default_rng(3)
    q = rng.uniform(0.0, 0.15, size=(120, 140))
    if case == "corner":
        q[:6, :5] = 0.9                       # touches the image edge: 'nearest' borders matter
        q[60, 70] = 0.8
    elif case == "scattered":
        q[rng.integers(0, 120, 40), rng.integers(0, 140, 40)] = rng.uniform(0.5, 3.0, 40)
    elif case == "plateau":
        q[50:58, 30:90] = 0.6
    elif case == "spike":                     # one hot pixel whose blur passes the threshold px away
        q[40, 50] = 50.0
    full = ndi.gaussian_filter(q, 2.0, mode="nearest")
    boxed = smoothed_quality(q, 2.0, 0.2, distance)
    for border in (True, False):
        a = local_maxima(full, distance, 0.2, 50, exclude_border=border)
        b = local_maxima(boxed, distance, 0.2, 50, exclude_border=border)
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(full[tuple(a.T)], boxed[tuple(b.T)])
    inside = np.isfinite(boxed)
    np.testing.assert_array_equal(boxed[inside], full[inside])   # exact, not merely close
    assert np.all(full[~inside] <= 0.2)                          # what is skipped cannot pass
    if case == "none":
        assert not inside.any() and len(local_maxima(boxed, distance, 0.2, 50)) == 0
    else:
        assert inside.mean() < 1.0 or case == "scattered"
