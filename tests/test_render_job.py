import json
import os
import subprocess
import sys

import numpy as np
import pytest
import trimesh

from grasplab.cli import main
from grasplab.errors import ConfigError, RenderError
from grasplab.geometry import CameraIntrinsics, RigidTransform
from grasplab.imaging import read_depth_m, read_mask
from grasplab.synth import RenderJobConfig, preview_objects, run_render_job


def _view_files(out, key, v):
    stem = out / "views" / key / f"v{v:03d}"
    return {k: f"{stem}_{k}" for k in ("rgb.png", "depth.tiff", "depth_perfect.tiff", "mask.png", "camera.json")}


def test_render_job_writes_consistent_views_and_resumes(tmp_path):
    cfg = RenderJobConfig(objects="procedural:2:box,mallet", views=2, seed=5, renderer="auto")
    out = tmp_path / "r"
    res = run_render_job(cfg, out, show_progress=False)
    assert res.views_written == 4 and not res.failures
    assert (out / "contact_sheet.png").is_file()
    meta = json.loads((out / "render_config.json").read_text())
    assert meta["config"]["seed"] == 5 and "grasplab_version" in meta and meta["command"]
    files = _view_files(out, "box_00000", 1)
    cam = json.loads(open(files["camera.json"]).read())
    intr = CameraIntrinsics.from_dict(cam["intrinsics"])
    T_wc = RigidTransform.from_dict(cam["T_world_camera"])
    perfect = read_depth_m(files["depth_perfect.tiff"], units="m")
    mask = read_mask(files["mask.png"])
    assert perfect.shape == intr.shape and mask.any()
    # object pixels deproject onto the object: above the table, near its centre
    pts_w = T_wc.apply(intr.deproject(perfect)[mask])
    obj_centre = RigidTransform.from_dict(cam["T_world_obj"]).translation_m
    assert pts_w[:, 2].min() > -1e-3 and pts_w[:, 2].max() < 0.13      # boxes are at most 0.12 m per side
    assert np.linalg.norm(pts_w[:, :2] - obj_centre[:2], axis=1).max() < 0.11
    table = T_wc.apply(intr.deproject(perfect)[~mask])
    np.testing.assert_allclose(table[:, 2], 0.0, atol=1e-3)
    # noisy depth differs from perfect depth by the configured noise
    noisy = read_depth_m(files["depth.tiff"], units="m")
    assert 0.001 < np.std(noisy - perfect) < 0.02

    before = read_depth_m(files["depth.tiff"], units="m")
    again = run_render_job(cfg, out, show_progress=False)
    assert again.views_written == 0 and again.views_skipped == 4
    os.remove(files["camera.json"])            # as if killed before this view finished
    resumed = run_render_job(cfg, out, show_progress=False)
    assert resumed.views_written == 1
    np.testing.assert_array_equal(read_depth_m(files["depth.tiff"], units="m"), before)

    with pytest.raises(ConfigError, match="other settings.*seed"):
        run_render_job(RenderJobConfig(objects="procedural:2:box,mallet", views=2, seed=6), out, show_progress=False)


def test_bad_meshes_are_skipped_and_reported(tmp_path, shared_data):
    meshes = tmp_path / "meshes"
    meshes.mkdir()
    (meshes / "box.obj").write_bytes((shared_data / "meshes" / "box.obj").read_bytes())
    trimesh.creation.box(extents=(60, 40, 30)).export(meshes / "huge_mm.stl")
    res = run_render_job(RenderJobConfig(objects=f"meshes:{meshes}", views=1), tmp_path / "out", show_progress=False)
    assert res.objects_ok == ["box"]
    assert "--scale 0.001" in res.failures["huge_mm"]
    report = json.loads((tmp_path / "out" / "objects.json").read_text())
    assert "huge_mm" in report["failures"]


def test_cli_prints_errors_without_traceback(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["render", "--objects", "spheres:3", "--out", str(tmp_path / "x")])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "bad object source" in err and "Traceback" not in err
    with pytest.raises(SystemExit) as exc:
        main(["render", "--objects", f"meshes:{tmp_path / 'nowhere'}", "--out", str(tmp_path / "y")])
    assert exc.value.code == 2 and "mesh folder not found" in capsys.readouterr().err


def test_cli_render_and_preview(tmp_path):
    with pytest.raises(SystemExit) as exc:
        main(["render", "--objects", "procedural:1:prism", "--views", "1", "--out", str(tmp_path / "r"),
              "--camera", "primesense", "--dropout", "0.01"])
    assert exc.value.code in (0, None)
    depth = read_depth_m(tmp_path / "r/views/prism_00000/v000_depth.tiff", units="m")
    assert depth.shape == (480, 640) and 0.005 < (depth == 0).mean() < 0.02
    png = preview_objects("all", 3, 0, tmp_path / "objects.png", "raycast")
    assert png.stat().st_size > 10_000


def test_auto_renderer_falls_back_to_raycast(monkeypatch):
    from grasplab.scene.rendering import mujoco_renderer
    from grasplab.scene import make_renderer

    def broken(self, *a, **k):
        raise RenderError("no GL here")
    monkeypatch.setattr(mujoco_renderer.MujocoRenderer, "__init__", broken)
    assert make_renderer("auto").name == "raycast"
    with pytest.raises(RenderError, match="no GL"):
        make_renderer("mujoco")


def test_bench_render_json_runs():
    proc = subprocess.run([sys.executable, "-m", "grasplab", "bench", "render", "--frames", "8", "--json",
                           "--width", "160", "--height", "120"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    res = json.loads(proc.stdout)
    rows = {(r["renderer"], r["output"]): r for r in res["results"] if "median_ms" in r}
    assert ("raycast", "depth") in rows and rows[("raycast", "depth")]["median_ms"] > 0
    assert res["cpus"] and res["image"] == "160x120"
