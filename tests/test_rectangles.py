import numpy as np
import pytest

from grasplab.datasets.cornell import cornell_pcd_to_depth, read_cornell_rectangles
from grasplab.errors import GrasplabError
from grasplab.evaluation import RectangleMetric, accuracy_with_ci
from grasplab.geometry import Grasp2D, GraspRectangle, convex_iou, polygon_area


def square(cx, cy, side, angle=0.0):
    g = Grasp2D((cx, cy), angle, side, side)
    return g.corners_xy_px()


def test_polygon_iou_known_answers():
    a = np.array([[0, 0], [2, 0], [2, 1], [0, 1]], float)
    b = np.array([[1, 0], [3, 0], [3, 1], [1, 1]], float)
    assert polygon_area(a) == 2.0
    assert convex_iou(a, b) == pytest.approx(1 / 3)
    assert convex_iou(a, a) == pytest.approx(1.0)
    assert convex_iou(a, b + [10, 0]) == 0.0
    # a unit square and the same square turned 45°: overlap is a regular octagon of area 2(√2 − 1)
    s0, s45 = square(0, 0, 1.0), square(0, 0, 1.0, np.pi / 4)
    octagon = 2 * (np.sqrt(2) - 1)
    assert convex_iou(s0, s45) == pytest.approx(octagon / (2 - octagon), rel=1e-12)
    # winding order does not matter
    assert convex_iou(a[::-1], b) == pytest.approx(1 / 3)


def test_rectangle_angle_convention_and_round_trip():
    g = Grasp2D((100, 80), 0.4, 60, 20)
    r = GraspRectangle.from_grasp2d(g)
    assert r.angle_rad == pytest.approx(0.4) and r.opening_px == pytest.approx(60) and r.jaw_px == pytest.approx(20)
    np.testing.assert_allclose(r.center_xy_px, [100, 80])
    back = r.to_grasp2d()
    assert back.angle_rad == pytest.approx(0.4) and back.width_px == pytest.approx(60)


def test_rectangle_metric_angle_and_iou_thresholds():
    m = RectangleMetric()
    gt = [GraspRectangle.from_grasp2d(Grasp2D((100, 100), 0.0, 60, 30))]
    assert m.matches(Grasp2D((100, 100), 0.0, 60), gt)
    assert m.matches(Grasp2D((100, 100), np.deg2rad(29), 60), gt)
    assert not m.matches(Grasp2D((100, 100), np.deg2rad(31), 60), gt)
    assert m.matches(Grasp2D((100, 100), np.pi - np.deg2rad(10), 60), gt)      # symmetric under θ + π
    assert not m.matches(Grasp2D((160, 100), 0.0, 60), gt)                       # no overlap
    # jaw = half the opening by default: a thin 60×30 prediction vs a 60×30 truth shifted 20 px
    shifted = Grasp2D((120, 100), 0.0, 60)
    iou = GraspRectangle.from_grasp2d(shifted, 30).iou(gt[0])
    assert m.matches(shifted, gt) == (iou > 0.25)
    assert m.top_k_correct([Grasp2D((300, 300), 0, 60), Grasp2D((100, 100), 0, 60)], gt, k=2)
    assert not m.top_k_correct([Grasp2D((300, 300), 0, 60), Grasp2D((100, 100), 0, 60)], gt, k=1)


def test_wilson_interval():
    acc = accuracy_with_ci(76, 89)
    assert acc.value == pytest.approx(76 / 89)
    assert acc.low < acc.value < acc.high
    assert acc.low == pytest.approx(0.7653, abs=2e-3) and acc.high == pytest.approx(0.9124, abs=2e-3)
    assert accuracy_with_ci(0, 10).low == 0.0 and accuracy_with_ci(10, 10).high == 1.0


def test_real_cornell_format_annotations(shared_data):
    total = 0
    for path in sorted((shared_data / "cornell_format_annotations").glob("*.txt")):
        rects = read_cornell_rectangles(path)
        total += len(rects)
        for r in rects:
            e = np.diff(np.vstack([r.corners_xy_px, r.corners_xy_px[:1]]), axis=0)
            # consecutive edges are perpendicular: these are real rectangles
            cos = np.abs(np.sum(e * np.roll(e, -1, axis=0), axis=1)) / (
                np.linalg.norm(e, axis=1) * np.linalg.norm(np.roll(e, -1, axis=0), axis=1))
            assert cos.max() < 0.05
            assert r.opening_px > 1 and r.jaw_px > 1 and -np.pi / 2 <= r.angle_rad < np.pi / 2
    assert total == 1168 // 4


def test_malformed_rectangle_files(tmp_path):
    p = tmp_path / "pcd0100cpos.txt"
    p.write_text("1 2\n3 4\n5 6\n")
    with pytest.raises(GrasplabError, match="pcd0100cpos.txt.*multiple of 4"):
        read_cornell_rectangles(p)
    p.write_text("1 2\n3 4\n5 six\n7 8\n")
    with pytest.raises(GrasplabError, match="pcd0100cpos.txt:3"):
        read_cornell_rectangles(p)
    p.write_text("NaN NaN\n1 1\n2 2\n3 3\n10 10\n20 10\n20 15\n10 15\n")
    assert len(read_cornell_rectangles(p)) == 1


def test_cornell_point_cloud_to_depth(tmp_path):
    h, w = 480, 640
    rows, cols = np.indices((h, w))
    z_mm = 600.0 + 0.1 * cols
    x_mm = (cols - 319.5) * z_mm / 585.0
    y_mm = (rows - 239.5) * z_mm / 585.0
    keep = ~((rows > 200) & (rows < 210) & (cols > 300) & (cols < 310))     # a hole
    lines = ["# .PCD v.7", "FIELDS x y z rgb index", "POINTS n", "DATA ascii"]
    idx = np.flatnonzero(keep.ravel())
    for i in idx[::1]:
        r, c = divmod(i, w)
        lines.append(f"{x_mm[r, c]:.4f} {y_mm[r, c]:.4f} {z_mm[r, c]:.4f} 0 {i}")
    p = tmp_path / "pcd0100.txt"
    p.write_text("\n".join(lines) + "\n")
    depth = cornell_pcd_to_depth(p)
    rng_m = np.sqrt(x_mm ** 2 + y_mm ** 2 + z_mm ** 2) / 1000
    np.testing.assert_allclose(depth[keep], rng_m[keep], atol=1e-6)
    assert np.all(np.abs(depth[~keep] - rng_m[~keep]) < 2e-3)          # inpainted smoothly
    bad = tmp_path / "bad.txt"
    bad.write_text("DATA ascii\n1 2 3 0\n")
    with pytest.raises(GrasplabError, match="bad.txt:2"):
        cornell_pcd_to_depth(bad)


def test_ggcnn_targets_middle_third_full_jaw():
    from grasplab.datasets.ggcnn_targets import grasp_maps
    r = GraspRectangle.from_grasp2d(Grasp2D((50.0, 40.0), 0.0, 60.0, 20.0))   # opening along x
    m = grasp_maps([r], (80, 100))
    rows, cols = np.nonzero(m.quality)
    # middle third of the 60 px opening (20 px) by the full 20 px jaw
    assert cols.min() >= 40 and cols.max() <= 60 and rows.min() >= 30 and rows.max() <= 50
    assert 18 * 18 <= m.quality.sum() <= 21 * 21
    np.testing.assert_allclose(m.cos2[m.quality > 0], 1.0)
    np.testing.assert_allclose(m.sin2[m.quality > 0], 0.0, atol=1e-7)
    np.testing.assert_allclose(m.width[m.quality > 0], 60 / 150)
    assert np.all(m.cos2[m.quality == 0] == 0)
    r45 = GraspRectangle.from_grasp2d(Grasp2D((50.0, 40.0), np.pi / 4, 200.0, 20.0))
    m45 = grasp_maps([r45], (80, 100))
    np.testing.assert_allclose(m45.sin2[m45.quality > 0], 1.0, atol=1e-6)
    np.testing.assert_allclose(m45.width[m45.quality > 0], 1.0)            # clipped at 150 px


def test_kfold_splits_group_and_cover():
    from grasplab.datasets.splits import kfold_splits
    groups = np.repeat(np.arange(10), 3)              # 10 objects, 3 images each
    folds = kfold_splits(groups, k=5, seed=1)
    seen = np.concatenate([test for _, test in folds])
    assert sorted(seen) == list(range(30))
    for train, test in folds:
        assert not set(groups[train]) & set(groups[test])
    assert [t.tolist() for _, t in folds] == [t.tolist() for _, t in kfold_splits(groups, k=5, seed=1)]
    with pytest.raises(Exception, match="folds"):
        kfold_splits(groups, k=11)


def test_real_jacquard_scenes(shared_data):
    from grasplab.datasets.jacquard import list_jacquard_scenes
    scenes = list_jacquard_scenes(shared_data / "jacquard")
    assert len(scenes) == 25 and len({s.object_id for s in scenes}) == 5
    s = scenes[0]
    rects = s.rectangles()
    assert rects and s.rgb().shape == (1024, 1024, 3) and s.depth_m().shape == (1024, 1024)
    mask = s.mask()
    # ground-truth grasp centres lie on the object
    for r in rects[:50]:
        x, y = np.rint(r.center_xy_px).astype(int)
        assert mask[max(y - 4, 0):y + 5, max(x - 4, 0):x + 5].any()
