import json

import numpy as np
import pytest
import trimesh

from grasplab.datasets import TensorDataset, read_jacquard_grasps
from grasplab.errors import ConfigError, GrasplabError
from grasplab.geometry import CameraIntrinsics, RigidTransform
from grasplab.imaging import read_depth_m, read_mask
from grasplab.imaging.crops import rotated_crops
from grasplab.quality import QualityConfig
from grasplab.synth import SynthConfig, run_synth
from grasplab.synth import units as units_mod

SMALL = dict(objects="procedural:3:mallet,profile,prism", views_per_pose=1, max_poses=2, grasps_per_object=24,
             gripper="robotiq_2f85", camera="primesense", quality=QualityConfig(num_samples=5))


def fields_of(path):
    ds = TensorDataset.open(path / "gqcnn")
    return {f: ds.field(f) for f in ds.field_names}


@pytest.fixture(scope="module")
def small_dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth") / "ds"
    res = run_synth(SynthConfig(**SMALL), out, workers=0, show_progress=False)
    return out, res


def test_gqcnn_tensors_layout_and_splits(small_dataset):
    out, res = small_dataset
    assert res.datapoints > 50 and not res.failures
    ds = TensorDataset.open(out / "gqcnn")
    f = fields_of(out)
    n = len(f["hand_poses"])
    assert f["depth_ims_tf_table"].shape == (n, 32, 32, 1) and f["depth_ims_tf_table"].dtype == np.float32
    assert f["hand_poses"].shape == (n, 7) and f["camera_intrs"].shape == (n, 4) and f["camera_poses"].shape == (n, 7)
    # robust ε is stored as metric × collision_free
    assert np.all(f["robust_ferrari_canny"][f["collision_free"] == 0] == 0)
    assert ds.config["positive_fraction"] == pytest.approx(np.mean(f["robust_ferrari_canny"] > 0.002))
    assert ds.config["grasplab_version"] and ds.config["config"]["seed"] == 0
    # hand pose columns: row − cy and col − cx are consistent with the intrinsics
    np.testing.assert_allclose(f["hand_poses"][:, 4], f["hand_poses"][:, 0] - f["camera_intrs"][:, 3], atol=1e-3)
    for name, groups in (("object_wise", f["obj_labels"]), ("image_wise", f["image_labels"])):
        train, val = ds.split(name)
        assert len(train) and len(val) and len(np.intersect1d(train, val)) == 0
        assert len(train) + len(val) == n
        assert not set(groups[train]) & set(groups[val]), f"{name} split leaks groups"
    # the crop centre is the noisy depth at the grasp centre (crops are centred on the grasp)
    assert np.all(np.abs(f["depth_ims_tf_table"][:, 15:17, 15:17, 0].mean(axis=(1, 2)) - f["hand_poses"][:, 2]) < 0.08)


def test_jacquard_scenes_read_back_and_match_sidecars(small_dataset):
    out, _ = small_dataset
    sidecars = sorted((out / "jacquard").glob("*/*_grasps.json"))
    assert sidecars
    n_pos = 0
    for side in sidecars:
        d = json.loads(side.read_text())
        stem = str(side)[: -len("_grasps.json")]
        grasps = read_jacquard_grasps(f"{stem}_grasps.txt")
        positives = [c for c in d["candidates"] if c["positive"]]
        assert len(grasps) == len(positives)
        n_pos += len(grasps)
        mask = read_mask(f"{stem}_mask.png")
        intr = CameraIntrinsics.from_dict(d["intrinsics"])
        T_wc = RigidTransform.from_dict(d["T_world_camera"])
        assert read_depth_m(f"{stem}_perfect_depth.tiff", units="m").shape == intr.shape
        for j, c in zip(grasps, positives):
            g = j.to_grasp2d()
            assert g.center_xy_px == pytest.approx(tuple(c["center_xy_px"]), abs=0.01)
            assert g.angle_rad == pytest.approx(c["angle_rad"], abs=1e-3)
            # both jaw contacts lie on the object (the centre need not: a U grasped across its arms)
            for x, y in np.rint(g.endpoints_xy_px).astype(int):
                assert mask[max(y - 3, 0):y + 4, max(x - 3, 0):x + 4].any()
        for c in d["candidates"]:
            # the image grasp deprojects to the 3-D grasp centre in the world
            p_cam = intr.deproject_pixels(np.array(c["center_xy_px"]), c["depth_m"])
            np.testing.assert_allclose(T_wc.apply(p_cam), c["center_world_m"], atol=1e-5)
    assert n_pos > 0


def test_rotated_crops_known_answer():
    h, w = 120, 160
    y, x = np.indices((h, w), dtype=float)
    image = 0.5 + 0.001 * x + 0.002 * y
    centers = np.array([[80.0, 60.0], [70.5, 50.25]])
    angles = np.array([0.0, 0.6])
    crops = rotated_crops(image, centers, angles, crop_px=12, out_px=4)
    off = (np.arange(4) * 3 + 1) - 5.5                    # block-centre offsets of 12 → 4 averaging
    dy, dx = np.meshgrid(off, off, indexing="ij")
    for k, ((cx, cy), a) in enumerate(zip(centers, angles)):
        xs = cx + dx * np.cos(a) + dy * np.sin(a)
        ys = cy - dx * np.sin(a) + dy * np.cos(a)
        np.testing.assert_allclose(crops[k], 0.5 + 0.001 * xs + 0.002 * ys, atol=1e-6)


def test_rotated_crops_stretch_to_a_metric_side():
    """A crop stretched by k on a linear ramp: its block centres lie k times further out."""
    h, w = 200, 200
    y, x = np.indices((h, w), dtype=float)
    image = 0.5 + 0.001 * x + 0.002 * y
    c, a = np.array([[100.0, 100.0], [100.0, 100.0]]), np.array([0.3, 0.3])
    crops = rotated_crops(image, c, a, crop_px=12, out_px=4, crop_scale=np.array([1.0, 2.5]))
    np.testing.assert_allclose(crops[1] - crops[1].mean(), 2.5 * (crops[0] - crops[0].mean()), atol=1e-6)
    np.testing.assert_allclose(rotated_crops(image, c, a, 12, 4, crop_scale=1.0), rotated_crops(image, c, a, 12, 4))
    with pytest.raises(ConfigError, match="positive"):
        rotated_crops(image, c, a, 12, 4, crop_scale=np.array([1.0, 0.0]))


def test_rotated_crops_equal_scipy_bilinear_with_edge_repeat():
    """The documented contract: map_coordinates(order=1, mode="nearest") then block averaging,
    also past the image edge, on a non-square image and across chunks."""
    import scipy.ndimage as ndi
    rng = np.random.default_rng(1)
    image = rng.normal(0.7, 0.05, (40, 56))
    centers = np.c_[rng.uniform(-10, 66, 9), rng.uniform(-10, 50, 9)]
    angles = rng.uniform(-4, 4, 9)
    crops = rotated_crops(image, centers, angles, crop_px=16, out_px=8, chunk=4)
    off = np.arange(16) - 7.5
    dy, dx = np.meshgrid(off, off, indexing="ij")
    for k, ((cx, cy), a) in enumerate(zip(centers, angles)):
        xs = cx + dx * np.cos(a) + dy * np.sin(a)
        ys = cy - dx * np.sin(a) + dy * np.cos(a)
        v = ndi.map_coordinates(image, [ys.ravel(), xs.ravel()], order=1, mode="nearest").reshape(16, 16)
        np.testing.assert_allclose(crops[k], v.reshape(8, 2, 8, 2).mean(axis=(1, 3)), atol=1e-6)
    assert rotated_crops(image, np.zeros((0, 2)), np.zeros(0), 16, 8).shape == (0, 8, 8)


def test_resume_after_kill_gives_the_same_dataset(tmp_path, small_dataset, monkeypatch):
    ref_out, _ = small_dataset
    out = tmp_path / "killed"
    real = units_mod.process_unit
    calls = {"n": 0}

    def dies_on_second(*a, **k):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt("killed")
        return real(*a, **k)
    monkeypatch.setattr(units_mod, "process_unit", dies_on_second)
    with pytest.raises(KeyboardInterrupt):
        run_synth(SynthConfig(**SMALL), out, workers=0, show_progress=False)
    assert len(list((out / "units").glob("*.npz"))) == 1
    monkeypatch.setattr(units_mod, "process_unit", real)
    res = run_synth(SynthConfig(**SMALL), out, workers=0, show_progress=False)
    assert res.units_skipped == 1 and res.units_run == 5          # 3 objects × 2 poses
    a, b = fields_of(ref_out), fields_of(out)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    again = run_synth(SynthConfig(**SMALL), out, workers=0, show_progress=False)
    assert again.units_run == 0 and again.datapoints == res.datapoints
    with pytest.raises(ConfigError, match="other settings.*seed"):
        run_synth(SynthConfig(**{**SMALL, "seed": 1}), out, workers=0, show_progress=False)


@pytest.mark.slow
def test_ray_workers_give_the_same_dataset(tmp_path, small_dataset):
    pytest.importorskip("ray")
    ref_out, _ = small_dataset
    run_synth(SynthConfig(**SMALL), tmp_path / "ray", workers=2, show_progress=False)
    a, b = fields_of(ref_out), fields_of(tmp_path / "ray")
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


def test_shards_then_a_final_run_give_the_same_dataset(tmp_path, small_dataset):
    from grasplab.synth.dataset_job import parse_shard
    ref_out, _ = small_dataset
    out = tmp_path / "sharded"
    first = run_synth(SynthConfig(**SMALL), out, workers=0, show_progress=False, shard=(0, 2))
    assert first.units_run == 2 * SMALL["max_poses"] and not (out / "gqcnn").exists()   # objects 0 and 2
    run_synth(SynthConfig(**SMALL), out, workers=0, show_progress=False, shard=(1, 2))
    final = run_synth(SynthConfig(**SMALL), out, workers=0, show_progress=False)
    assert final.units_run == 0 and final.units_skipped == 3 * SMALL["max_poses"]
    a, b = fields_of(ref_out), fields_of(out)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    assert parse_shard("3/4") == (3, 4)
    for bad in ("4/4", "1", "a/b", "-1/2"):
        with pytest.raises(ConfigError, match="K/N"):
            parse_shard(bad)


def test_bad_objects_and_unreachable_cluster(tmp_path, shared_data):
    meshes = tmp_path / "meshes"
    meshes.mkdir()
    (meshes / "clown.obj").write_bytes((shared_data / "meshes" / "clown.obj").read_bytes())
    trimesh.creation.box(extents=(60, 40, 30)).export(meshes / "huge.stl")
    cfg = SynthConfig(**{**SMALL, "objects": f"meshes:{meshes}", "formats": ("jacquard",)})
    res = run_synth(cfg, tmp_path / "m", workers=0, show_progress=False)
    assert "huge" in res.failures and "--scale" in res.failures["huge"]
    assert (tmp_path / "m" / "jacquard" / "clown").is_dir()
    with pytest.raises(GrasplabError, match="cannot reach a Ray cluster"):
        run_synth(SynthConfig(**SMALL), tmp_path / "r", workers=2, address="127.0.0.1:9")
    with pytest.raises(ConfigError, match="formats"):
        SynthConfig(formats=("hdf5",))


def test_objects_too_wide_for_the_gripper_are_reported(tmp_path):
    meshes = tmp_path / "meshes"
    meshes.mkdir()
    trimesh.creation.box(extents=(0.2, 0.2, 0.15)).export(meshes / "crate.stl")
    res = run_synth(SynthConfig(**{**SMALL, "objects": f"meshes:{meshes}", "gripper": "yumi"}), tmp_path / "w",
                    workers=0, show_progress=False)
    assert "no antipodal grasp fits the yumi gripper" in res.no_grasps["crate"]
    report = json.loads((tmp_path / "w" / "objects.json").read_text())
    assert "crate" in report["no_grasps"]


def test_dataset_stats_and_show(small_dataset, tmp_path):
    from grasplab.datasets.inspect import dataset_stats, show_dataset
    out, res = small_dataset
    st = dataset_stats(out)
    assert st["datapoints"] == res.datapoints and st["objects"] == 3
    assert set(st["per_family"]) == {"mallet", "profile", "prism"}
    assert sum(r["datapoints"] for r in st["per_object"].values()) == res.datapoints
    assert st["splits"]["object_wise"]["train"] + st["splits"]["object_wise"]["val"] == res.datapoints
    jq_only = dataset_stats(out / "jacquard")
    assert jq_only["datapoints"] == res.datapoints            # every in-image candidate has a sidecar entry
    pics = show_dataset(out, tmp_path / "show.png", count=2)
    assert len(pics) == 2 and all(p.stat().st_size > 5000 for p in pics)
    with pytest.raises(GrasplabError, match="neither"):
        dataset_stats(tmp_path)


def test_a_second_job_into_the_same_folder_is_refused_while_the_first_runs(tmp_path):
    """Two identical synth runs into one --out: the second is told who holds the folder instead
    of doing all the work again; shards of one job take separate locks."""
    import os
    import subprocess
    import sys

    from grasplab.errors import GrasplabError
    from grasplab.storage import folder_lock
    out = tmp_path / "data"
    out.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time\nfrom pathlib import Path\n"
                               "from grasplab.storage import folder_lock\n"
                               "with folder_lock(Path(sys.argv[1]), 'synth', 'synthesis'):\n"
                               "    print('held', flush=True)\n    time.sleep(60)\n", str(out)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(GrasplabError, match=f"being written by process {holder.pid} on .* since"):
            run_synth(SynthConfig(**SMALL), out, workers=0, show_progress=False)
        assert not (out / "units").exists()                 # it did no work
        with folder_lock(out, "synth-shard-0-of-2"):        # a shard's lock is its own
            pass
    finally:
        holder.kill()
        holder.wait()
    with folder_lock(out, "synth"):                          # the lock went with the killed holder
        assert os.path.exists(out / ".synth.lock")


HEAPS = dict(objects="procedural:8:box,prism,cylinder,capsule", views_per_pose=1, max_poses=1, grasps_per_object=30,
             gripper="robotiq_2f85", camera="jacquard", quality=QualityConfig(num_samples=5), heaps=2,
             heap_objects=(3, 3), singles=False)


def test_clutter_heaps_label_neighbours_and_keep_objects_on_one_side(tmp_path):
    from grasplab.synth.heap_units import object_sides
    out = tmp_path / "heaps"
    res = run_synth(SynthConfig(**HEAPS), out, workers=0, show_progress=False)
    assert res.heaps == 2 and res.datapoints > 0 and 0 < res.positives < res.datapoints
    f = fields_of(out)
    ds = TensorDataset.open(out / "gqcnn")
    sides = object_sides(8, 0.8, 0)
    for part, want in (("train", True), ("val", False)):           # object-wise: every heap on one side
        idx = ds.split("object_wise")[0 if part == "train" else 1]
        assert np.all(sides[f["obj_labels"][idx]] == want)
    for heap in (0, 1):                                             # every heap's images on one side too
        views = f["image_labels"] == 1_000_000_000 + heap * 1000
        assert len(set(sides[f["obj_labels"][views]])) == 1
    # a positive is collision-free: with the neighbours and the table as well as its own object
    pos = f["robust_ferrari_canny"] > 0.001
    assert np.all(f["collision_free"][pos] == 1)
    scene = sorted((out / "jacquard").glob("heap*/*_grasps.json"))[0]
    side = json.loads(scene.read_text())
    index = read_mask(str(scene).replace("_grasps.json", "_objects.png"))
    assert 2 <= len(side["heap"]["objects"]) <= 3 and index.any()      # the validation side holds 2 of 8
    again = run_synth(SynthConfig(**{**HEAPS, "heaps": 3}), out, workers=0, show_progress=False)   # more heaps: resumes
    assert again.units_skipped == 2 and again.units_run == 1 and again.heaps == 3


def test_a_heap_mujoco_cannot_build_is_that_heaps_failure(tmp_path, monkeypatch):
    """A convex part MuJoCo cannot hull fails its heap with the reason; the other heaps are made."""
    import grasplab.sim.world as world_module
    from grasplab.errors import SimulationError
    real, build = world_module.convex_decomposition, world_module.SimWorld.build.__func__
    flat = trimesh.Trimesh([[0, 0, 0], [0.05, 0, 0], [0, 0.05, 0], [0.05, 0.05, 0]], [[0, 1, 2], [1, 3, 2]],
                           process=False)
    state = {"flat": True}                                        # the first heap's world only

    def failing_once(cls, *args, **kwargs):
        try:
            return build(cls, *args, **kwargs)
        except SimulationError:
            state["flat"] = False
            raise
    monkeypatch.setattr(world_module, "convex_decomposition", lambda mesh: [flat] if state["flat"] else real(mesh))
    monkeypatch.setattr(world_module.SimWorld, "build", classmethod(failing_once))
    res = run_synth(SynthConfig(**HEAPS), tmp_path / "heaps", workers=0, show_progress=False)
    assert res.heaps == 1 and list(res.failures) == ["heap00000"]
    assert "MuJoCo cannot build the world" in res.failures["heap00000"]


def test_a_grasp_into_a_neighbour_collides():
    """Two boxes 1 cm apart: grasping box A across the gap puts a finger (0.5 cm margin, 0.8 cm thick)
    into box B."""
    from grasplab.geometry import GraspSet
    from grasplab.grasps import CollisionChecker, load_gripper
    gripper = load_gripper("robotiq_2f85")
    a = trimesh.creation.box((0.04, 0.04, 0.06))
    a.apply_translation((0, 0, 0.03))
    b = a.copy()
    b.apply_translation((0.05, 0, 0))                              # faces 1 cm apart along x
    grasps = GraspSet(np.array([[0, 0, 0.04], [0, 0, 0.04]]), np.array([[1.0, 0, 0], [0, 1.0, 0]]),
                      np.array([0.04, 0.04]), np.zeros((2, 2, 3)), np.zeros((2, 2, 3)), "world")
    alone = CollisionChecker(a, gripper).collides(grasps)
    heap = CollisionChecker(trimesh.util.concatenate([a, b]), gripper).collides(grasps)
    assert not alone.any()                                          # both fine on box A alone
    assert heap.tolist() == [True, False]                           # across the gap: hits B; along it: clear


def test_a_label_cache_gives_another_style_the_same_labels_without_labelling_again(tmp_path, small_dataset, monkeypatch):
    """A styled synthesis of the same objects reads the plain run's grasp labels from the cache:
    nothing labelled again, and the same candidates and labels as labelling them itself."""
    from grasplab.synth import label_cache as lc
    ref_out, _ = small_dataset
    cache = tmp_path / "labels"
    plain = run_synth(SynthConfig(**SMALL), tmp_path / "plain", workers=0, show_progress=False, label_cache=cache)
    a, b = fields_of(ref_out), fields_of(tmp_path / "plain")          # writing the cache changes nothing
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    entries = sorted(p.name for p in cache.glob("*.npz"))
    assert 0 < len(entries) <= plain.units_run                        # one per labelled pose
    styled_alone = run_synth(SynthConfig(**{**SMALL, "style": "cornell"}), tmp_path / "alone", workers=0,
                             show_progress=False)
    labelled = []
    real = units_mod.robust_quality
    monkeypatch.setattr(units_mod, "robust_quality", lambda *a, **k: labelled.append(1) or real(*a, **k))
    styled = run_synth(SynthConfig(**{**SMALL, "style": "cornell"}), tmp_path / "cached", workers=0,
                       show_progress=False, label_cache=cache)
    assert not labelled and styled.datapoints == styled_alone.datapoints
    assert sorted(p.name for p in cache.glob("*.npz")) == entries
    a, b = fields_of(tmp_path / "alone"), fields_of(tmp_path / "cached")
    for k in a:                                                         # images and labels alike
        np.testing.assert_array_equal(a[k], b[k])
    sidecars = sorted((tmp_path / "alone" / "jacquard").rglob("*.json"))
    assert sidecars and all(p.read_text() == (tmp_path / "cached" / p.relative_to(tmp_path / "alone")).read_text()
                            for p in sidecars)
    # other label settings are other entries: a changed friction labels again
    run_synth(SynthConfig(**{**SMALL, "quality": QualityConfig(num_samples=5, friction_coef=0.3)}),
              tmp_path / "mu", workers=0, show_progress=False, label_cache=cache)
    assert labelled and len(list(cache.glob("*.npz"))) == 2 * len(entries)
    # a damaged entry (not an archive, or one cut short) is labelled again, not read
    assert lc.load_labels(cache, entries[0][:-4]) is not None
    whole = (cache / entries[0]).read_bytes()
    for damaged in (b"not an npz", whole[:len(whole) // 2]):
        (cache / entries[0]).write_bytes(damaged)
        assert lc.load_labels(cache, entries[0][:-4]) is None


def test_a_label_cache_that_is_a_file_is_refused(tmp_path, capsys):
    from grasplab.cli import main
    (tmp_path / "f").write_text("x")
    with pytest.raises(SystemExit) as exc:
        main(["synth", "--objects", "procedural:1", "--label-cache", str(tmp_path / "f"), "--workers", "0",
              "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert exc.value.code != 0 and "--label-cache" in err and "not a folder" in err and "Traceback" not in err
