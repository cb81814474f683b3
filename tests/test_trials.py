"""Simulated grasp trials: physics with known answers, determinism, the job and its report."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import trimesh

from grasplab.geometry import Grasp3D, RigidTransform
from grasplab.grasps import load_gripper
from grasplab.objects import GraspObject

ROBOTIQ = load_gripper("robotiq_2f85")          # 85 mm opening


def _world(mesh: trimesh.Trimesh, gripper=ROBOTIQ, friction: float = 0.5, density: float = 1000.0):
    from grasplab.sim import SimWorld
    from grasplab.sim import settle
    obj = GraspObject.from_mesh("thing", mesh, density_kg_m3=density)
    z = -obj.mesh.bounds[0, 2] + 0.001
    world = SimWorld.build([(obj, RigidTransform(np.eye(3), (0, 0, z), "obj", "world"))], gripper, friction)
    settle(world)
    return obj, world


def _grasp(world, obj, axis, width_m, height_m):
    """A top-down grasp of the object's centre at ``height_m`` above the table."""
    from grasplab.trials.grasp_execution import execute_grasp
    c = world.object_pose(0).translation_m
    g = Grasp3D((c[0], c[1], height_m), np.asarray(axis, float), width_m, "world")
    return execute_grasp(world, g, 0, np.asarray(obj.mesh.convex_hull.vertices))


BOX = (0.05, 0.07, 0.10)                       # lying on its 5 × 7 cm face: 10 cm tall


@pytest.mark.parametrize("axis,width", [((1, 0, 0), 0.05), ((0, 1, 0), 0.07)])
def test_a_box_grasped_across_its_faces_is_lifted(axis, width):
    obj, world = _world(trimesh.creation.box(BOX))
    r = _grasp(world, obj, axis, width, 0.06)
    assert r.outcome == "success", r.outcome
    assert r.lifted_m > 0.19                      # lifted 20 cm with the hand
    assert abs(r.closed_opening_m - width) < 0.003   # the fingers stopped on the faces


def test_a_box_grasped_across_its_diagonal_or_wider_than_the_gripper_fails():
    # 6.5 cm square: its faces fit the 85 mm opening, its 9.2 cm diagonal does not
    obj, world = _world(trimesh.creation.box((0.065, 0.065, 0.08)))
    r = _grasp(world, obj, (1, 1, 0), 0.092, 0.05)
    assert r.outcome == "collision on approach"
    obj, world = _world(trimesh.creation.box((0.065, 0.065, 0.08)))
    assert _grasp(world, obj, (1, 0, 0), 0.065, 0.05).outcome == "success"     # across its faces it holds
    obj, world = _world(trimesh.creation.box((0.10, 0.06, 0.05)))
    assert _grasp(world, obj, (1, 0, 0), 0.10, 0.03).outcome == "collision on approach"


def test_a_sphere_slips_under_a_weak_grip_and_holds_under_a_firm_one():
    ball = trimesh.creation.icosphere(subdivisions=3, radius=0.03)      # 0.11 kg at 1000 kg/m³: 1.1 N
    weak = dataclasses.replace(ROBOTIQ, grip_force_n=0.5)              # friction 2 × 0.5 × 0.5 = 0.5 N < 1.1 N
    obj, world = _world(ball, weak)
    assert _grasp(world, obj, (1, 0, 0), 0.06, 0.03).outcome == "slipped during lift"
    obj, world = _world(ball, ROBOTIQ)                                 # 40 N: 40 N of friction
    assert _grasp(world, obj, (1, 0, 0), 0.06, 0.03).outcome == "success"


def test_low_friction_drops_a_heavy_box():
    # 0.35 kg × 5 (density 5000): 17 N; friction 2 × 40 N × 0.1 = 8 N cannot hold it, 2 × 40 × 0.5 = 40 N can
    obj, world = _world(trimesh.creation.box(BOX), friction=0.1, density=5000.0)
    assert _grasp(world, obj, (1, 0, 0), 0.05, 0.06).outcome == "slipped during lift"
    obj, world = _world(trimesh.creation.box(BOX), friction=0.5, density=5000.0)
    assert _grasp(world, obj, (1, 0, 0), 0.05, 0.06).outcome == "success"


def test_fingers_closing_on_nothing_is_an_empty_grasp():
    obj, world = _world(trimesh.creation.box(BOX))
    c = world.object_pose(0).translation_m
    from grasplab.trials.grasp_execution import execute_grasp
    g = Grasp3D((c[0] + 0.2, c[1], 0.05), np.array([1.0, 0, 0]), 0.05, "world")       # 20 cm beside the box
    assert execute_grasp(world, g, 0, np.asarray(obj.mesh.convex_hull.vertices)).outcome == "empty grasp"


def test_friction_follows_dexnets_truncated_gaussian():
    from grasplab.trials.trial import TrialConfig
    cfg = TrialConfig.from_preset("jacquard-like")
    rng = np.random.default_rng(0)
    mu = np.array([cfg.draw_friction(rng) for _ in range(4000)])
    q = cfg.quality
    assert mu.min() >= q.min_friction_coef
    assert abs(mu.mean() - q.friction_coef) < 0.01 and abs(mu.std() - q.friction_sigma) < 0.01


@pytest.fixture(scope="module")
def renderer():
    from grasplab.scene import make_renderer
    with make_renderer("auto") as r:
        yield r


def test_a_trial_is_deterministic_for_its_seed_and_the_oracle_lifts(renderer):
    from grasplab.objects import parse_object_source
    from grasplab.trials.trial import TrialConfig, run_trial
    spec = parse_object_source("procedural:3:cylinder", seed=5)[0]
    cfg = TrialConfig.from_preset("jacquard-like")
    a, b = (run_trial(spec, 1, 7, cfg, "oracle", renderer) for _ in range(2))
    timing = ("setup_ms", "planning_ms", "sim_ms", "_setup")
    strip = lambda r: {k: v for k, v in r.items() if k not in timing}     # noqa: E731
    assert strip(a) == strip(b)
    assert a["outcome"] == "success" and a["lifted_m"] >= 0.1
    c = run_trial(spec, 2, 7, cfg, "oracle", renderer)                    # another trial: another draw
    assert (c["friction"], c["grasp_world"]) != (a["friction"], a["grasp_world"])


def test_a_clearance_checked_grasp_leaves_its_checks_in_the_record(renderer):
    from grasplab.objects import parse_object_source
    from grasplab.policies import load_policy, with_clearance
    from grasplab.trials.trial import TrialConfig, run_trial
    spec = parse_object_source("procedural:1:box", seed=5)[0]
    cfg = TrialConfig.from_preset("jacquard-like")
    rec = run_trial(spec, 0, 3, cfg, with_clearance(load_policy("random-antipodal"), "robotiq_2f85"), renderer)
    assert rec["outcome"] != "no grasp" and set(rec["checks"]) == {"reaches", "draw_in", "side_clear_m",
                                                                  "inside_clear_m", "reach_ratio"}
    assert "checks" not in run_trial(spec, 0, 3, cfg, load_policy("random-antipodal"), renderer)


def test_the_job_writes_records_resumes_and_reports(tmp_path):
    from grasplab.trials.job import TrialJobConfig, load_records, record_path, run_trial_job
    from grasplab.trials.report import write_report
    from grasplab.trials.trial import TrialConfig
    cfg = TrialJobConfig(policy={"policy": "random-antipodal", "options": {"gripper": "robotiq_2f85"}},
                         objects="procedural:2:box,cylinder", trials=2, seed=3, videos=1,
                         trial=TrialConfig.from_preset("jacquard-like"))
    recs = run_trial_job(cfg, tmp_path)
    assert len(recs) == 4 and all(r["outcome"] in ("success", "no grasp", "collision on approach", "empty grasp",
                                                   "slipped during lift", "dropped during shake") for r in recs)
    assert len(list((tmp_path / "videos").glob("*.gif"))) >= 1
    import importlib.util
    if importlib.util.find_spec("imageio_ffmpeg"):                          # the video extra (in dev): MP4 too
        mp4 = sorted((tmp_path / "videos").glob("*.mp4"))
        assert mp4 and mp4[0].read_bytes()[4:8] == b"ftyp"
    first = record_path(tmp_path, recs[0]["object"], 0)
    before = json.loads(first.read_text())
    first.unlink()                                                          # as if killed before it finished
    run_trial_job(cfg, tmp_path)
    after = json.loads(first.read_text())
    timing = ("setup_ms", "planning_ms", "sim_ms")
    assert {k: v for k, v in after.items() if k not in timing} == {k: v for k, v in before.items() if k not in timing}
    summary = write_report(tmp_path, load_records(tmp_path))
    assert summary["overall"]["trials"] == 4
    assert "Success:" in (tmp_path / "results.md").read_text() and (tmp_path / "results.json").is_file()
    from grasplab.errors import ConfigError
    with pytest.raises(ConfigError, match="other settings"):
        run_trial_job(dataclasses.replace(cfg, seed=4), tmp_path)
    # more trials later: only the new ones run, the first two per object are the same records
    stamps = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "trials").glob("*.json")}
    more = run_trial_job(dataclasses.replace(cfg, trials=3, videos=0), tmp_path)
    assert len(more) == 6 and sorted(r["trial"] for r in more) == [0, 0, 1, 1, 2, 2]
    assert all(p.stat().st_mtime_ns == stamps[p.name] for p in (tmp_path / "trials").glob("*.json") if p.name in stamps)
    fewer = run_trial_job(dataclasses.replace(cfg, trials=1, videos=0), tmp_path)     # reports the first only
    assert len(fewer) == 2 and {r["trial"] for r in fewer} == {0} and len(list((tmp_path / "trials").glob("*.json"))) == 6


def test_label_study_relates_labels_to_outcomes():
    from grasplab.trials.label_study import summarise_labels
    g = ([{"robust_epsilon": 0.004, "p_force_closure": 0.9, "collision_free": True, "outcome": "success"}] * 30
         + [{"robust_epsilon": 0.0, "p_force_closure": 0.1, "collision_free": True, "outcome": "slipped during lift"}] * 20
         + [{"robust_epsilon": 0.003, "p_force_closure": 0.8, "collision_free": False, "outcome": "collision on approach"}] * 10)
    s = summarise_labels([{"object": "a", "grasps": g}])
    assert s["grasps"] == 60 and s["roc_auc"]["robust_label"] == pytest.approx(1.0)
    assert s["best_threshold"] == 0.0                 # label > 0 separates perfectly here
    top = [b for b in s["by_label"] if b["label_from"] == 0.003][0]
    assert top["success_rate"] == 1.0 and top["n"] == 30


def test_the_trial_command_reports_and_refuses_bad_settings(tmp_path, capsys):
    from grasplab.cli import main
    with pytest.raises(SystemExit) as e:
        main(["trial", "--policy", "oracle", "--objects", "procedural:1:cylinder", "--trials", "1",
              "--out", str(tmp_path / "t")])
    assert e.value.code in (0, None)
    assert "Success:" in capsys.readouterr().out
    for bad, says in ((["--trials", "0"], "--trials"), (["--protocol", "bin"], "protocol"),
                      (["--protocol", "clutter", "--heap-sizes", "5"], "heap"),
                      (["--protocol", "clutter", "--heap-bin", "20"], "--heap-bin"),
                      (["--workers", "-5"], "--workers"), (["--policy", "nope"], "nope")):
        with pytest.raises(SystemExit) as e:
            main(["trial", "--objects", "procedural:1", "--out", str(tmp_path / "bad")] + bad)
        assert e.value.code == 2
        assert says in capsys.readouterr().err


@pytest.mark.slow
def test_trials_give_the_same_records_on_ray_workers_as_in_process(tmp_path):
    from grasplab.trials.job import TrialJobConfig, run_trial_job
    from grasplab.trials.trial import TrialConfig
    cfg = TrialJobConfig(policy={"policy": "map", "options": {}}, objects="procedural:3", trials=2, seed=9,
                         trial=TrialConfig.from_preset("jacquard-like"))
    serial = run_trial_job(cfg, tmp_path / "serial", workers=0)
    on_ray = run_trial_job(cfg, tmp_path / "ray", workers=2)
    assert len(serial) == len(on_ray) == 6
    exact = ("object", "trial", "seed", "pose_index", "friction", "mass_kg", "outcome")
    for a, b in zip(serial, on_ray):
        assert {k: a.get(k) for k in exact} == {k: b.get(k) for k in exact}
        # the network's float sums may differ in the last digits between processes; nothing else does
        assert ("score" in a) == ("score" in b) and ("grasp_world" in a) == ("grasp_world" in b)
        if "grasp_world" in a:
            assert a["score"] == pytest.approx(b["score"], abs=1e-6)
            assert a["grasp_world"]["center_m"] == pytest.approx(b["grasp_world"]["center_m"], abs=1e-5)
            assert a["lifted_m"] == pytest.approx(b["lifted_m"], abs=2e-3)


def test_real_meshes_go_through_a_trial(shared_data, tmp_path):
    from grasplab.trials.job import TrialJobConfig, run_trial_job
    from grasplab.trials.trial import TrialConfig
    cfg = TrialJobConfig(policy={"policy": "oracle"}, objects=f"meshes:{shared_data / 'meshes'}", trials=1, seed=0,
                         trial=TrialConfig.from_preset("jacquard-like"))
    recs = run_trial_job(cfg, tmp_path)
    assert len(recs) == len(list((shared_data / "meshes").glob("*.obj")))
    assert all(r["outcome"] != "error" for r in recs), recs
    assert any(r["outcome"] == "success" for r in recs)


def test_the_oracle_clears_a_small_heap_and_the_heap_is_deterministic():
    from grasplab.objects import parse_object_source
    from grasplab.trials.clutter import run_heap
    from grasplab.trials.trial import TrialConfig
    specs = parse_object_source("procedural:6:box,cylinder,prism", seed=2)
    cfg = TrialConfig.from_preset("jacquard-like")
    a = run_heap(specs, 3, 0, 4, cfg, "oracle")
    assert a["outcome"] == "done" and a["n_objects"] == 3 and len(set(a["objects"])) == 3
    picked = [x["object"] for x in a["attempts"] if x["outcome"] == "success"]
    assert len(picked) == len(set(picked)) == a["cleared"] >= 2           # each object lifted once, taken away
    strip = lambda r: [{k: v for k, v in x.items() if k != "planning_ms"} for x in r["attempts"]]   # noqa: E731
    assert strip(run_heap(specs, 3, 0, 4, cfg, "oracle")) == strip(a)
    assert a["drops"] >= 1 and a["on_table"] == 3 - len(a["unplaced"]) and a["ended_by"] in ("cleared", "no grasp",
                                                                                              "two failures")


def test_a_heap_dropped_into_a_bin_stays_a_heap():
    """Ten procedural objects dropped as one column: freely, about half come to rest beyond the 25 cm
    workspace; into a 20 cm bin that is then taken away, nearly all stay; the bin ends out of reach
    and out of view (below the table), and nothing falls through the table."""
    from grasplab.objects import parse_object_source
    from grasplab.seeding import derive_rng
    from grasplab.sim import drop_heap
    from grasplab.sim.world import PARKED_BIN_M
    from grasplab.trials.clutter import _strays
    specs = parse_object_source("procedural:40", seed=3)
    inside = {}
    for bin_m in (None, 0.2):
        counts = []
        for h in range(3):
            rng = derive_rng(3, "bin-test", h)
            objects = [specs[i].build() for i in rng.choice(len(specs), 10, replace=False)]
            world = drop_heap(objects, ROBOTIQ, 0.5, rng, bin_m)
            counts.append(10 - len(_strays(world, 0.25)))
            assert all(world.object_pose(i).translation_m[2] > 0.0 for i in range(10))
            if bin_m:
                bin_body = world._id("BODY", "bin")
                assert np.allclose(world.data.xpos[bin_body], PARKED_BIN_M)
            world.close()
        inside[bin_m] = sum(counts)
    assert inside[0.2] >= 26 and inside[None] <= 22, inside


def test_a_kept_bin_stands_as_high_as_asked_is_seen_and_touching_it_is_a_collision():
    """Bin picking: a box dropped into a 30 cm bin kept at 10 cm stays inside it; the camera sees the
    walls' tops 10 cm up, 15–16 cm from the centre; fingers lowered onto a wall hit the bin, and fingers
    astride it close on nothing that lifts."""
    from grasplab.geometry import CameraIntrinsics
    from grasplab.objects import GraspObject
    from grasplab.seeding import derive_rng
    from grasplab.sim import drop_heap
    from grasplab.trials.grasp_execution import execute_grasp
    box = GraspObject.from_mesh("box", trimesh.creation.box((0.05, 0.07, 0.04)))
    world = drop_heap([box], ROBOTIQ, 0.5, derive_rng(0, "kept-bin"), bin_m=0.3, keep_bin_m=0.1)
    x, y, z = world.object_pose(0).translation_m
    assert max(abs(x), abs(y)) < 0.15 and 0 < z < 0.05
    intr = CameraIntrinsics(500.0, 500.0, 199.5, 199.5, 400, 400)
    T = RigidTransform.look_at((0, 0, 0.7), (0, 0, 0), up_hint=(0, 1, 0), from_frame="camera", to_frame="world")
    depth, _, index = world.render(intr, T, rgb=False)
    row = depth[200, :]                       # through the centre, across two walls (x = ±0.15..0.16 m)
    u_wall = int(round(199.5 + 500 * 0.155 / 0.6))
    assert abs(row[u_wall] - 0.6) < 0.003 and abs(row[u_wall + 12] - 0.7) < 0.003   # wall top, table beyond
    hull = [np.asarray(box.mesh.convex_hull.vertices)]
    onto = Grasp3D((0.155, 0.0, 0.07), np.array([0.0, 1.0, 0]), 0.05, "world")      # fingers along the wall, onto it
    hit = execute_grasp(world, onto, None, hull)
    assert hit.outcome == "collision on approach" and "bin" in hit.detail
    world.park_hand()
    astride = Grasp3D((0.155, 0.0, 0.07), np.array([1.0, 0.0, 0]), 0.05, "world")   # one finger each side
    assert execute_grasp(world, astride, None, hull).outcome == "empty grasp"
    world.close()
    from grasplab.errors import ConfigError
    from grasplab.trials.trial import TrialConfig
    for bad in ({"heap_bin_m": None, "keep_bin_m": 0.1}, {"keep_bin_m": 0.0}, {"keep_bin_m": 2.0}):
        with pytest.raises(ConfigError, match="keep_bin_m"):
            TrialConfig(**bad)


def test_objects_out_of_the_workspace_are_taken_away():
    """A box 30 cm from the heap's centre is out of a 25 cm workspace (taken away, index given),
    one at 10 cm stays; nothing is taken twice."""
    from grasplab.sim import SimWorld
    from grasplab.trials.clutter import take_away_strays
    box = GraspObject.from_mesh("box", trimesh.creation.box((0.04, 0.04, 0.04)))
    world = SimWorld.build([(box, RigidTransform(np.eye(3), (0.10, 0.0, 0.02), "obj", "world")),
                            (box, RigidTransform(np.eye(3), (0.0, -0.30, 0.02), "obj", "world"))], ROBOTIQ, 0.5)
    assert take_away_strays(world, 0.25) == [1] and world.active_objects() == [0]
    assert take_away_strays(world, 0.25) == [] and take_away_strays(world, 0.05) == [0]
    world.close()


def test_an_object_too_wide_for_the_gripper_in_its_resting_pose():
    """A 12 × 12 × 4 cm slab rests flat, wider than the 85 mm opening every way: too wide; a
    4 cm cube and a mallet-like T (a 12 cm bar on a 2 cm handle: its hull is wide, its handle is
    not) fit."""
    from grasplab.trials.clutter import too_wide
    from grasplab.trials.trial import TrialConfig
    cfg = TrialConfig.from_preset("jacquard-like")
    slab = GraspObject.from_mesh("slab", trimesh.creation.box((0.12, 0.12, 0.04)))
    cube = GraspObject.from_mesh("cube", trimesh.creation.box((0.04, 0.04, 0.04)))
    bar = trimesh.creation.box((0.12, 0.03, 0.03))
    handle = trimesh.creation.box((0.02, 0.10, 0.02))
    handle.apply_translation((0.0, 0.065, -0.005))
    tee = GraspObject.from_mesh("tee", trimesh.boolean.union([bar, handle]) if trimesh.boolean.engines_available
                                else trimesh.util.concatenate([bar, handle]))
    assert too_wide(slab, ROBOTIQ, cfg) and not too_wide(cube, ROBOTIQ, cfg) and not too_wide(tee, ROBOTIQ, cfg)


def test_clutter_summary_counts_strays_and_objects_that_fit(tmp_path):
    """Two heaps of 3 with known outcomes: cleared over the objects on the table; of those that
    fit, over the objects that are not too wide; strays listed among the failures."""
    from grasplab.trials.report import summarise_clutter
    ok = lambda o: {"outcome": "success", "object": o, "sim_s": 3.0, "planning_ms": 100.0}   # noqa: E731
    slip = {"outcome": "slipped during lift", "object": "c", "sim_s": 3.0, "planning_ms": 100.0}
    heaps = [{"outcome": "done", "n_objects": 3, "objects": ["a", "b", "c"], "on_table": 3, "cleared": 2,
              "attempts": [ok("a"), slip, ok("c")], "too_wide": ["b"], "unplaced": [], "left_workspace": ["b"],
              "ended_by": "left the workspace"},
             {"outcome": "done", "n_objects": 3, "objects": ["d", "e", "f"], "on_table": 2, "cleared": 1,
              "attempts": [ok("e"), {"outcome": "no grasp", "sim_s": 0.0, "planning_ms": 50.0}],
              "too_wide": ["e"], "unplaced": ["f"], "left_workspace": [], "ended_by": "no grasp"}]
    s = summarise_clutter(heaps)["3"]
    assert s["cleared_fraction"] == pytest.approx(3 / 5)
    assert s["objects_fitting"] == 3 and s["cleared_fraction_fitting"] == pytest.approx(2 / 3)   # a, c of a, c, d
    assert s["failures"] == {"slipped during lift": 1, "no grasp": 1, "objects that left the workspace": 1}
    assert s["ended_by"] == {"left the workspace": 1, "no grasp": 1} and s["trials"] == 4 and s["successes"] == 3
    assert "by_draw_in" not in s                                     # no policy measured it
    from grasplab.trials.report import clutter_markdown, summarise
    checked = lambda out, d: {"outcome": out, "object": "a", "sim_s": 3.0, "planning_ms": 100.0,   # noqa: E731
                              "checks": {"reaches": True, "draw_in": d}}
    heap = {**heaps[0], "attempts": [checked("success", 0.0), checked("success", 0.25), checked("slipped during lift", 0.3),
                                     checked("success", 0.4), checked("slipped during lift", 1.2)]}
    groups = summarise_clutter([heap])["3"]["by_draw_in"]
    assert list(groups) == ["≤ 0.25", "0.25–0.5", "> 0.5"]
    assert [(g["trials"], g["successes"], g["slips"]) for g in groups.values()] == [(2, 2, 0), (2, 1, 1), (1, 0, 1)]
    meta = {"config": {"policy": {"policy": "map"}, "objects": "x", "trials": 1, "seed": 0,
                       "trial": {"gripper": "g", "camera": "c", "workspace_radius_m": 0.25}},
            "command": ["grasplab"], "grasplab_version": "0"}
    assert "| 0.25–0.5 | 2 | 50.0 %" in clutter_markdown(summarise_clutter([heap]), meta)
    assert "dropped freely" in clutter_markdown(summarise_clutter([heap]), meta)     # where the heaps lie
    for trial, says in (({"heap_bin_m": 0.2}, "fall into a 20 cm bin, taken away"),
                        ({"heap_bin_m": 0.3, "keep_bin_m": 0.1}, "picked from a 30 cm bin whose walls stand 10 cm")):
        kept = {**meta, "config": {**meta["config"], "trial": {**meta["config"]["trial"], **trial}}}
        assert says in clutter_markdown(summarise_clutter([heap]), kept)
    from grasplab.trials.report import clutter_errors            # heaps a bad mesh stopped are named
    bad = lambda k: {"heap": k, "n_objects": 3, "objects": ["x"], "outcome": "error",   # noqa: E731
                     "error": "x.obj: has NaN or infinite vertex coordinates (fix the export)"}
    errors = clutter_errors([heap, bad(7), bad(2)])
    assert errors == [{"error": bad(0)["error"], "heaps": ["3-object heap 2", "3-object heap 7"]}]
    md = clutter_markdown(summarise_clutter([heap, bad(7), bad(2)]), meta, errors)
    assert "| 3 | 1 |" in md and "left out of the table (2)" in md and "NaN" in md
    single = [{**checked("success", 0.1), "family": "f"}, {**checked("slipped during lift", 0.9), "family": "f"}]
    assert summarise(single)["by_draw_in"]["> 0.5"]["slips"] == 1
    from grasplab.trials.report import save_draw_in_chart
    assert save_draw_in_chart({"3-object heaps": groups}, tmp_path / "d.png").stat().st_size > 1000
    assert save_draw_in_chart({"3-object heaps": {}}, tmp_path / "e.png") is None
    from grasplab.trials.report import policy_label
    wrapped = {"policy": "clearance", "options": {"policy": {"policy": "fc-gqcnn", "options": {}}}}
    assert policy_label({"policy": "fallback", "options": {"policies": [wrapped, "map"]}}) == \
        "fc-gqcnn + clearance, else map"


def test_the_world_camera_sees_what_the_scene_renderer_sees(renderer):
    from grasplab.scene import Scene, camera_preset, sample_camera
    from grasplab.scene.scene import Appearance
    from grasplab.sim import SimWorld
    obj = GraspObject.from_mesh("box", trimesh.creation.box(BOX))
    T = RigidTransform(np.eye(3), (0.01, 0.02, 0.05), "obj", "world")
    world = SimWorld.build([(obj, T)], ROBOTIQ, 0.5)
    intr, T_wc = sample_camera(np.random.default_rng(0), camera_preset("jacquard"), target_m=(0, 0, 0))
    depth, rgb, index = world.render(intr, T_wc)
    obs = renderer.render(Scene(obj, T, intr, T_wc, Appearance()))
    if obs.mask is None:
        pytest.skip("the fallback renderer gives no mask")
    assert np.abs(depth - obs.depth_m).max() < 1e-4 and ((index == 0) == obs.mask).all() and obs.mask.sum() > 500
    world.close()


def test_clutter_job_reports_clearing(tmp_path):
    from grasplab.trials.job import TrialJobConfig, load_records, run_trial_job
    from grasplab.trials.report import write_report
    from grasplab.trials.trial import TrialConfig
    cfg = TrialJobConfig(policy={"policy": "map", "options": {}}, objects="procedural:8", protocol="clutter",
                         trials=1, heap_sizes=(3,), seed=1, trial=TrialConfig.from_preset("jacquard-like"))
    run_trial_job(cfg, tmp_path)
    s = write_report(tmp_path, load_records(tmp_path))
    assert s["3"]["heaps"] == 1 and 0 <= s["3"]["cleared_fraction"] <= 1
    assert "objects cleared" in (tmp_path / "results.md").read_text()
    failed = [a for r in load_records(tmp_path) for a in r["attempts"] if a["outcome"] not in ("success", "no grasp")]
    assert len(list((tmp_path / "thumbs").glob("*.png"))) == len(failed)
    assert (tmp_path / "figures" / "failures.png").is_file() == bool(failed)
    from grasplab.trials.report import compare_runs
    assert "| map | 3 | 1 |" in compare_runs([tmp_path])
    # a heap of the first protocol (its record says nothing of how it ended) is not resumed into
    from grasplab.errors import ConfigError
    from grasplab.storage import atomic_write_json
    from grasplab.trials.job import record_path
    old = {k: v for k, v in load_records(tmp_path)[0].items() if k != "ended_by"}
    atomic_write_json(record_path(tmp_path, old["object"], 0), old)
    with pytest.raises(ConfigError, match="first protocol.*another --out"):
        run_trial_job(cfg, tmp_path)


def test_trial_table_puts_runs_side_by_side_on_the_same_trials(tmp_path):
    from grasplab.errors import ConfigError
    from grasplab.storage import atomic_write_json
    from grasplab.trials.report import compare_runs

    def run(name, policy, outcomes):
        d = tmp_path / name
        atomic_write_json(d / "trial_config.json", {"config": {"policy": {"policy": policy},
                                                               "trial": {"execution": {"open_fully": False}}}})
        for k, o in enumerate(outcomes):
            atomic_write_json(d / "trials" / f"obj__t{k:03d}.json", {"object": "obj", "family": "box", "trial": k,
                                                                      "outcome": o, "planning_ms": 10.0})
        return d
    oracle = run("oracle", "oracle", ["success", "success", "no grasp", "success"])
    mine = run("mine", "map", ["success", "collision on approach", "collision on approach", "success"])
    md = compare_runs([oracle, mine], oracle)
    assert "| map | 4 | 50.0 % (2/4" in md and "66.7 % (2/3" in md          # 2 of the 3 trials the oracle grasps
    # paired over the same four trials: one lifted by the oracle only → −25 points, SE 0.5 / √4
    assert "| map (`mine`) | 4 | -25.0 (25.0) | 0 / 1 |" in md and "Paired against oracle (`oracle`)" in md
    assert "Paired" not in compare_runs([mine])
    with pytest.raises(ConfigError, match="other trials"):
        compare_runs([oracle, run("short", "map", ["success"])])


def test_paired_change_of_two_runs_over_the_keys_both_hold():
    from grasplab.trials.report import paired_change
    c = paired_change({0: 0.4, 1: 1.0, 2: 0.6, 9: 0.0}, {0: 0.6, 1: 1.0, 2: 1.0, 5: 1.0})
    d = np.array([0.2, 0.0, 0.4])                                       # heaps 0, 1, 2 only
    assert c["n"] == 3 and (c["up"], c["down"]) == (2, 0)
    assert c["change"] == pytest.approx(d.mean()) and c["se"] == pytest.approx(d.std(ddof=1) / np.sqrt(3))
    assert paired_change({0: 1.0}, {0: 0.0}) is None                      # one heap: no spread to speak of


def test_trial_table_pairs_clutter_runs_heap_by_heap(tmp_path):
    from grasplab.storage import atomic_write_json
    from grasplab.trials.report import compare_runs

    def run(name, cleared):                                            # 5-object heaps, objects cleared per heap
        d = tmp_path / name
        atomic_write_json(d / "trial_config.json", {"config": {
            "policy": {"policy": "auto"}, "protocol": "clutter", "objects": "procedural:8", "seed": 1,
            "trials": len(cleared), "heap_sizes": [5], "trial": {"execution": {"open_fully": False}}}})
        for k, c in enumerate(cleared):
            attempts = [{"outcome": "success", "planning_ms": 5.0, "sim_s": 3.0}] * c + \
                [{"outcome": "slipped during lift", "planning_ms": 5.0, "sim_s": 3.0}] * 2
            atomic_write_json(d / "trials" / f"heap05__t{k:03d}.json", {
                "object": "heap05", "trial": k, "heap": k, "n_objects": 5, "on_table": 5, "objects": list("abcde"),
                "outcome": "done", "cleared": c, "attempts": attempts, "ended_by": "two failures"})
        return d
    md = compare_runs([run("before", [3, 5, 4, 2]), run("after", [4, 5, 5, 2])])
    # per heap +0.2, 0, +0.2, 0 → +10 points, SE 0.1155 / 2
    assert "| auto (`after`) | 5 | 4 | +10.0 (5.8) | 2 / 0 |" in md


def test_a_world_mujoco_cannot_build_is_a_clear_error_and_a_trial_record(monkeypatch, renderer):
    """A collision part MuJoCo cannot hull (flat to rounding) must not end a run: the trial
    records the error, naming the object and the fix."""
    import grasplab.sim.world as world_module
    from grasplab.errors import SimulationError
    from grasplab.objects import parse_object_source
    from grasplab.trials.trial import TrialConfig, run_trial
    flat = trimesh.Trimesh([[0, 0, 0], [0.05, 0, 0], [0, 0.05, 0], [0.05, 0.05, 0]], [[0, 1, 2], [1, 3, 2]],
                           process=False)
    monkeypatch.setattr(world_module, "convex_decomposition", lambda mesh: [flat])
    with pytest.raises(SimulationError, match="MuJoCo cannot build the world of thing.*pymeshfix"):
        _world(trimesh.creation.box((0.05, 0.05, 0.05)))
    spec = parse_object_source("procedural:1:box", seed=5)[0]
    rec = run_trial(spec, 0, 7, TrialConfig.from_preset("jacquard-like"), "oracle", renderer)
    assert rec["outcome"] == "error" and "MuJoCo cannot build the world" in rec["error"]
    from grasplab.trials.clutter import run_heap                    # a heap: its record, not the job's end
    heap = run_heap(parse_object_source("procedural:3:box", seed=5), 2, 0, 7, TrialConfig.from_preset("jacquard-like"),
                    "oracle")
    assert heap["outcome"] == "error" and "MuJoCo cannot build the world" in heap["error"]
