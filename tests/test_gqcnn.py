"""GQ-CNN (Dex-Net 2.0): architecture, LRN parameters, metrics with known answers, augmentation,
training on a tensor dataset with a learnable rule, save/load, resume and the CLI."""
import json

import numpy as np
import pytest
import torch

from grasplab.datasets.gqcnn_tensors import write_tensor_dataset
from grasplab.errors import GrasplabError
from grasplab.evaluation.classification import classification_report, precision_recall_curve, roc_curve
from grasplab.models import GQCNN, load_model
from grasplab.models.gqcnn import LRN_ALPHA, LRN_BETA, LRN_BIAS, LRN_RADIUS, _lrn
from grasplab.datasets.gqcnn_arrays import load_split
from grasplab.training.gqcnn_data import AugmentConfig, augment_batch
from grasplab.training.gqcnn_train import GQCNNTrainConfig, train_gqcnn


def test_published_architecture_size():
    f, fc = 64, 1024
    expected = ((7 * 7 * 1 * f + f) + (5 * 5 * f * f + f) + 2 * (3 * 3 * f * f + f)   # conv1_1, conv1_2, conv2_x
                + (8 * 8 * f * fc + fc)                                             # fc3 on the 8×8×64 map
                + (1 * 16 + 16)                                                     # pc1
                + (fc * fc + fc + 16 * fc)                                          # fc4 (image + pose)
                + (fc + 1))                                                         # the success logit
    assert GQCNN().num_parameters == expected == 5_441_889


def test_lrn_matches_tensorflows_formula():
    x = torch.randn(2, 7, 3, 3) * 30
    a = x.numpy().astype(np.float64)
    sq = np.pad(a ** 2, ((0, 0), (LRN_RADIUS, LRN_RADIUS), (0, 0), (0, 0)))
    window = sum(sq[:, k:k + a.shape[1]] for k in range(2 * LRN_RADIUS + 1))
    expected = a / (LRN_BIAS + LRN_ALPHA * window) ** LRN_BETA
    np.testing.assert_allclose(_lrn()(x).numpy(), expected, rtol=1e-5)


def test_input_checks():
    net = GQCNN(filters=4, fc_size=8)
    with pytest.raises(ValueError, match="32, 32"):
        net(torch.zeros(2, 1, 16, 16), torch.zeros(2))
    with pytest.raises(ValueError, match="one gripper depth per crop"):
        net(torch.zeros(2, 1, 32, 32), torch.zeros(3))
    with pytest.raises(ValueError, match="multiple of 4"):
        GQCNN(im_px=30)


def test_metrics_known_answers():
    s, y = [0.9, 0.8, 0.7, 0.6], [1, 0, 1, 0]
    rep = classification_report(s, y, threshold=0.65)
    assert rep.average_precision == pytest.approx(0.5 * 1.0 + 0.5 * (2 / 3))
    assert rep.roc_auc == pytest.approx(3 / 4)             # 3 of 4 (positive, negative) pairs ordered right
    assert rep.accuracy == pytest.approx(0.75) and rep.precision == pytest.approx(2 / 3) and rep.recall == 1.0
    tied = classification_report([0.5, 0.5], [1, 0])
    assert tied.roc_auc == pytest.approx(0.5) and tied.average_precision == pytest.approx(0.5)
    perfect = classification_report([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1])
    assert perfect.roc_auc == 1.0 and perfect.average_precision == 1.0 and perfect.accuracy == 1.0
    p, r, t = precision_recall_curve(s, y)
    np.testing.assert_allclose(p, [1, 0.5, 2 / 3, 0.5])
    np.testing.assert_allclose(r, [0.5, 0.5, 1, 1])
    fpr, tpr = roc_curve(s, y)
    np.testing.assert_allclose(fpr, [0, 0, 0.5, 0.5, 1])
    with pytest.raises(GrasplabError, match="0 or 1"):
        classification_report([0.1], [2])
    with pytest.raises(GrasplabError, match="NaN"):
        classification_report([np.nan], [1])


def test_augmentation_is_seeded_and_physical():
    x = torch.rand(256, 1, 32, 32) + 0.5
    d = torch.full((256,), 0.7)
    a1, _ = augment_batch(x, d, AugmentConfig(), seed=3, epoch=1, batch=5)
    a2, _ = augment_batch(x, d, AugmentConfig(), seed=3, epoch=1, batch=5)
    a3, _ = augment_batch(x, d, AugmentConfig(), seed=3, epoch=2, batch=5)
    assert torch.equal(a1, a2) and not torch.equal(a1, a3)
    # mirrors only: every output is one of the four mirror images of its input
    m, _ = augment_batch(x, d, AugmentConfig(gamma_shape=0, gp_rate=0), 0, 0, 0)
    views = [x, x.flip(-1), x.flip(-2), x.flip(-1).flip(-2)]
    same = torch.stack([(m == v).flatten(1).all(1) for v in views])
    assert same.any(0).all() and same[0].float().mean() < 0.5
    # Gamma(1000, 1/1000): mean 1, std 1/sqrt(1000), one factor per image
    g, _ = augment_batch(torch.ones(4000, 1, 32, 32), torch.ones(4000), AugmentConfig(symmetrize=False, gp_rate=0), 0, 0, 0)
    f = g[:, 0, 0, 0]
    assert torch.allclose(g, f[:, None, None, None].expand_as(g))
    assert abs(float(f.mean()) - 1) < 0.003 and abs(float(f.std()) - 1000 ** -0.5) < 0.003
    # Gaussian-process noise: on about half the images, smooth, a few millimetres
    n, _ = augment_batch(torch.zeros(2000, 1, 32, 32), torch.zeros(2000), AugmentConfig(symmetrize=False, gamma_shape=0), 0, 0, 0)
    on = n.flatten(1).abs().amax(1) > 0
    assert 0.45 < float(on.float().mean()) < 0.55
    noise = n[on]
    assert 0.5 * 0.005 < float(noise.std()) < 1.1 * 0.005
    step = (noise[..., 1:] - noise[..., :-1]).std()
    assert float(step) < 0.5 * float(noise.std())          # neighbours agree: correlated noise, not per-pixel


def _rule_dataset(root, n=1200, seed=0):
    """Crops of a table 0.7 m away; positives have an object (2 cm higher) spanning the grasp
    centre between the jaws, negatives have it off to a side. Gripper depth near the top."""
    rng = np.random.default_rng(seed)
    crops = np.full((n, 32, 32, 1), 0.7, np.float32)
    label = rng.random(n) < 0.3
    for i in range(n):
        r0 = 12 + rng.integers(-2, 3) if label[i] else rng.choice([1, 22])
        crops[i, r0:r0 + 8, 8:24, 0] -= 0.02
    crops += rng.normal(0, 0.001, crops.shape).astype(np.float32)
    poses = np.zeros((n, 7), np.float32)
    poses[:, 2] = 0.68 + rng.normal(0, 0.005, n)
    obj = np.arange(n) // 12
    perm = rng.permutation(n)
    fields = {"depth_ims_tf_table": crops, "hand_poses": poses,
              "robust_ferrari_canny": np.where(label, 0.004, 0.0).astype(np.float32), "obj_labels": obj.astype(np.int32)}
    splits = {"image_wise": {"train": perm[: n * 4 // 5], "val": perm[n * 4 // 5:]},
              "object_wise": {"train": np.flatnonzero(obj % 5), "val": np.flatnonzero(obj % 5 == 0)}}
    write_tensor_dataset(root, fields, splits, {"positive_threshold": 0.002,
                                                "config": {"crop_px": 96, "crop_out_px": 32, "gripper": "robotiq_2f85"}},
                         datapoints_per_file=500)
    return root


def test_load_split_and_errors(tmp_path):
    root = _rule_dataset(tmp_path / "ds", n=300)
    train, val, thr = load_split(root, "object_wise")
    assert thr == 0.002 and train.crops_m.shape[1:] == (1, 32, 32) and len(train) + len(val) == 300
    assert not set(train.obj) & set(val.obj)
    with pytest.raises(GrasplabError, match="no split 'pose_wise'"):
        load_split(root, "pose_wise")
    with pytest.raises(GrasplabError, match="not a GQ-CNN tensor dataset"):
        load_split(tmp_path, "image_wise")


def test_training_learns_a_rule_saves_and_resumes(tmp_path):
    root = _rule_dataset(tmp_path / "ds")
    cfg = GQCNNTrainConfig(data=str(root), epochs=2, batch_size=32, lr=0.01, filters=8, fc_size=32)
    res = train_gqcnn(cfg, tmp_path / "run", show_progress=False)
    meta = json.loads((res.out_dir / "run.json").read_text())
    assert meta["val"]["accuracy"] > 0.95 and meta["val"]["roc_auc"] > 0.98, meta["val"]
    assert (res.out_dir / "figures" / "gqcnn-val.png").stat().st_size > 10_000
    model = load_model(res.model_path, expect="gqcnn")
    assert model.config["im_mean"] == pytest.approx(0.7, abs=0.01) and model.metadata["threshold"] == 0.002
    assert model.metadata["dataset"]["gripper"] == "robotiq_2f85" and model.metadata["dataset"]["crop_px"] == 96
    _, val, _ = load_split(root, "image_wise")
    prob = model.predict_proba_batched(val.crops_m, val.depth_m)
    assert classification_report(prob, val.label).accuracy == pytest.approx(meta["val"]["accuracy"])
    # a third epoch resumes from the last checkpoint; other settings in the same folder are refused
    more = train_gqcnn(GQCNNTrainConfig(**{**cfg.__dict__, "epochs": 3}), tmp_path / "run", show_progress=False)
    assert more.epochs_run == 3
    with pytest.raises(GrasplabError, match="filters"):
        train_gqcnn(GQCNNTrainConfig(**{**cfg.__dict__, "filters": 4}), tmp_path / "run", show_progress=False)


def _run_cli(argv, capsys):
    from grasplab.cli import main
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out = capsys.readouterr()
    return exc.value.code or 0, " ".join((out.out + out.err).split())


def test_cli_train_gqcnn(tmp_path, capsys):
    root = _rule_dataset(tmp_path / "ds", n=400)
    code, out = _run_cli(["train", "gqcnn", "--data", str(root), "--epochs", "1", "--filters", "4", "--fc-size", "16",
                          "--split", "object_wise", "--out", str(tmp_path / "run")], capsys)
    assert code == 0 and "validation accuracy" in out and (tmp_path / "run" / "model.npz").is_file()
    test = _rule_dataset(tmp_path / "test", n=200, seed=5)                  # other crops, same rule
    code, out = _run_cli(["evaluate", "--model", str(tmp_path / "run" / "model.npz"), "--data", str(test),
                          "--format", "gqcnn", "--out", str(tmp_path / "ev")], capsys)
    rep = json.loads((tmp_path / "ev" / "evaluation.json").read_text())
    assert code == 0 and "ROC AUC" in out and rep["n"] == 200 and rep["config"]["threshold"] == 0.002
    assert (tmp_path / "ev" / "gqcnn.png").is_file()
    code, err = _run_cli(["evaluate", "--model", "ggcnn-synth-depth", "--data", str(test), "--format", "gqcnn"], capsys)
    assert code == 2 and "'gqcnn' model was asked for" in err
    code, err = _run_cli(["train", "gqcnn", "--data", str(root), "--threshold", "0.01", "--out", str(tmp_path / "r2")],
                         capsys)
    assert code == 2 and "0 positives" in err and "Traceback" not in err
