import csv
import glob
import json
from dataclasses import replace

import numpy as np
import pytest

pytest.importorskip("lightning", reason="lightning is not installed")

from grasplab.errors import ConfigError  # noqa: E402
from grasplab.geometry import Grasp2D, GraspRectangle  # noqa: E402
from grasplab.models import load_model  # noqa: E402
from grasplab.training import TrainConfig, train_grasp_map_model  # noqa: E402
from grasplab.training.checkpoints import read_checkpoint  # noqa: E402


class BlockScene:
    """A 96×96 table with one raised block; the grasp is across the block's short side."""

    def __init__(self, cx, cy, angle):
        self.g = Grasp2D((cx, cy), angle, 24.0, 10.0)
        y, x = np.indices((96, 96))
        u = (x - cx) * np.cos(angle) - (y - cy) * np.sin(angle)
        v = (x - cx) * np.sin(angle) + (y - cy) * np.cos(angle)
        self.d = np.where((np.abs(u) < 8) & (np.abs(v) < 16), 0.62, 0.7)

    def depth_m(self):
        return self.d

    def rgb(self):
        return np.zeros((96, 96, 3), np.uint8)

    def mask(self):
        return self.d < 0.65

    def rectangles(self):
        return [GraspRectangle.from_grasp2d(self.g)]


def scenes(n=8, seed=0):
    rng = np.random.default_rng(seed)
    return [BlockScene(*rng.uniform(30, 66, 2), rng.uniform(-1.5, 1.5)) for _ in range(n)]


def metrics(out, column):
    path = glob.glob(str(out / "logs" / "version_*" / "metrics.csv"))[0]
    return [float(r[column]) for r in csv.DictReader(open(path)) if r[column]]


def test_ggcnn_learns_to_grasp_blocks(tmp_path):
    """From no grasp at all to correct rectangles on the training scenes (an overfitting check)."""
    data = scenes()
    cfg = TrainConfig(epochs=40, output_px=96, crop="resize", batch_size=4, lr=3e-3, augment=False)
    res = train_grasp_map_model(data, data, cfg, tmp_path / "run", show_progress=False)
    loss = metrics(tmp_path / "run", "train_loss")
    acc = metrics(tmp_path / "run", "val_accuracy")
    assert acc[0] == 0.0 and res.best_val_accuracy >= 0.25
    assert loss[-1] < 0.5 * loss[0]
    model = load_model(res.model_path)
    assert model.metadata["best_val_accuracy"] == pytest.approx(res.best_val_accuracy)
    assert model.metadata["preprocess"]["output_px"] == 96
    # evaluating the exported model as a policy on the validation scenes (without their masks, as
    # training validates) reproduces the training-time figure
    from grasplab.evaluation import evaluate_policy
    from grasplab.policies import load_policy
    rep = evaluate_policy(load_policy(res.model_path), data, k=3, out_dir=tmp_path / "eval", figures=2, use_mask=False)
    assert rep.top1.value == pytest.approx(res.best_val_accuracy)
    assert rep.topk.value >= rep.top1.value and rep.top1.total == 8
    assert (tmp_path / "eval" / "evaluation.json").is_file() and (tmp_path / "eval" / "worst.png").is_file()
    assert (tmp_path / "eval" / "worst-maps.png").is_file()


def test_training_resumes_and_refuses_other_settings(tmp_path):
    data = scenes(4)
    with pytest.raises(ConfigError, match="multiple of 12.*try 60"):
        TrainConfig(epochs=2, output_px=64)
    cfg = TrainConfig(epochs=2, output_px=72, crop="resize", batch_size=2, augment=True)
    out = tmp_path / "run"
    first = train_grasp_map_model(data, data, cfg, out, show_progress=False)
    first.model_path.unlink()                           # as if killed before the export
    again = train_grasp_map_model(data, data, cfg, out, show_progress=False)
    assert again.epochs_run == 2 and again.model_path.is_file()
    assert len(metrics(out, "train_loss")) == 2         # the second call trained no further epoch
    with pytest.raises(ConfigError, match="other settings.*lr"):
        train_grasp_map_model(data, data, TrainConfig(epochs=2, output_px=72, crop="resize", lr=0.1), out,
                              show_progress=False)
    with pytest.raises(ConfigError, match="ground-truth"):
        train_grasp_map_model(data, [], cfg, tmp_path / "other", show_progress=False)
    # other data, another fold (validation scenes swapped into training) or fewer scenes: refused
    with pytest.raises(ConfigError, match="on other data.*train_scenes 4.*train_scenes 3.*--fold"):
        train_grasp_map_model(data[:3], data, cfg, out, show_progress=False)
    with pytest.raises(ConfigError, match="on other data"):
        train_grasp_map_model(data, data[:2], cfg, out, show_progress=False)
    # a folder written before a setting existed resumes while the setting keeps its default
    written = json.loads((out / "train_config.json").read_text())
    del written["config"]["quality_pos_weight"]
    (out / "train_config.json").write_text(json.dumps(written))
    assert train_grasp_map_model(data, data, cfg, out, show_progress=False).epochs_run == 2
    with pytest.raises(ConfigError, match="other settings.*quality_pos_weight"):
        train_grasp_map_model(data, data, replace(cfg, quality_pos_weight=10.0), out, show_progress=False)
    with pytest.raises(ConfigError, match="quality-pos-weight must be at least 1"):
        TrainConfig(quality_pos_weight=0.5)


class _Touch:
    """Unpickling this creates a file: what a crafted checkpoint could do."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_crafted_checkpoint_in_a_run_folder_is_refused_not_run(tmp_path):
    import torch

    from grasplab.errors import CheckpointError
    out, marker = tmp_path / "downloaded-run", tmp_path / "pwned"
    (out / "checkpoints").mkdir(parents=True)
    torch.save({"epoch": 0, "state_dict": {}, "payload": _Touch(marker)}, out / "checkpoints" / "last.ckpt")
    cfg = TrainConfig(epochs=2, output_px=72, crop="resize", batch_size=2, augment=False)
    with pytest.raises(CheckpointError, match="last.ckpt: refused.*could run code.*new --out"):
        train_grasp_map_model(scenes(4), scenes(4), cfg, out, show_progress=False)
    assert not marker.exists()
    (out / "checkpoints" / "last.ckpt").write_bytes(b"")                 # empty, or cut short
    with pytest.raises(CheckpointError, match="last.ckpt: not a readable training checkpoint"):
        train_grasp_map_model(scenes(4), scenes(4), cfg, out, show_progress=False)


def test_a_moved_or_copied_run_resumes_from_its_own_checkpoints(tmp_path):
    """Checkpoints name files relative to the run: a copy resumes with its own best checkpoint and
    score even when the original folder's files are broken or gone."""
    import shutil

    data = scenes(4)
    cfg = TrainConfig(epochs=1, output_px=72, crop="resize", batch_size=2, augment=False)
    first = train_grasp_map_model(data, data, cfg, tmp_path / "a", show_progress=False)
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    (tmp_path / "a" / "checkpoints" / "best.ckpt").write_bytes(b"not a checkpoint")
    state = read_checkpoint(tmp_path / "b" / "checkpoints" / "last.ckpt")
    saved = next(v for k, v in state["callbacks"].items() if k.startswith("ModelCheckpoint"))
    assert saved["best_model_path"] == "best.ckpt" and saved["dirpath"] == "."
    again = train_grasp_map_model(data, data, replace(cfg, epochs=2), tmp_path / "b", show_progress=False)
    assert again.epochs_run == 2 and again.best_val_accuracy >= first.best_val_accuracy
    shutil.rmtree(tmp_path / "a")
    assert train_grasp_map_model(data, data, replace(cfg, epochs=2), tmp_path / "b",
                                 show_progress=False).epochs_run == 2


def test_loader_workers_and_resuming_do_not_change_the_model(tmp_path):
    """Augmentations and the training order are seeded per (seed, epoch): 2 loader processes,
    and a run killed after epoch 1 and resumed, give the weights of one uninterrupted in-process
    run — the last epoch's and the exported best one's."""
    import torch
    data = scenes(8)
    cfg = TrainConfig(epochs=3, output_px=72, crop="resize", batch_size=2, augment=True)
    ref = train_grasp_map_model(data, data, cfg, tmp_path / "ref", show_progress=False)
    workers = replace(cfg, epochs=1, num_workers=2)
    train_grasp_map_model(data, data, workers, tmp_path / "w", show_progress=False)

    def last(run):
        ckpt = read_checkpoint(tmp_path / run / "checkpoints" / "last.ckpt")
        return ckpt["epoch"], ckpt["state_dict"]
    epoch, after_one = last("w")
    assert epoch == 0
    resumed = train_grasp_map_model(data, data, replace(workers, epochs=3), tmp_path / "w", show_progress=False)
    (e_ref, s_ref), (e_res, s_res) = last("ref"), last("w")
    assert e_ref == e_res == 2                  # last.ckpt follows every epoch, not only new bests
    assert any(not torch.equal(after_one[k], s_res[k]) for k in s_res)      # the resumed run trained on
    for k in s_ref:
        np.testing.assert_allclose(s_ref[k].numpy(), s_res[k].numpy(), rtol=1e-5, atol=1e-6, err_msg=k)
    a, b = load_model(ref.model_path), load_model(resumed.model_path)
    for (name, p), q in zip(a.state_dict().items(), b.state_dict().values()):
        np.testing.assert_allclose(p.numpy(), q.numpy(), rtol=1e-5, atol=1e-6, err_msg=name)


@pytest.mark.slow
def test_cli_trains_on_real_jacquard_object_wise(tmp_path, shared_data, capsys):
    from grasplab.cli import main
    from grasplab.datasets.scene_sources import load_scenes, split_scenes
    scenes = load_scenes(shared_data / "jacquard", "jacquard", "stereo")
    train, val = split_scenes(scenes, "object", folds=5, fold=1)
    assert not {s.object_id for s in train} & {s.object_id for s in val} and len(val) == 5
    assert scenes[0].depth_kind == "stereo"
    with pytest.raises(SystemExit) as exc:
        main(["train", "ggcnn", "--data", str(shared_data / "jacquard"), "--epochs", "1", "--size", "96",
              "--crop", "mask", "--out", str(tmp_path / "run"), "--depth", "stereo"])
    assert exc.value.code in (0, None)
    assert load_model(tmp_path / "run" / "model.npz").metadata["val_scenes"] == 5
    # fine-tune that model on every scene, validating on another folder (here: the same samples)
    with pytest.raises(SystemExit) as exc:
        main(["train", "ggcnn", "--data", str(shared_data / "jacquard"), "--epochs", "1", "--size", "96",
              "--crop", "mask", "--depth", "stereo", "--init", str(tmp_path / "run" / "model.npz"),
              "--val-data", str(shared_data / "jacquard"), "--out", str(tmp_path / "tuned")])
    assert exc.value.code in (0, None)
    tuned = load_model(tmp_path / "tuned" / "model.npz").metadata
    assert tuned["train_scenes"] == tuned["val_scenes"] == 25
    assert tuned["init_path"] == str(tmp_path / "run" / "model.npz") and "best_val_accuracy" in tuned["init_metadata"]
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:          # a fold of --data means nothing with --val-data
        main(["train", "ggcnn", "--data", str(shared_data / "jacquard"), "--val-data", str(shared_data / "jacquard"),
              "--fold", "2", "--out", str(tmp_path / "both")])
    assert exc.value.code != 0 and "with --val-data every scene" in " ".join(capsys.readouterr().err.split())
    assert not (tmp_path / "both").exists()
    with pytest.raises(SystemExit) as exc:
        main(["train", "ggcnn", "--data", str(shared_data / "jacquard"), "--size", "100", "--out", str(tmp_path / "x")])
    assert exc.value.code == 2 and "multiple of 12" in capsys.readouterr().err


def test_cornell_object_wise_split_needs_z_txt(tmp_path):
    from grasplab.datasets.cornell import list_cornell_scenes
    from grasplab.datasets.scene_sources import scene_groups, split_scenes
    from grasplab.errors import GrasplabError
    for i in range(6):
        (tmp_path / f"pcd010{i}cpos.txt").write_text("1 2\n3 4\n5 6\n7 8\n")
        (tmp_path / f"pcd010{i}d.tiff").write_bytes(b"")
    scenes = list_cornell_scenes(tmp_path)
    assert len(set(scene_groups(scenes, "image"))) == 6
    with pytest.raises(ConfigError, match="z.txt"):
        scene_groups(scenes, "object")
    # three objects, two images each (image 100 and 101 show object 7, ...)
    (tmp_path / "z.txt").write_text("".join(f"{100 + i} {7 + i // 2} mug\n" for i in range(6)))
    scenes = list_cornell_scenes(tmp_path)
    assert [s.object_id for s in scenes] == ["7", "7", "8", "8", "9", "9"]
    train, test = split_scenes(scenes, "object", folds=3, fold=0)
    assert len(test) == 2 and not {s.object_id for s in train} & {s.object_id for s in test}
    (tmp_path / "z.txt").write_text("100 7 mug\n101 seven mug\n")
    with pytest.raises(GrasplabError, match="z.txt, line 2"):
        list_cornell_scenes(tmp_path)
    (tmp_path / "z.txt").write_text("100 7 mug\n")
    with pytest.raises(GrasplabError, match="no line for image 101"):
        list_cornell_scenes(tmp_path)


def test_train_and_evaluate_cli_on_a_cornell_folder(shared_data, tmp_path, capsys):
    """`train ggcnn --format cornell --inputs rgbd` then `evaluate` on real Cornell images
    (rectangle files are fixtures: the samples came without them)."""
    import json
    import os

    from grasplab.cli import main
    root = tmp_path / "cornell" / "01"
    root.mkdir(parents=True)
    for f in (shared_data / "cornell" / "01").iterdir():
        os.symlink(f, root / f.name)
    for stem in ("pcd0100", "pcd0101"):
        (root / f"{stem}cpos.txt").write_text("253 320.7\n309 324.6\n307 350.6\n251 346.7\n"
                                              "280 300\n282 360\n300 359.6\n298 299.6\n")
    run, ev = tmp_path / "run", tmp_path / "eval"
    with pytest.raises(SystemExit) as exc:
        main(["train", "ggcnn", "--data", str(tmp_path / "cornell"), "--format", "cornell", "--inputs", "rgbd",
              "--size", "96", "--split", "image", "--folds", "2", "--epochs", "1", "--out", str(run)])
    assert exc.value.code in (0, None)
    model = load_model(run / "model.npz")
    assert model.config["input_channels"] == 4 and model.metadata["preprocess"]["inputs"] == "rgbd"
    with pytest.raises(SystemExit) as exc:
        main(["evaluate", "--model", str(run / "model.npz"), "--data", str(tmp_path / "cornell"),
              "--format", "cornell", "--out", str(ev), "--json"])
    assert exc.value.code in (0, None)
    rep = json.loads((ev / "evaluation.json").read_text())
    assert rep["top1"]["total"] == 2 and 0.0 <= rep["top1"]["accuracy"] <= 1.0


def test_distillation_targets_are_the_teachers_maps():
    """With the student a copy of the teacher the distillation loss is zero, whatever the labels."""
    import copy

    import torch

    from grasplab.models.ggcnn import GGCNN
    from grasplab.training.grasp_map_module import GraspMapModule
    torch.manual_seed(0)
    teacher = GGCNN()
    x, y = torch.rand(2, 1, 48, 48), torch.rand(2, 4, 48, 48)
    batch = (x, y, torch.arange(2))
    distil = GraspMapModule(copy.deepcopy(teacher), teacher=teacher, quality_pos_weight=3.0)
    assert float(distil.training_step(batch, 0).detach()) == pytest.approx(0.0, abs=1e-12)
    plain = GraspMapModule(copy.deepcopy(teacher), quality_pos_weight=3.0)
    assert float(plain.training_step(batch, 0).detach()) > 0.1


def test_cheap_head_student_is_distilled_from_a_teacher(tmp_path):
    data = scenes(4)
    base = TrainConfig(epochs=2, output_px=72, crop="resize", batch_size=2, augment=False)
    teacher = train_grasp_map_model(data, data, base, tmp_path / "teacher", show_progress=False).model_path
    cfg = replace(base, epochs=6, lr=3e-3, teacher=str(teacher), model_kwargs={"head_filters": 4})
    res = train_grasp_map_model(data, data, cfg, tmp_path / "student", show_progress=False)
    student, t = load_model(res.model_path), load_model(teacher)
    frozen = student.metadata["frozen_from_teacher"]
    assert frozen == ["encoder.0.weight", "encoder.0.bias", "encoder.2.weight", "encoder.2.bias", "encoder.4.weight",
                      "encoder.4.bias", "decoder.0.weight", "decoder.0.bias", "decoder.2.weight", "decoder.2.bias"]
    s_state, t_state = student.state_dict(), t.state_dict()
    for name in frozen:                                   # copied and never updated
        assert np.array_equal(s_state[name].numpy(), t_state[name].numpy()), name
    assert student.heads.in_channels == 4 and student.config["head_filters"] == 4
    assert student.metadata["teacher_path"] == str(teacher)
    loss = metrics(tmp_path / "student", "train_loss")
    assert loss[-1] < loss[0]                             # the new head learns the teacher's maps
    with pytest.raises(ConfigError, match="depth_reference 'mean' vs 'table'"):
        train_grasp_map_model(data, data, replace(cfg, depth_reference="table"), tmp_path / "other",
                              show_progress=False)
    with pytest.raises(ConfigError, match="nothing would be trained"):
        train_grasp_map_model(data, data, replace(cfg, model_kwargs={}), tmp_path / "same", show_progress=False)
    assert not (tmp_path / "other").exists() and not (tmp_path / "same").exists()   # refused before writing
    with pytest.raises(ConfigError, match="ggcnn2 has no setting head_filters"):
        replace(cfg, architecture="ggcnn2")
    with pytest.raises(ConfigError, match="--width-loss-weight must be positive"):
        replace(cfg, width_loss_weight=0.0)


def test_fine_tuning_starts_from_the_given_weights(tmp_path):
    """--init loads a trained model's weights: with a zero learning rate they come out unchanged
    (and differ from a fresh start); mismatched models are refused before anything is written."""
    data = scenes(4)
    base = TrainConfig(epochs=2, output_px=72, crop="resize", batch_size=2, augment=False)
    start = train_grasp_map_model(data, data, base, tmp_path / "start", show_progress=False).model_path
    cfg = replace(base, epochs=1, lr=0.0, init=str(start))
    res = train_grasp_map_model(data, data, cfg, tmp_path / "tuned", show_progress=False)
    tuned, s0 = load_model(res.model_path), load_model(start)
    for (name, p), q in zip(tuned.state_dict().items(), s0.state_dict().values()):
        assert np.array_equal(p.numpy(), q.numpy()), name
    fresh = train_grasp_map_model(data, data, replace(cfg, init=None), tmp_path / "fresh", show_progress=False)
    assert not np.array_equal(load_model(fresh.model_path).state_dict()["heads.weight"].numpy(),
                              s0.state_dict()["heads.weight"].numpy())
    assert tuned.metadata["init_path"] == str(start)
    assert tuned.metadata["init_metadata"]["best_val_accuracy"] == pytest.approx(s0.metadata["best_val_accuracy"])
    refusals = {"is a ggcnn, this run trains a ggcnn2": replace(cfg, architecture="ggcnn2"),
                "depth_reference 'mean' vs 'table'": replace(cfg, depth_reference="table"),
                "network settings": replace(cfg, model_kwargs={"head_filters": 4})}
    for i, (message, bad) in enumerate(refusals.items()):
        with pytest.raises(ConfigError, match=message):
            train_grasp_map_model(data, data, bad, tmp_path / f"bad{i}", show_progress=False)
        assert not (tmp_path / f"bad{i}").exists()
    with pytest.raises(ConfigError, match="not both"):
        replace(cfg, teacher=str(start))
