import numpy as np
import pytest
from PIL import Image

from grasplab.errors import DepthHolesError, DepthImageError, DepthShapeError, DepthUnitsError
from grasplab.imaging import (detect_depth_units, hole_mask, inpaint_depth, prepare_depth_m, read_depth_m,
                              read_depth_raw, write_depth_tiff)


def test_real_primesense_frames_are_metres(shared_data):
    for i in range(5):
        raw = np.load(shared_data / f"gqcnn/primesense/depth_{i}.npy")
        assert raw.shape == (480, 640, 1)
        prep = prepare_depth_m(raw)
        assert prep.units_detected == "m" and prep.depth_m.shape == (480, 640)
        assert 0.4 < float(np.median(prep.depth_m)) < 1.0
        # the same frame saved as 16-bit millimetres is recognised and converted back
        mm = np.round(raw[..., 0] * 1000).astype(np.uint16)
        prep_mm = prepare_depth_m(mm)
        assert prep_mm.units_detected == "mm"
        np.testing.assert_allclose(prep_mm.depth_m, raw[..., 0], atol=0.6e-3)


def test_real_jacquard_stereo_depth_has_holes_and_reads(shared_data):
    path = next((shared_data / "jacquard").glob("*/*_stereo_depth.tiff"))
    d = read_depth_raw(path)
    assert d.shape == (1024, 1024)
    holes = hole_mask(d)
    perfect = read_depth_m(str(path).replace("stereo", "perfect"))
    assert hole_mask(perfect).mean() < holes.mean() or holes.mean() == 0
    prep = prepare_depth_m(d, inpaint="nearest")
    assert np.all(prep.depth_m > 0)


def test_laplace_inpainting_reproduces_a_plane_exactly():
    v, u = np.indices((60, 80), dtype=float)
    plane = 0.5 + 0.001 * u + 0.0005 * v
    holed = plane.copy()
    holed[10:30, 20:50] = 0.0
    holed[45:50, 0:10] = np.nan        # touching the border
    holed[5, 70] = -1.0
    out = inpaint_depth(holed)
    np.testing.assert_allclose(out[10:30, 20:50], plane[10:30, 20:50], atol=1e-9)
    np.testing.assert_allclose(out[5, 70], plane[5, 70], atol=1e-9)
    # the border hole uses one-sided neighbours: smooth, bounded by its surroundings
    assert np.all(np.isfinite(out)) and out.min() >= plane.min() - 1e-9
    near = inpaint_depth(holed, method="nearest")
    assert np.all(near > 0)


def test_bad_depth_images_get_specific_errors():
    with pytest.raises(DepthShapeError, match="H×W"):
        prepare_depth_m(np.ones((10, 10, 3)))
    with pytest.raises(DepthHolesError, match="no valid pixels"):
        prepare_depth_m(np.zeros((32, 32)))
    mostly = np.zeros((32, 32))
    mostly[:4] = 0.7
    with pytest.raises(DepthHolesError, match="missing pixels"):
        prepare_depth_m(mostly)
    with pytest.raises(DepthUnitsError, match="neither"):
        detect_depth_units(np.full((32, 32), 0.001))
    with pytest.raises(DepthUnitsError, match="m vs mm"):
        prepare_depth_m(np.full((32, 32), 700.0), units="m")


def test_depth_files_round_trip_and_corrupt_files(tmp_path):
    d = np.full((48, 64), 0.7, np.float32)
    write_depth_tiff(tmp_path / "d.tiff", d)
    np.testing.assert_array_equal(read_depth_m(tmp_path / "d.tiff"), d)
    np.save(tmp_path / "d.npy", d[..., None])
    np.testing.assert_array_equal(read_depth_m(tmp_path / "d.npy"), d)
    Image.fromarray((d * 1000).astype(np.uint16)).save(tmp_path / "d.png")
    np.testing.assert_allclose(read_depth_m(tmp_path / "d.png"), d, atol=1e-6)
    Image.fromarray(np.zeros((48, 64, 3), np.uint8)).save(tmp_path / "rgb.png")
    with pytest.raises(DepthImageError, match="rgb.png.*16-bit"):
        read_depth_m(tmp_path / "rgb.png")
    (tmp_path / "bad.tiff").write_bytes(b"II*\x00garbage")
    with pytest.raises(DepthImageError, match="bad.tiff"):
        read_depth_m(tmp_path / "bad.tiff")
    with pytest.raises(DepthImageError, match="not found"):
        read_depth_m(tmp_path / "none.tiff")


def test_rgb_and_mask_readers(tmp_path, shared_data):
    from grasplab.errors import GrasplabError
    from grasplab.imaging import read_mask, read_rgb
    rgb = read_rgb(shared_data / "gqcnn/primesense/color_0.png")
    mask = read_mask(shared_data / "gqcnn/primesense/segmask_0.png")
    assert rgb.shape == (480, 640, 3) and rgb.dtype == np.uint8
    assert mask.shape == (480, 640) and 0 < mask.mean() < 0.2
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nxx")
    with pytest.raises(GrasplabError, match="broken.png.*corrupt"):
        read_mask(tmp_path / "broken.png")
    with pytest.raises(GrasplabError, match="not found"):
        read_rgb(tmp_path / "none.png")
