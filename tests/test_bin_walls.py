"""A bin's walls are not objects: depth frames of boxes, a lying cylinder and a bin's four walls seen
from above, with known answers."""
import numpy as np
import pytest
from scipy import ndimage

from grasplab.errors import NoGraspFoundError
from grasplab.geometry import CameraIntrinsics
from grasplab.imaging import Frame, bin_walls, fit_table_plane, objects_above_table
from grasplab.imaging.table_plane import above_table
from grasplab.policies import load_policy

TABLE_M = 0.70                       # a Primesense straight above the table
INTR = CameraIntrinsics(fx=525.0, fy=525.0, cx=319.5, cy=239.5, width=640, height=480)


def wall_boxes(inner_m=0.30, thick_m=0.01, height_m=0.08):
    """The four walls of a square bin centred under the camera, as boxes (x0, x1, y0, y1, height)."""
    a, b = inner_m / 2, inner_m / 2 + thick_m
    return [(-b, b, a, b, height_m), (-b, b, -b, -a, height_m), (a, b, -a, a, height_m), (-b, -a, -a, a, height_m)]


OBJECTS = [(-0.10, -0.04, -0.06, 0.02, 0.05),      # a box, 6 × 8 cm, 5 cm tall
           (0.03, 0.07, 0.05, 0.09, 0.03)]         # a small block
CYLINDER = (0.09, -0.08, 0.08, 0.022)   # lying along y: centre x, y0, y1, radius; its top 4–4.4 cm up is thin


def scene(boxes, cylinders=()):
    """Depth (the nearest surface's top along each pixel's ray, no faces) and the pixels of each part."""
    v, u = np.mgrid[0:INTR.height, 0:INTR.width].astype(np.float64)
    height = np.zeros(u.shape)
    for x0, x1, y0, y1, h in boxes:
        z = TABLE_M - h
        x, y = (u - INTR.cx) * z / INTR.fx, (v - INTR.cy) * z / INTR.fy
        height = np.where((x >= x0) & (x <= x1) & (y >= y0) & (y <= y1), np.maximum(height, h), height)
    for xc, y0, y1, r in cylinders:
        for h in np.linspace(0.002, 2 * r, 60):                  # its profile, level by level
            z = TABLE_M - h
            x, y = (u - INTR.cx) * z / INTR.fx, (v - INTR.cy) * z / INTR.fy
            half = np.sqrt(max(r * r - (h - r) ** 2, 0.0))
            height = np.where((np.abs(x - xc) <= half) & (y >= y0) & (y <= y1), np.maximum(height, h), height)
    return TABLE_M - height


def truth(parts):
    return scene(parts) < TABLE_M - 0.005


def walls_of(depth):
    plane = fit_table_plane(depth)
    return bin_walls(depth, INTR, plane, above_table(depth, 0.01, plane))


def test_a_bins_walls_are_found_and_its_objects_are_not():
    depth = scene(wall_boxes() + OBJECTS, [CYLINDER])
    found = walls_of(depth)
    walls, objects = truth(wall_boxes()), scene(OBJECTS, [CYLINDER]) < TABLE_M - 0.005
    assert found[walls].mean() > 0.97
    assert found[objects].mean() < 0.01     # the cylinder's thin crest: its footprint is wide, its flanks lie both sides
    mask, left_out = objects_above_table(depth, 0.01, None, INTR)
    assert not (mask & walls).any() and mask[objects].mean() > 0.9 and (left_out == found).all()


@pytest.mark.parametrize("inner_m, thick_m, height_m", [(0.40, 0.005, 0.12), (0.22, 0.02, 0.05)])
def test_bins_of_other_sizes(inner_m, thick_m, height_m):
    boxes = wall_boxes(inner_m, thick_m, height_m)
    found = walls_of(scene(boxes + OBJECTS))
    assert found[truth(boxes)].mean() > 0.95
    clear = truth(OBJECTS) & ~ndimage.binary_dilation(truth(boxes), iterations=16)   # 2 cm or more from a wall
    assert clear.sum() > 2000 and not found[clear].any()


def test_a_wall_with_an_object_along_all_of_it_is_still_a_wall():
    """A 28 cm bar against the right wall: no thin run is left there; the wall is the outermost
    line square to the others that stands tall all along."""
    bar = (0.12, 0.15, -0.14, 0.14, 0.05)
    boxes = wall_boxes()
    found = walls_of(scene(boxes + OBJECTS + [bar]))
    right = truth([boxes[2]])
    assert found[right].mean() > 0.95 and found[truth(boxes)].mean() > 0.97
    inner = truth([bar]) & ~ndimage.binary_dilation(truth(boxes), iterations=20)   # 2.5 cm from any wall
    assert inner.sum() > 300 and not found[inner].any()               # the bar's far side is an object


def test_no_walls_without_a_bin_and_a_thin_panel_amid_the_objects_is_an_object():
    panel = (-0.01, 0.01, -0.09, 0.09, 0.07)            # 2 cm thick, 18 cm long, 7 cm tall: thin, tall, long
    parts = OBJECTS + [panel, (0.03, 0.09, -0.08, -0.02, 0.04)]   # objects on both sides of it
    assert not walls_of(scene(parts, [CYLINDER])).any()
    assert not walls_of(scene(OBJECTS, [CYLINDER])).any()


def test_an_object_cut_thin_by_the_images_edge_is_an_object():
    box = (-0.10, 0.10, 0.285, 0.40, 0.06)          # 20 cm long, 6 cm tall, < 1 cm of it in view at the bottom
    depth = scene(OBJECTS + [box])
    assert 0 < truth([box]).sum() and truth([box])[-8:].any()
    assert not walls_of(depth).any()


def test_walls_too_short_or_too_low_are_objects():
    assert not walls_of(scene(wall_boxes(0.12) + OBJECTS[:1])).any()                 # a 12 cm "bin": a box
    assert not walls_of(scene(wall_boxes(0.30, 0.01, 0.03) + OBJECTS)).any()        # 3 cm rims: a tray


def test_an_empty_bin_has_nothing_to_grasp_and_says_so():
    depth = scene(wall_boxes())
    with pytest.raises(NoGraspFoundError, match="container's walls.*exclude_walls"):
        objects_above_table(depth, 0.01, None, INTR)
    mask, walls = objects_above_table(depth, 0.01, None, INTR, exclude_walls=False)
    assert mask.any() and walls is None
    mask, walls = objects_above_table(depth, 0.01, None, None)      # no intrinsics, no metric scale: not looked for
    assert mask.any() and walls is None


def test_a_grasp_whose_jaws_close_across_a_wall_is_found_out():
    from grasplab.geometry import Grasp2D
    from grasplab.imaging import across_walls
    walls = np.zeros((100, 100), bool)
    walls[:, 50:54] = True                                            # a wall 4 px wide, top to bottom
    across = Grasp2D((45.0, 20.0), 0.0, 30.0, 5.0, 0.6)               # centre beside it, jaws from x 30 to 60
    beside = Grasp2D((30.0, 20.0), 0.0, 30.0, 5.0, 0.6)               # jaws from x 15 to 45
    along = Grasp2D((40.0, 50.0), np.pi / 2, 60.0, 5.0, 0.6)          # parallel to it, 10 px away
    assert across_walls([across, beside, along], walls).tolist() == [True, False, False]
    assert not across_walls([across], None).any()


@pytest.mark.parametrize("name", ["random-antipodal", "gqcnn-rank", "fc-gqcnn"])
def test_policies_without_a_mask_plan_on_the_objects_not_the_walls(name):
    depth = scene(wall_boxes() + OBJECTS, [CYLINDER])
    frame = Frame.from_images(depth, intrinsics=INTR)
    walls = truth(wall_boxes())

    def on_walls(policy):
        """How many of the top 20 grasps close across a wall (a jaw-to-jaw line over its pixels)."""
        from grasplab.imaging import across_walls
        return int(across_walls([g.grasp for g in policy.plan(frame, max_grasps=20, seed=0)], walls).sum())

    assert on_walls(load_policy(name)) == 0
    assert on_walls(load_policy(name, exclude_walls=False)) > 0


def test_square_closing_and_dilation_are_scipys():
    """``close_square`` and ``dilate_square`` (separable passes, outside counted empty) give
    scipy's ``binary_closing`` / ``binary_dilation`` by the same square (zero border)."""
    from grasplab.imaging.table_plane import close_square, dilate_square
    rng = np.random.default_rng(0)
    for _ in range(100):
        m = rng.random(tuple(rng.integers(1, 30, 2))) < rng.random()
        side = int(rng.choice([3, 5, 7]))
        square = np.ones((side, side), bool)
        assert np.array_equal(dilate_square(m, side), ndimage.binary_dilation(m, square))
        want = ndimage.binary_erosion(ndimage.binary_dilation(m, square), square, border_value=0)
        assert np.array_equal(close_square(m, side), want)
