"""The semi-supervised study: exact symmetry transforms of grasp maps, the two new methods'
losses, the study's cells, schedule and statistics, and a tiny run end to end."""
import json

import numpy as np
import pytest
import torch

from grasplab.errors import ConfigError
from grasplab.experiments.semisup_methods import (ConsistencyLoss, symmetric_pseudo_labels, unview_maps,
                                                  view_images, view_maps)
from grasplab.experiments.semisup_cells import (FULL_STUDY, StudyConfig, all_cells, axis_cells, reference_of, schedule,
                                              teacher_of)
from grasplab.experiments.semisup_study_report import summarise_cell
from grasplab.policies import map_augmentation as ma
from grasplab.policies.map_augmentation import VIEWS

SYMMETRIES = VIEWS[8]


@pytest.mark.parametrize("turns,mirrored", SYMMETRIES)
def test_torch_transforms_match_the_test_time_augmentation_and_invert(turns, mirrored):
    maps = torch.randn(2, 4, 12, 12)
    back = unview_maps(maps, turns, mirrored)
    ref = ma.unview_maps([m for m in maps.numpy().transpose(1, 0, 2, 3)], turns, mirrored)
    np.testing.assert_allclose(back.numpy().transpose(1, 0, 2, 3), np.stack(ref), atol=0)
    assert torch.equal(unview_maps(view_maps(maps, turns, mirrored), turns, mirrored), maps)
    x = torch.randn(1, 3, 12, 12)
    assert np.array_equal(view_images(x, turns, mirrored).numpy(), ma.view_image(x.numpy(), turns, mirrored))


@pytest.mark.parametrize("turns,mirrored", SYMMETRIES)
def test_maps_of_a_turned_image_are_the_turned_maps(turns, mirrored):
    """Known answer: the label maps of the rectangles moved with the image equal ``view_maps`` of
    the original label maps (angles included), for every symmetry."""
    from grasplab.datasets.ggcnn_targets import grasp_maps
    from grasplab.geometry import Grasp2D, GraspRectangle
    s = 48
    grasps = [Grasp2D((14.0, 20.0), 0.4, 16.0, 6.0), Grasp2D((31.0, 30.0), -1.1, 12.0, 5.0)]
    rects = [GraspRectangle.from_grasp2d(g).corners_xy_px for g in grasps]
    moved = []
    for r in rects:
        r = r.copy()
        if mirrored:
            r = np.c_[(s - 1) - r[:, 0], r[:, 1]]
        for _ in range(turns):                   # numpy rot90 (counter-clockwise on screen)
            r = np.c_[r[:, 1], (s - 1) - r[:, 0]]
        moved.append(GraspRectangle(r))
    original = torch.from_numpy(grasp_maps([GraspRectangle(r) for r in rects], (s, s)).stack())[None]
    expected = torch.from_numpy(grasp_maps(moved, (s, s)).stack())[None]
    got = view_maps(original, turns, mirrored)
    inside = expected[0, 0] > 0
    assert inside.sum() > 20
    np.testing.assert_allclose(got[0, 0], expected[0, 0], atol=1e-6)
    np.testing.assert_allclose(got[0, 1:3, inside], expected[0, 1:3, inside], atol=2e-2)


class _Equivariant(torch.nn.Module):
    """Quality = the first input channel (moves with the pixels), angle maps zero (θ-free), width 0."""

    def forward(self, x):
        q = x[:, :1]
        z = torch.zeros_like(q)
        return q, z, z, z


class _Ramp(torch.nn.Module):
    """Quality = the column index: not equivariant."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.ones(()))

    def forward(self, x):
        q = self.w * torch.arange(x.shape[-1], dtype=x.dtype).expand_as(x[:, :1])
        z = torch.zeros_like(q)
        return q, z, z, z


class _Field(_Ramp):
    """Quality = a fixed random pattern: no symmetry of the square leaves it unchanged."""

    def forward(self, x):
        q = self.w * torch.rand(x.shape[-2:], generator=torch.Generator().manual_seed(0)).expand_as(x[:, :1])
        z = torch.zeros_like(q)
        return q, z, z, z


def test_consistency_is_zero_for_an_equivariant_network_and_positive_otherwise():
    x = torch.randn(8, 2, 16, 16)
    assert float(ConsistencyLoss(_Equivariant(), x, 4, seed=0)(0)) == 0.0
    field = _Field()
    loss = ConsistencyLoss(field, x, 4, seed=0)
    values = [loss(i) for i in range(6)]
    assert all(float(v.detach()) > 0.01 for v in values)
    values[0].backward()
    assert field.w.grad is not None and float(field.w.grad) != 0.0        # it trains the network


def test_pseudo_labels_average_the_eight_views():
    x = torch.randn(5, 2, 16, 16)
    assert torch.allclose(symmetric_pseudo_labels(_Equivariant(), x, batch_size=2),
                          torch.cat(_Equivariant()(x), 1), atol=1e-6)
    ramp = symmetric_pseudo_labels(_Ramp(), x)
    assert torch.allclose(ramp[:, 0], torch.full_like(ramp[:, 0], 7.5))   # the ramp averaged over turns


def test_pseudo_labels_with_the_views_in_one_batch_are_those_of_one_view_at_a_time():
    from grasplab.experiments.semisup_methods import VIEWS, stacked_maps, unview_maps, view_images
    from grasplab.models.ggcnn import GGCNN
    torch.manual_seed(0)
    net = GGCNN(input_channels=1, filters=(8, 4, 4)).eval()
    x = torch.rand(6, 1, 24, 24)
    with torch.no_grad():
        one_at_a_time = sum(unview_maps(stacked_maps(net, view_images(x, t, m)), t, m) for t, m in VIEWS[8]) / 8
    labels = symmetric_pseudo_labels(net, x, batch_size=4)
    assert torch.allclose(labels, one_at_a_time, atol=1e-6) and labels.shape == (6, 4, 24, 24)


def test_cells_schedule_and_references():
    cfg = StudyConfig()
    axes = axis_cells(cfg)
    assert set(axes) == {"pool", "input", "latent", "codebook", "encoder", "scenes"}
    assert {c.pool for c in axes["pool"]} == {1, 4, 16}
    # the pool axis also holds the cross-modal curve: pseudo-depth on RGB at every pool, with its reference
    curve = [c for c in axes["pool"] if c.method == "pseudo-depth"]
    assert {(c.inputs, c.pool) for c in curve} == {("rgb", 1), ("rgb", 4), ("rgb", 16)}
    assert reference_of(curve[0], cfg) in axes["pool"] and {c.inputs for c in axes["pool"]} == {"rgbd", "rgb"}
    assert not [c for c in axis_cells(StudyConfig(cross_modal_inputs=()))["pool"] if c.inputs != "rgbd"]
    assert {c.inputs for c in axes["input"]} == {"rgb", "depth", "rgbd"}
    assert {(c.method, c.pool) for c in axes["input"]} == {("ggcnn", 1), ("vqvae", 1), ("pseudo-depth", cfg.scenes_pool)}
    full = axis_cells(StudyConfig(**FULL_STUDY))
    assert {(c.method, c.pool) for c in full["input"]} == {("ggcnn", 1), ("vqvae", 1), ("pseudo", cfg.scenes_pool),
                                                            ("consistency", cfg.scenes_pool),
                                                            ("pseudo-depth", cfg.scenes_pool)}
    assert {c.codes for c in full["codebook"]} == {64, 256, 1024}
    assert {c.method for c in full["scenes"]} == {"ggcnn", "vqvae", "pseudo", "consistency"}
    # the default leaves out only cells whose rows the full grid also has: the rows it runs are the same
    assert set(all_cells(cfg)) < set(all_cells(StudyConfig(**FULL_STUDY)))
    assert len(schedule(cfg)) == 75 and len(schedule(StudyConfig(**FULL_STUDY))) == 93
    cross = [c for c in axes["input"] if c.method == "pseudo-depth"]
    assert {c.inputs for c in cross} == {"rgb", "rgbd"}                 # on depth it would be plain pseudo
    for c in cross:                   # paired with the GG-CNN on its own input, taught by the one on depth
        assert reference_of(c, cfg).inputs == c.inputs and teacher_of(c, cfg).inputs == "depth"
        assert teacher_of(c, cfg).method == "ggcnn" and teacher_of(c, cfg).pool == 1
    assert {c.grid for c in axes["latent"]} == {24, 48} and {c.codes for c in axes["codebook"]} == {64, 256}
    assert {c.method for c in axes["encoder"]} == {"ggcnn", "vqvae", "vqvae-finetune", "joint"}
    assert {c.style for c in axes["scenes"]} == {"plain", "cornell"}
    assert {c.method for c in axes["scenes"]} == {"ggcnn", "vqvae", "pseudo"}
    cells = all_cells(cfg)
    assert len(cells) == len(set(cells))
    plan = schedule(cfg)
    assert len(plan) == len(cells) * cfg.seeds and len(set(plan)) == len(plan)
    seen = set()
    for seed, c in plan:                         # every reference and teacher trains before the cells using it
        if c.method != "ggcnn":
            assert (seed, reference_of(c, cfg)) in seen
        if teacher_of(c, cfg):
            assert (seed, teacher_of(c, cfg)) in seen
        seen.add((seed, c))
    pool_needs = set(axes["pool"]) | {t for c in axes["pool"] if (t := teacher_of(c, cfg))}
    first_other = next(i for i, (_, c) in enumerate(plan) if c not in pool_needs)
    assert {s for s, _ in plan[:first_other]} == {0, 1, 2}          # the headline axis, every seed, first


@pytest.mark.parametrize("bad,match", [(dict(axes=("colour",)), "unknown study axis"),
                                       (dict(pools=(0, 4)), "multiples"),
                                       (dict(latent_grids=(12,)), "latent grid"),
                                       (dict(inputs=("ir",)), "input"),
                                       (dict(styles=("fancy",)), "scene style"),
                                       (dict(pool_methods=("ggcnn",)), "unknown method"),
                                       (dict(labelled_fraction=1.0), "fraction")])
def test_bad_study_settings_are_refused(bad, match):
    with pytest.raises(ConfigError, match=match):
        StudyConfig(**bad)


def test_paired_differences_and_their_interval():
    rows = [{"seed": s, "test_top1": t, "test_correct": int(t * 100), "test_images": 100, "val_top1": v,
             "train_s": 1.0, "labelled_images": 10, "pool_images": 50} for s, t, v in [(0, .7, .6), (1, .8, .7), (2, .75, .8)]]
    ref = [{"seed": s, "test_top1": t, "val_top1": v} for s, t, v in [(0, .6, .5), (1, .65, .7), (2, .7, .6)]]
    c = summarise_cell(rows, ref)
    np.testing.assert_allclose(c["paired_diffs"], [.1, .15, .05])
    assert c["diff_mean"] == pytest.approx(0.1) and c["diff_std"] == pytest.approx(0.05)
    half = 4.302652729911275 * 0.05 / np.sqrt(3)                       # t(0.975, 2 d.f.)
    np.testing.assert_allclose(c["diff_ci95"], [0.1 - half, 0.1 + half])
    assert c["test_mean"] == pytest.approx(0.75) and c["val_mean"] == pytest.approx(0.7)
    assert c["val_diff_mean"] == pytest.approx(0.1)                      # (0.1 + 0.0 + 0.2) / 3
    assert c["pooled_ci95"][0] < 0.75 < c["pooled_ci95"][1]


def test_unlabelled_frame_folders_are_read_as_scenes_without_grasps(tmp_path):
    from grasplab.experiments.semisup_study import load_unlabelled
    from grasplab.imaging.image_io import write_png
    for i in range(3):
        np.save(tmp_path / f"depth_{i}.npy", np.full((40, 50), 0.7, np.float32))
        write_png(tmp_path / f"color_{i}.png", np.zeros((40, 50, 3), np.uint8))
    write_png(tmp_path / "segmask_0.png", np.ones((40, 50), np.uint8) * 255)
    frames = load_unlabelled(tmp_path)
    assert len(frames) == 3 and frames[0].rectangles() == [] and frames[0].depth_m().shape == (40, 50)
    assert frames[0].mask().all() and frames[2].rgb().shape == (40, 50, 3)
    from grasplab.errors import GrasplabError
    with pytest.raises(GrasplabError, match="segmask_1.png"):
        frames[1].mask()
    with pytest.raises(ConfigError, match="not a folder"):
        load_unlabelled(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="neither"):
        load_unlabelled(tmp_path / "empty")


def test_cli_refuses_bad_study_options(tmp_path, capsys):
    from grasplab.cli import main
    for args, match in [(["--axes", "colour"], "unknown study axis"), (["--device", "tpu"], "--device"),
                        (["--pools", "1,x"], "--pools"), (["--quick", "--full"], "--quick and --full")]:
        with pytest.raises(SystemExit) as exc:
            main(["experiment", "semisup-study", "--out", str(tmp_path / "s"), *args])
        assert exc.value.code != 0
        err = capsys.readouterr().err
        assert match in err and "Traceback" not in err


@pytest.mark.slow
def test_a_tiny_study_runs_resumes_and_reports(tmp_path):
    from grasplab.datasets.scene_sources import load_scenes
    from grasplab.experiments.semisup_study import StudyData, study_splits, run_study
    from grasplab.synth import SynthConfig, run_synth
    common = dict(grasps_per_object=60, max_poses=1, views_per_pose=2, renderer="mujoco")
    run_synth(SynthConfig.from_preset("semisup-quick", objects="procedural:12", **common), tmp_path / "l",
              show_progress=False)
    run_synth(SynthConfig.from_preset("semisup-quick", objects="procedural:8", seed=9, labels=False, **common),
              tmp_path / "u", show_progress=False)
    cfg = StudyConfig(seeds=2, pools=(1, 2), inputs=("depth", "rgb"), latent_grids=(12,), codebooks=(8,),
                      styles=("plain",), axes=("pool", "input"), size_px=48, ae_steps=3, grasp_steps=3, finetune_steps=2,
                      hidden=8, latent_dim=4, augmentations=1, val_folds=3, labelled_fraction=0.5, scenes_pool=2,
                      pool_methods=("vqvae", "vqvae-finetune", "pseudo", "consistency"), input_methods=("pseudo-depth",))
    pool, val, test = study_splits(load_scenes(tmp_path / "l", "jacquard", "stereo"), cfg)
    assert not {s.object_id for s in pool} & ({s.object_id for s in val} | {s.object_id for s in test})
    data = {"plain": StudyData(pool, val, test, load_scenes(tmp_path / "u", "jacquard", "stereo")[:len(pool)])}
    rep = run_study(data, cfg, tmp_path / "study", show_progress=False, command="test")
    # pool axis 9 cells + the cross-modal curve on RGB (its 1× cell new); input axis + GG-CNN on RGB, its
    # depth-taught student at 2× (shared with the curve)
    assert len(rep["rows"]) == 2 * 12
    cross = [r for r in rep["rows"] if r["method"] == "pseudo-depth"]
    assert len(cross) == 4 and all(r["inputs"] == "rgb" for r in cross)
    assert sorted(r["pool_images"] for r in cross) == [len(pool)] * 2 + [2 * len(pool)] * 2
    assert {r["pool_images"] for r in rep["rows"] if r["method"] == "pseudo"} == {len(pool), 2 * len(pool)}
    assert all(r["test_images"] == len(test) and r["val_images"] == len(val) for r in rep["rows"])
    assert (tmp_path / "study" / "figures" / "study-pool.png").is_file()
    md = (tmp_path / "study" / "study.md").read_text()
    assert "Verdict" in md and "chosen" not in md and rep["summary"]["best"]["chosen_on"] == "validation accuracy"
    assert rep["summary"]["best_gain"]["chosen_on"].startswith("validation gain")
    row = json.loads((tmp_path / "study" / "rows" / "pseudo-plain-depth-x2-g12-k8-seed1.json").read_text())
    assert row["seed"] == 1 and row["labelled_images"] >= 1
    before = (tmp_path / "study" / "models" / "pseudo-plain-depth-x2-g12-k8-seed1.npz").stat().st_mtime_ns
    again = run_study(data, cfg, tmp_path / "study", show_progress=False)
    assert sorted(r["key"] for r in again["rows"]) == sorted(r["key"] for r in rep["rows"])
    assert (tmp_path / "study" / "models" / "pseudo-plain-depth-x2-g12-k8-seed1.npz").stat().st_mtime_ns == before
    from dataclasses import replace
    with pytest.raises(ConfigError, match="hidden"):
        run_study(data, replace(cfg, hidden=16), tmp_path / "study", show_progress=False)


@pytest.mark.slow
def test_study_cli_on_user_data_and_an_unlabelled_frame_folder(tmp_path, capsys):
    """``--data`` (labelled Jacquard-layout scenes) and ``--unlabelled`` (a depth_N/color_N/segmask_N
    folder) drive the pool axis; the scenes axis is dropped; the report names the command."""
    from grasplab.cli import main
    from grasplab.datasets.scene_sources import load_scenes
    from grasplab.imaging.image_io import write_png
    from grasplab.synth import SynthConfig, run_synth
    common = dict(grasps_per_object=60, max_poses=1, views_per_pose=2, renderer="mujoco")
    run_synth(SynthConfig.from_preset("semisup-quick", objects="procedural:30", **common), tmp_path / "d",
              show_progress=False)
    run_synth(SynthConfig.from_preset("semisup-quick", objects="procedural:30", seed=5, labels=False, **common),
              tmp_path / "u", show_progress=False)
    frames = tmp_path / "frames"
    frames.mkdir()
    for i, s in enumerate(load_scenes(tmp_path / "u", "jacquard", "stereo")):
        np.save(frames / f"depth_{i}.npy", s.depth_m())
        write_png(frames / f"color_{i}.png", s.rgb())
        write_png(frames / f"segmask_{i}.png", s.mask().astype(np.uint8) * 255)
    out = tmp_path / "study"
    with pytest.raises(SystemExit) as exc:
        main(["experiment", "semisup-study", "--data", str(tmp_path / "d"), "--unlabelled", str(frames), "--axes",
              "pool", "--pools", "1,2", "--seeds", "1", "--quick", "--out", str(out)])
    assert exc.value.code in (0, None)
    text = capsys.readouterr().out
    assert "most accurate on validation" in text and "largest gain on validation" in text and "study.md" in text
    rep = json.loads((out / "study.json").read_text())
    assert {r["style"] for r in rep["rows"]} == {"data"} and {r["pool"] for r in rep["rows"]} == {1, 2}
    assert rep["command"].startswith("grasplab") and rep["images"]["data"]["extra"] > 0
    with pytest.raises(SystemExit) as exc:     # a pool larger than the folder gives is refused with the fix
        main(["experiment", "semisup-study", "--data", str(tmp_path / "d"), "--unlabelled", str(frames),
              "--axes", "pool", "--pools", "1,64", "--seeds", "1", "--quick", "--out", str(tmp_path / "big")])
    assert exc.value.code != 0 and "--unlabelled" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:     # an unknown input for the cross-modal curve, before any work
        main(["experiment", "semisup-study", "--data", str(tmp_path / "d"), "--cross-modal", "ir", "--quick",
              "--out", str(tmp_path / "ir")])
    assert exc.value.code != 0 and "input 'ir'" in capsys.readouterr().err and not (tmp_path / "ir").exists()


def test_verdicts_pick_on_validation_accuracy_and_on_validation_gain():
    from grasplab.experiments.semisup_study_report import study_summary
    cfg = StudyConfig(axes=("input",), inputs=("rgbd", "depth"), input_methods=("pseudo",))

    def rows(inputs, method, pool, test, val):
        key = f"{method}-plain-{inputs}-x{pool}-g24-k256"
        return [{"key": key, "style": "plain", "inputs": inputs, "pool": pool, "grid": 24, "codes": 256,
                 "method": method, "seed": s, "test_top1": test, "test_correct": int(test * 100), "test_images": 100,
                 "val_top1": val, "train_s": 1.0, "labelled_images": 10, "pool_images": 50} for s in range(2)]
    all_rows = (rows("rgbd", "ggcnn", 1, .5, .5) + rows("rgbd", "pseudo", 4, .6, .65)      # +15 on validation
                + rows("depth", "ggcnn", 1, .8, .8) + rows("depth", "pseudo", 4, .8, .82))   # +2, but most accurate
    s = study_summary(all_rows, cfg)
    assert s["best"]["cell"] == "pseudo-plain-depth-x4-g24-k256"
    assert s["best_gain"]["cell"] == "pseudo-plain-rgbd-x4-g24-k256"
    assert s["best_gain"]["val_diff_mean"] == pytest.approx(0.15)


def test_a_network_that_collapses_on_validation_is_trained_again_from_another_start(tmp_path, monkeypatch):
    from grasplab.experiments import semisup_study as ss
    from grasplab.experiments.semisup_cells import Setting

    class _Progress:
        def add_task(self, *a, **k):
            return 0

        def remove_task(self, *a):
            pass

    class _Net:
        def cpu(self):
            return self

        def save(self, path, metadata):
            saved.append(metadata["restarts"])
            return path

    starts, saved, vals = [], [], iter([0.0, 0.02, 0.61])          # two collapses, then a network that works
    monkeypatch.setattr(ss, "train_cell", lambda cell, cfg, seed, *a: starts.append(seed) or _Net())
    monkeypatch.setattr(ss, "_evaluate", lambda path, scenes, out_dir, figures: (
        {"images": 10, "correct": 5, "top1": next(vals)} if out_dir is None else {"images": 20, "correct": 9, "top1": 0.45}))
    monkeypatch.setattr(ss, "preprocess_for", lambda *a: type("P", (), {"to_metadata": lambda self: {}})())
    cfg = StudyConfig(seeds=1)
    data = {"plain": ss.StudyData(pool=[], val=[], test=[], extra=[])}
    runner = ss._StudyRunner(data, cfg, tmp_path, [], fabric=None, progress=_Progress())
    monkeypatch.setattr(runner, "labelled", lambda cell, seed: ([object()] * 6, None))
    cell = Setting("plain", "depth", 1, 24, 256, "ggcnn")
    row = runner.run_cell(cell, seed=3)
    assert starts == [3, 1003, 2003] and saved == [0, 1, 2]           # the same labelled subset, new starts
    assert row["restarts"] == 2 and row["val_top1"] == 0.61 and row["test_top1"] == 0.45
    vals = iter([0.0, 0.0, 0.0])                                     # at most RESTARTS more: the last one is kept
    starts.clear()
    assert runner.run_cell(cell, seed=0)["restarts"] == ss.RESTARTS and len(starts) == ss.RESTARTS + 1


def test_report_sums_the_cells_own_time_and_draws_the_cross_modal_pool_curve(tmp_path, monkeypatch):
    from grasplab.experiments.semisup_study_report import write_study_report
    cfg = StudyConfig(axes=("pool",), pools=(1, 4), pool_methods=("pseudo",), cross_modal_inputs=("rgb",))

    def rows(inputs, method, pool, test, cell_s=None):
        key = f"{method}-plain-{inputs}-x{pool}-g24-k256"
        return [{"key": key, "style": "plain", "inputs": inputs, "pool": pool, "grid": 24, "codes": 256,
                 "method": method, "seed": s, "test_top1": test, "test_correct": int(test * 100), "test_images": 100,
                 "val_top1": test, "train_s": 1.0, "labelled_images": 10, "pool_images": 50,
                 **({} if cell_s is None else {"cell_s": cell_s})} for s in range(2)]
    all_rows = (rows("rgbd", "ggcnn", 1, .5, 60.0) + rows("rgbd", "pseudo", 1, .55, 90.0) + rows("rgbd", "pseudo", 4, .6)
                + rows("rgb", "ggcnn", 1, .4, 30.0) + rows("rgb", "pseudo-depth", 1, .6) + rows("rgb", "pseudo-depth", 4, .7))
    import grasplab.viz.figures as figures
    drawn = {}
    real_finish = figures.finish_figure

    def finish(fig, path, title):
        drawn[path.name] = sorted(t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts())
        return real_finish(fig, path, title)
    monkeypatch.setattr(figures, "finish_figure", finish)
    rep = write_study_report({"rows": all_rows, "wall_s": 1.0, "data_s": 42.0, "images": {}, "command": "c"}, cfg,
                             tmp_path)
    assert rep["summary"]["axes"]["pool"][-1] == "pseudo-depth-plain-rgb-x4-g24-k256"
    md = (tmp_path / "study.md").read_text()
    assert "training and evaluation 1 s in its last run (the data made before it not counted), data 42 s." in md
    assert "6.0 min over 6 of 12 rows" in md                       # (60 + 90 + 30) × 2 seeds = 360 s
    assert (tmp_path / "figures" / "study-pool.png").stat().st_size > 0
    assert drawn["study-pool.png"] == ["ggcnn (rgb), labels only", "ggcnn (rgbd), labels only", "pseudo (rgbd)",
                                       "pseudo-depth (rgb)"]              # each input's reference and curve


def test_teacher_labels_are_computed_once_per_seed_and_teacher_and_cleaned_up(tmp_path, monkeypatch):
    """The depth teacher labels the pool axis' cross-modal cells and, after other teachers, the
    input axis' cells again: its labels wait on disk instead of being recomputed, are the same
    numbers when read back, and are deleted after their last use."""
    import torch
    from grasplab.experiments import semisup_methods
    from grasplab.experiments import semisup_study as ss
    from grasplab.experiments.semisup_cells import schedule, teacher_of
    from grasplab.models import base

    cfg = StudyConfig(seeds=2, pools=(1, 4), axes=("pool", "input"), **FULL_STUDY)
    plan = schedule(cfg)
    out = tmp_path / "study"
    (out / "models").mkdir(parents=True)
    for seed, c in plan:
        if c.method == "ggcnn":
            (out / "models" / f"{c.key}-seed{seed}.npz").write_bytes(f"{c.key}{seed}".encode())
    calls = []
    monkeypatch.setattr(base, "load_map_model", lambda path: type("T", (), {"name": path.name,
                                                                            "to": lambda self, d: self})())
    monkeypatch.setattr(semisup_methods, "symmetric_pseudo_labels",
                        lambda teacher, x: calls.append((teacher.name, len(x))) or x * 2 + len(calls))
    runner = ss._StudyRunner({}, cfg, out, plan, fabric=type("F", (), {"device": "cpu"})(), progress=None)
    monkeypatch.setattr(runner, "pool_of", lambda cell: torch.arange(5.0 * cell.pool)[:, None])
    seen = {}
    for i, (seed, c) in enumerate(plan):
        runner.position = i
        if c.pseudo_labelled:
            t = runner.pseudo_targets(c, seed, 5 * c.pool)
            key = (seed, teacher_of(c, cfg))
            first = seen.setdefault(key, t)
            n = min(len(t), len(first))
            assert len(t) == 5 * c.pool and torch.equal(t[:n], first[:n])     # one teacher, one set of labels
        runner.release_pseudo_labels(i)
    teachers = {(s, teacher_of(c, cfg)) for s, c in plan if c.pseudo_labelled}
    assert len(calls) == len(teachers) == 2 * 3             # depth, RGB-D and RGB teachers, per seed
    assert ("ggcnn-plain-depth-x1-g24-k256-seed0.npz", 20) in calls   # at the largest pool it labels
    assert not list((out / "cache").glob("*.npy"))
