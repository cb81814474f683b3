import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is not installed")

from grasplab.datasets.cornell import list_cornell_scenes  # noqa: E402
from grasplab.datasets.grasp_map_dataset import GraspMapDataset  # noqa: E402
from grasplab.imaging import PreprocessConfig, choose_window  # noqa: E402
from grasplab.errors import GrasplabError  # noqa: E402
from grasplab.geometry import Grasp2D, GraspRectangle  # noqa: E402


class FakeScene:
    """A 240×320 scene: table at 0.7 m, a raised block whose centre is a grasp."""

    def __init__(self, grasps):
        self.grasps = grasps
        d = np.full((240, 320), 0.7)
        for g in grasps:
            x, y = np.rint(g.center_xy_px).astype(int)
            d[y - 2:y + 3, x - 2:x + 3] = 0.6                 # a marker under every grasp centre
        self._depth = d

    def depth_m(self):
        return self._depth

    def rgb(self):
        return np.zeros((240, 320, 3), np.uint8) + 100

    def mask(self):
        return self._depth < 0.65

    def rectangles(self):
        return [GraspRectangle.from_grasp2d(g) for g in self.grasps]


def test_window_ignores_labels_and_maps_rectangles():
    a = FakeScene([Grasp2D((160.0, 120.0), 0.3, 40.0, 20.0)])
    b = FakeScene([Grasp2D((40.0, 30.0), 0.3, 40.0, 20.0)])
    cfg = PreprocessConfig(output_px=120, crop="center")
    # same image size, different labels: the same window
    wa, wb = GraspMapDataset([a], cfg).window(0), GraspMapDataset([b], cfg).window(0)
    assert (wa.top, wa.left, wa.side) == (wb.top, wb.left, wb.side) == (0.0, 40.0, 240)
    mask_cfg = PreprocessConfig(output_px=120, crop="mask")
    assert GraspMapDataset([a], mask_cfg).window(0).top != GraspMapDataset([b], mask_cfg).window(0).top  # follows the object
    ds = GraspMapDataset([a], cfg)
    (r,) = ds.rectangles(0)
    np.testing.assert_allclose(r.center_xy_px, [59.75, 59.75], atol=1e-9)   # (160−40+0.5)/2−0.5
    assert r.opening_px == pytest.approx(20.0) and r.angle_rad == pytest.approx(0.3)
    x, y, _ = ds[0]
    assert x.shape == (1, 120, 120) and y.shape == (4, 120, 120)
    assert float(x.min()) >= -1 and float(x.max()) <= 1
    assert y[0, 60, 60] == 1.0 and y[0].sum() > 0
    with pytest.raises(GrasplabError, match="mask"):
        choose_window((240, 320), PreprocessConfig(crop="mask"), np.zeros((240, 320), bool))


@pytest.mark.parametrize("seed", range(6))
def test_augmentation_moves_labels_with_the_image(seed):
    scene = FakeScene([Grasp2D((130.0, 100.0), 0.5, 40.0, 16.0), Grasp2D((200.0, 150.0), -0.9, 30.0, 16.0)])
    cfg = PreprocessConfig(output_px=120, crop="center", augment=True)
    ds = GraspMapDataset([scene], cfg, seed=seed)
    x, y, _ = ds[0]
    q = y[0].numpy()
    depth = x[0].numpy()
    # every grasp region sits on a (raised, i.e. below-mean) marker after rotation, zoom and flip
    labels, n = __import__("scipy.ndimage", fromlist=["label"]).label(q > 0)
    assert n >= 1
    for k in range(1, n + 1):
        rows, cols = np.nonzero(labels == k)
        r, c = int(round(rows.mean())), int(round(cols.mean()))
        assert depth[r, c] < depth.mean(), "a grasp target lost its marker"
    ds.epoch = 1
    x2, _, _ = ds[0]
    ds.epoch = 0
    x3, _, _ = ds[0]
    assert torch.equal(x, x3)                               # augmentation is seeded per (seed, epoch, item)


def test_rgbd_inputs_and_real_jacquard(shared_data):
    from grasplab.datasets.jacquard import list_jacquard_scenes
    scenes = list_jacquard_scenes(shared_data / "jacquard")[:2]
    ds = GraspMapDataset(scenes, PreprocessConfig(inputs="rgbd", crop="mask", output_px=300))
    x, y, _ = ds[0]
    assert x.shape == (4, 300, 300) and ds.input_channels == 4
    assert y[0].sum() > 0                                  # the grasps are inside the mask crop
    for rect in ds.rectangles(0):
        assert np.all(np.abs(rect.center_xy_px - 150) < 200)


def test_cornell_folder_listing(tmp_path):
    (tmp_path / "01").mkdir()
    (tmp_path / "01" / "pcd0100cpos.txt").write_text("1 1\n2 1\n2 2\n1 2\n")
    with pytest.raises(GrasplabError, match="no depth"):
        list_cornell_scenes(tmp_path)
    (tmp_path / "01" / "pcd0100d.tiff").write_bytes(b"")
    assert [s.stem.name for s in list_cornell_scenes(tmp_path)] == ["pcd0100"]


def test_table_plane_is_recovered_under_an_object():
    """A tilted table (known plane) with a box on it: the fit ignores the box, and the
    table-referenced input is the box's height above the table (negative) and 0 elsewhere."""
    from grasplab.imaging import fit_table_plane
    from grasplab.imaging.network_input import normalise_depth
    h, w = 200, 240
    yy, xx = np.mgrid[0:h, 0:w]
    table = 1.5 + 0.07 * (yy / h - 0.5) - 0.02 * (xx / w - 0.5)
    depth = table.copy()
    depth[60:140, 80:170] -= 0.08                       # a box 8 cm tall covering 15 % of the image
    depth += np.random.default_rng(0).normal(0, 0.0005, depth.shape)
    plane = fit_table_plane(depth)
    assert np.abs(plane - table).max() < 0.001
    x = normalise_depth(depth, "table")
    assert abs(np.median(x[60:140, 80:170]) + 0.08) < 0.002
    assert np.abs(np.median(x[:40])) < 0.001
    with pytest.raises(Exception, match="depth reference"):
        normalise_depth(depth, "median")


def test_object_crop_is_a_fixed_fraction_around_the_mask():
    cfg = PreprocessConfig(crop="object", object_fraction=0.5, output_px=300)
    mask = np.zeros((512, 512), bool)
    mask[300:340, 350:400] = True
    win = choose_window((512, 512), cfg, mask)
    assert win.side == 256 and win.top + 128 == pytest.approx(320) and win.left + 128 == pytest.approx(375)
    mask[:] = False
    mask[0:10, 500:512] = True                          # near a corner: the window stays inside the image
    win = choose_window((512, 512), cfg, mask)
    assert win.top == 0 and win.left == 512 - 256
    assert choose_window((1024, 1024), cfg, None).side == 512     # no mask: centred, same fraction of the view


def test_preprocess_settings_round_trip_through_model_metadata():
    cfg = PreprocessConfig(inputs="rgbd", output_px=96, crop="object", object_fraction=0.4, depth_reference="table")
    back = PreprocessConfig.from_metadata(cfg.to_metadata())
    assert back == cfg
    assert PreprocessConfig.from_metadata({"inputs": "depth", "output_px": "300", "crop": "resize"}).output_px == 300
