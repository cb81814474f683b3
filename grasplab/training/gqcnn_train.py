"""Training a GQ-CNN on a GQ-CNN tensor dataset (``grasplab train gqcnn``).

Dex-Net 2.0's recipe (DESIGN B5; gqcnn's ``train_dex-net_2.0.yaml``): batch 64, SGD with
momentum 0.9, learning rate 0.01 falling ×0.95 every 0.66 epoch, L2 5e-4, labels robust ε >
threshold, crops and gripper depth standardised by the training set's statistics, mirror /
Gamma / Gaussian-process augmentation. Lightning keeps the checkpoint with the best validation
accuracy and resumes from the last epoch; the model file (no pickle) carries its config and the
run's metadata, with validation metrics and a figure (PR and ROC curves, the most confident
mistakes) beside it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..datasets.gqcnn_arrays import GQCNNArrays, load_split, open_tensor_dataset
from ..errors import ConfigError, GrasplabError
from ..presets import published
from ..storage import atomic_write_json, check_or_write_run_config, run_metadata
from .gqcnn_data import AugmentConfig
from .train import DEVICE_SETTINGS, TrainResult, check_devices, fit_resumable

SPLITS = ("image_wise", "object_wise")


_DEXNET2 = published("train_gqcnn")          # the published schedule (grasplab/presets/dexnet2.json)

@dataclass(frozen=True)
class GQCNNTrainConfig:
    """Defaults: Dex-Net 2.0's schedule (gqcnn's train_dex-net_2.0.yaml; the dexnet2 preset)."""

    data: str = ""
    split: str = "image_wise"
    threshold: float | None = None        # robust ε for a positive label (None: the dataset's)
    epochs: int = 5
    batch_size: int = _DEXNET2["batch_size"]
    lr: float = _DEXNET2["lr"]
    momentum: float = _DEXNET2["momentum"]
    weight_decay: float = _DEXNET2["weight_decay"]
    decay_rate: float = _DEXNET2["decay_rate"]
    decay_epochs: float = _DEXNET2["decay_epochs"]
    filters: int = _DEXNET2["filters"]                     # Dex-Net 2.0: 64 per conv layer
    fc_size: int = _DEXNET2["fc_size"]                   # Dex-Net 2.0: 1024
    seed: int = 0
    num_workers: int = 0
    accelerator: str = "cpu"                # where to train (Lightning); not part of the result's identity
    devices: int | str = 1
    strategy: str = "auto"
    augment: AugmentConfig = field(default_factory=AugmentConfig)

    def __post_init__(self):
        check_devices(self.accelerator, self.devices, self.strategy)
        if self.split not in SPLITS:
            raise ConfigError(f"--split must be one of {', '.join(SPLITS)}, got {self.split!r}")
        if self.epochs <= 0 or self.batch_size <= 0 or not self.lr > 0:
            raise ConfigError("epochs, batch size and learning rate must be positive")
        if not 0 < self.filters <= 1024 or not 0 < self.fc_size <= 16384:
            raise ConfigError(f"--filters {self.filters} / --fc-size {self.fc_size}: give 1–1024 filters and 1–16384 "
                              f"units (Dex-Net 2.0: 64 and 1024)")
        if self.threshold is not None and not (np.isfinite(self.threshold) and self.threshold >= 0):
            raise ConfigError(f"--threshold {self.threshold}: robust ε is ≥ 0, so the threshold must be ≥ 0 "
                              f"(Dex-Net 2.0: 0.002)")
        if self.num_workers < 0:
            raise ConfigError(f"--workers {self.num_workers}: data-loading processes must be ≥ 0")
        if not 0 < self.decay_rate <= 1 or not self.decay_epochs > 0:
            raise ConfigError("the decay rate must lie in (0, 1] and the decay period be positive")


def _stats(train: GQCNNArrays) -> dict:
    """The standardisation constants: mean and std of all training crop pixels and depths."""
    sample = train.crops_m[:: max(1, len(train) // 20000)]
    return {"im_mean": float(sample.mean()), "im_std": float(sample.std()) or 1.0,
            "depth_mean": float(train.depth_m.mean()), "depth_std": float(train.depth_m.std()) or 1.0}


def _dataset_facts(data: str, threshold: float) -> dict:
    """What a policy needs to crop and filter like the training data: crop sizes, gripper, camera
    (from a grasplab dataset's config; gqcnn's own datasets do not record them)."""
    ds = open_tensor_dataset(data)
    synth = ds.config.get("config", {})
    facts = {k: synth[k] for k in ("crop_px", "crop_out_px", "gripper", "camera") if k in synth}
    if {"hand_poses", "camera_intrs", "camera_poses"} <= set(ds.field_names):
        from ..imaging.camera_match import TrainingCamera
        n = len(ds.field("hand_poses"))
        idx = np.arange(0, n, max(1, n // 50_000))
        facts["training_camera"] = TrainingCamera.from_training_data(
            int(synth.get("crop_px", 96)), ds.field("hand_poses")[idx, 2], ds.field("camera_intrs")[idx, 0],
            ds.field("camera_poses")[idx]).to_dict()
    return {"path": str(data), "positive_threshold": threshold, **facts}


def train_gqcnn(cfg: GQCNNTrainConfig, out_dir: str | Path, show_progress: bool = True) -> TrainResult:
    """Train (or resume) a GQ-CNN on ``cfg.data``'s ``cfg.split``; keep the best validation accuracy."""
    import lightning as L

    from ..evaluation.classification import classification_report
    from ..evaluation.gqcnn_figures import save_gqcnn_report
    from ..models.gqcnn import GQCNN
    from .gqcnn_module import GQCNNModule

    train, val, thr = load_split(cfg.data, cfg.split, cfg.threshold)
    for name, part in (("training", train), ("validation", val)):
        pos = int(part.label.sum())
        if pos == 0 or pos == len(part):
            raise GrasplabError(f"{cfg.data}: the {name} part has {pos} positives among {len(part)} datapoints at "
                                f"threshold {thr:g}; choose another --threshold or more data")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    check_or_write_run_config(out, "gqcnn_config.json", cfg, "GQ-CNN training run", may_change=("epochs", *DEVICE_SETTINGS))
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    model = GQCNN(im_px=train.crops_m.shape[-1], filters=cfg.filters, fc_size=cfg.fc_size, **_stats(train))
    module = GQCNNModule(model, cfg.augment, cfg.seed, cfg.lr, cfg.momentum, cfg.weight_decay, cfg.decay_rate,
                         cfg.decay_epochs, len(train), cfg.batch_size)
    trainer, state, best = fit_resumable(module, train, val, out, epochs=cfg.epochs, seed=cfg.seed,
                                         batch_size=cfg.batch_size, num_workers=cfg.num_workers,
                                         show_progress=show_progress, val_batch_size=1024, log_every_n_steps=100,
                                         accelerator=cfg.accelerator, devices=cfg.devices, strategy=cfg.strategy)
    module.load_state_dict(state)
    prob = model.predict_proba_batched(val.crops_m, val.depth_m)
    report = classification_report(prob, val.label)
    meta = run_metadata(cfg)
    meta.update({"dataset": _dataset_facts(cfg.data, thr), "best_val_accuracy": best,
                 "epochs_run": trainer.current_epoch, "threshold": thr,
                 "train_datapoints": len(train), "val_datapoints": len(val),
                 "train_positive_fraction": float(train.label.mean()),
                 "val_positive_fraction": float(val.label.mean()),
                 "val": report.to_dict(), "parameters": model.num_parameters})
    model_path = out / "model.npz"
    if trainer.is_global_zero:
        model.save(model_path, metadata=meta)
        atomic_write_json(out / "run.json", meta)
        save_gqcnn_report(prob, val, out / "figures" / "gqcnn-val.png",
                          title=f"GQ-CNN, {cfg.split} validation: accuracy {report.accuracy:.1%}, "
                                f"AP {report.average_precision:.3f}, ROC AUC {report.roc_auc:.3f}")
    return TrainResult(out, model_path, best, trainer.current_epoch, meta, trainer.is_global_zero)
