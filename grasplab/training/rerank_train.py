"""Training a crop re-ranker for a trained map model (``grasplab train reranker``).

Samples come from ``rerank_samples`` (cached in the run folder, so a resumed run does not crop
again); the classifier trains with binary cross-entropy on randomly mirrored crops (a
parallel-jaw grasp seen from above is the same grasp mirrored along or across its axis);
Lightning keeps the checkpoint with the best validation top-1 accuracy after re-ranking and
resumes from the last epoch.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..datasets.grasp_map_dataset import GraspMapDataset, PreprocessConfig
from ..datasets.scene_sources import scene_set_identity
from ..errors import ConfigError
from ..models.pretrained import DEFAULT
from ..policies.map_decoding import MapDecodingConfig
from ..policies.reranking import RerankConfig
from ..seeding import derive_rng
from ..storage import atomic_write, atomic_write_json, check_or_write_run_config, run_metadata
from .rerank_samples import CropSamples, extract_crop_samples
from .train import DEVICE_SETTINGS, TrainResult, _resolve, check_devices, fit_resumable


@dataclass(frozen=True)
class RerankTrainConfig:
    map_model: str = DEFAULT                   # pretrained name or file whose grasps are re-ranked
    # the proposal and score settings (``RerankConfig``'s, flat for the CLI and the run's JSON)
    peaks: int = RerankConfig.peaks
    min_distance_px: int = RerankConfig.min_distance_px
    angle_offsets_deg: tuple[float, ...] = RerankConfig.angle_offsets_deg
    grid_stride_px: int = RerankConfig.grid_stride_px
    grid_min_height_m: float = RerankConfig.grid_min_height_m
    quality_floor: float = RerankConfig.quality_floor
    quality_power: float = RerankConfig.quality_power
    crop_px: int = 64
    out_px: int = 32
    epochs: int = 4
    batch_size: int = 256
    lr: float = 1e-3
    seed: int = 0
    num_workers: int = 0
    accelerator: str = "cpu"                # where to train (Lightning); not part of the result's identity
    devices: int | str = 1
    strategy: str = "auto"
    model_kwargs: dict = field(default_factory=dict)

    def __post_init__(self):
        check_devices(self.accelerator, self.devices, self.strategy)
        if self.epochs <= 0 or self.batch_size <= 0 or not self.lr > 0:
            raise ConfigError("epochs, batch size and learning rate must be positive")
        if self.out_px % 8 or self.crop_px % self.out_px:
            raise ConfigError(f"--crop {self.crop_px} must be a multiple of --crop-out {self.out_px}, itself a "
                              f"multiple of 8 (e.g. 64 and 32)")
        self.rerank                                    # validates the proposal settings

    @property
    def rerank(self) -> RerankConfig:
        return RerankConfig(self.peaks, self.min_distance_px, tuple(self.angle_offsets_deg), self.grid_stride_px,
                            self.grid_min_height_m, self.quality_floor, self.quality_power)


class _CropDataset:
    """(crop, label) with a mirror along and/or across the grasp axis drawn from (seed, epoch, i)."""

    def __init__(self, samples: CropSamples, seed: int, augment: bool):
        self.samples, self.seed, self.augment, self.epoch = samples, seed, augment, 0

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int):
        import torch
        x = self.samples.crops_m[i].astype(np.float32)
        if self.augment:
            flip_x, flip_y = derive_rng(self.seed, "crop flips", self.epoch, i).random(2) < 0.5
            x = x[:, :, ::-1] if flip_x else x
            x = x[:, ::-1] if flip_y else x
        return torch.from_numpy(np.ascontiguousarray(x)), torch.tensor(float(self.samples.label[i])), i


def _samples_digest(scenes, cfg: RerankTrainConfig) -> str:
    """A fingerprint of what cached crops were made from: the scene list (its files, in order)
    and the proposal and crop settings (not the score's, which the crops do not depend on)."""
    import hashlib
    import json
    names = "\n".join(str(getattr(sc, "stem", i)) for i, sc in enumerate(scenes))
    proposals = {k: v for k, v in cfg.rerank.to_metadata().items() if not k.startswith("quality_")}
    settings = json.dumps({**proposals, "crop_px": cfg.crop_px, "out_px": cfg.out_px,
                           "map_model": cfg.map_model}, sort_keys=True)
    return hashlib.sha1((names + "\n" + settings).encode()).hexdigest()


def _samples(path: Path, ds: GraspMapDataset, map_net, cfg: RerankTrainConfig, decoding, what: str) -> CropSamples:
    """Crop samples for ``ds``, from ``path`` when an earlier run of this configuration made them
    from the same scenes and settings (others in the same run folder are refused, not mixed)."""
    digest = _samples_digest(ds.scenes, cfg)
    if path.is_file():
        with np.load(path, allow_pickle=False) as z:
            if "scenes_sha1" not in z.files or str(z["scenes_sha1"]) != digest:
                raise ConfigError(f"{path} holds crops of other {what} scenes or proposal settings than this "
                                  f"run's (another --data, --val-data or grid?); choose another --out, or delete the folder to start again")
            return CropSamples.from_arrays(z)
    from rich.progress import Progress
    with Progress() as progress:
        task = progress.add_task(f"cropping {what} grasps", total=len(ds))
        s = extract_crop_samples(ds, map_net, cfg.rerank, decoding, cfg.crop_px, cfg.out_px,
                                 progress=progress, task=task)
    atomic_write(path, lambda p: np.savez(p, scenes_sha1=np.array(digest), **s.to_arrays()))
    return s


def train_reranker(train_scenes, val_scenes, cfg: RerankTrainConfig, out_dir: str | Path,
                   show_progress: bool = True) -> TrainResult:
    """Train a ``CropQualityNet`` that re-ranks ``cfg.map_model``'s grasps; the best validation
    re-ranked top-1 is kept. Running again with the same ``out_dir`` resumes."""
    import lightning as L

    from ..models import CropQualityNet, load_map_model
    from .rerank_module import RerankModule

    val_scenes = [s for s in val_scenes if s.rectangles()]
    train_scenes = [s for s in train_scenes if s.rectangles()]
    if not train_scenes:
        raise ConfigError("no training scene has a ground-truth grasp: check --data and the split")
    if not val_scenes:
        raise ConfigError("no validation scene has a ground-truth grasp: use more data or another split")
    map_path = _resolve(cfg.map_model)
    map_model = load_map_model(map_path)
    if map_model.angle_bins:
        raise ConfigError(f"{cfg.map_model}: re-ranking takes a map model with GG-CNN's angle maps")
    pre_meta = map_model.metadata.get("preprocess", {})
    pre = PreprocessConfig.from_metadata(pre_meta)
    if pre.inputs != "depth":
        raise ConfigError(f"{cfg.map_model} takes {pre.inputs} input; the crop re-ranker looks at depth only, so "
                          f"its map model must take depth")
    if cfg.grid_stride_px and pre.depth_reference != "table":
        raise ConfigError(f"{cfg.map_model} takes depth relative to the {pre.depth_reference}; the object grid "
                          f"needs it relative to the table (--depth-reference table), or pass --grid-stride 0")
    map_net = map_model.for_inference()
    decoding = MapDecodingConfig()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    check_or_write_run_config(out, "rerank_config.json", cfg, "re-ranker run",
                              may_change=("epochs", *DEVICE_SETTINGS, "quality_floor", "quality_power"),
                              data=scene_set_identity(train_scenes, val_scenes))
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    train_s = _samples(out / "samples_train.npz", GraspMapDataset(train_scenes, pre), map_net, cfg, decoding,
                       "training")
    val_s = _samples(out / "samples_val.npz", GraspMapDataset(val_scenes, pre), map_net, cfg, decoding, "validation")
    model = CropQualityNet(crop_px=cfg.crop_px, out_px=cfg.out_px, **cfg.model_kwargs)
    module = RerankModule(model, val_s, len(val_scenes), cfg.lr, cfg.rerank)
    trainer, state, best = fit_resumable(module, _CropDataset(train_s, cfg.seed, augment=True),
                                         _CropDataset(val_s, cfg.seed, augment=False), out, epochs=cfg.epochs,
                                         seed=cfg.seed, batch_size=cfg.batch_size, num_workers=cfg.num_workers,
                                         show_progress=show_progress, val_batch_size=1024, log_every_n_steps=50,
                                         accelerator=cfg.accelerator, devices=cfg.devices, strategy=cfg.strategy)
    module.load_state_dict(state)
    meta = run_metadata(cfg)
    meta.update({"best_val_accuracy": best, "epochs_run": trainer.current_epoch,
                 "train_scenes": len(train_scenes), "val_scenes": len(val_scenes),
                 "train_samples": len(train_s), "train_positive_fraction": float(train_s.label.mean()),
                 "parameters": model.num_parameters, "rerank": cfg.rerank.to_metadata(),
                 "map_model": {"path": str(map_path), "name": map_model.metadata.get("name", map_path.stem),
                               "architecture": map_model.architecture},
                 "map_preprocess": pre_meta})
    model_path = out / "model.npz"
    if trainer.is_global_zero:
        module.model.save(model_path, metadata=meta)
        atomic_write_json(out / "run.json", meta)
    return TrainResult(out, model_path, best, trainer.current_epoch, meta, trainer.is_global_zero)
