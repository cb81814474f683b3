"""Training per-pixel grasp networks: Lightning trainer, best-accuracy checkpoints, CSV logs,
resumable runs, and a pickle-free model file with its run metadata."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ..datasets.grasp_map_dataset import GraspMapDataset, PreprocessConfig
from ..datasets.scene_sources import scene_set_identity
from ..errors import ConfigError
from ..models import MODELS, GraspMapModel
from ..seeding import derive_rng
from ..storage import atomic_write_json, check_or_write_run_config, run_metadata


MAX_INPUT_PX = 1008       # the largest network input (px) training accepts: bounds memory


@dataclass(frozen=True)
class TrainConfig:
    architecture: str = "ggcnn"
    inputs: str = "depth"
    output_px: int = 300
    crop: str = "center"
    object_fraction: float = 0.5
    depth_reference: str = "mean"
    epochs: int = 30
    batch_size: int = 8
    lr: float = 1e-3
    quality_pos_weight: float = 1.0     # > 1: positive pixels weigh more in the quality loss
    width_loss_weight: float = 1.0      # scales the width term of the loss
    seed: int = 0
    augment: bool = True
    num_workers: int = 0
    model_kwargs: dict = field(default_factory=dict)
    # distillation: a trained model (file or pretrained name) whose maps are the targets; the
    # student's layers whose tensors all match the teacher's in name and shape are copied and frozen
    teacher: str | None = None
    # fine-tuning: a trained model (file or pretrained name) of the same architecture, settings and
    # preprocessing whose weights start the training (all layers stay trainable); a GG-CNN angle
    # head becomes a binned one predicting the same grasps when --angle-bins is given
    init: str | None = None
    # where to train (Lightning's accelerator, devices, strategy); not part of the result's identity
    accelerator: str = "cpu"
    devices: int | str = 1
    strategy: str = "auto"

    def __post_init__(self):
        check_devices(self.accelerator, self.devices, self.strategy)
        if self.architecture not in MODELS or not issubclass(MODELS[self.architecture], GraspMapModel):
            raise ConfigError(f"unknown architecture {self.architecture!r}; choose from {', '.join(map_architectures())}")
        if self.epochs <= 0 or self.batch_size <= 0:
            raise ConfigError("epochs and batch size must be positive")
        if not (np.isfinite(self.lr) and self.lr >= 0):
            raise ConfigError(f"--lr {self.lr}: the learning rate must be a number ≥ 0 (GG-CNN: 1e-3)")
        if self.num_workers < 0:
            raise ConfigError(f"--workers {self.num_workers}: data-loading processes must be ≥ 0")
        if not 24 <= self.output_px <= MAX_INPUT_PX:
            raise ConfigError(f"--size {self.output_px}: the network input must be 24–{MAX_INPUT_PX} px (GG-CNN: 300)")
        if not self.width_loss_weight > 0.0:
            raise ConfigError(f"--width-loss-weight must be positive, got {self.width_loss_weight}")
        if not self.quality_pos_weight >= 1.0:
            raise ConfigError(f"--quality-pos-weight must be at least 1 (1: GG-CNN's plain MSE), "
                              f"got {self.quality_pos_weight}")
        import inspect
        accepted = inspect.signature(MODELS[self.architecture].__init__).parameters
        unknown = sorted(set(self.model_kwargs) - set(accepted))
        if unknown:
            hint = " (--head-filters is for ggcnn)" if "head_filters" in unknown else ""
            raise ConfigError(f"{self.architecture} has no setting {', '.join(unknown)}{hint}; "
                              f"its settings: {', '.join(n for n in accepted if n != 'self')}")
        bins = self.model_kwargs.get("angle_bins", 0)
        if bins and not 2 <= int(bins) <= 90:
            raise ConfigError(f"--angle-bins must be 0 (GG-CNN's angle maps) or 2–90, got {bins}")
        if bins and self.teacher is not None:
            raise ConfigError("--angle-bins cannot be distilled from a teacher's angle maps; train it on labels")
        if self.init is not None and self.teacher is not None:
            raise ConfigError("give either --init (fine-tune a model) or --teacher (distil one), not both")
        m = MODELS[self.architecture].size_multiple
        if self.output_px % m:
            raise ConfigError(f"{self.architecture} needs an image size that is a multiple of {m}; "
                              f"--size {self.output_px} is not (try {max(m, round(self.output_px / m) * m)})")


DEVICE_SETTINGS = ("accelerator", "devices", "strategy", "num_workers")   # may change when a run resumes


def check_devices(accelerator: str, devices, strategy: str) -> None:
    """Refuse device settings Lightning would reject later, with the fix."""
    accelerators = ("cpu", "gpu", "cuda", "mps", "tpu", "auto")
    if accelerator not in accelerators:
        raise ConfigError(f"--accelerator {accelerator!r}: choose {', '.join(accelerators)}")
    if isinstance(devices, int) and devices < 1 and devices != -1:
        raise ConfigError(f"--devices {devices}: give a count ≥ 1 (-1: all), or device ids such as '0,1'")
    if not strategy:
        raise ConfigError("--strategy must name a Lightning strategy (auto, ddp, ddp_spawn, …)")


def map_architectures() -> list[str]:
    """The registered per-pixel grasp-map architectures (what ``train ggcnn --arch`` takes)."""
    return sorted(n for n, cls in MODELS.items() if issubclass(cls, GraspMapModel))


def input_px_per_m(scenes, pre: PreprocessConfig, sample: int = 32) -> float | None:
    """The network input's pixels per metre at the object (median over scenes whose sidecar
    has camera intrinsics, i.e. grasplab's scenes), so a detector can bring frames from other
    cameras to the scale the model learned. ``None`` when the data carry no intrinsics."""
    from ..datasets.grasp_map_dataset import choose_window
    values = []
    step = max(1, len(scenes) // sample)
    for sc in list(scenes)[::step][:sample]:
        side = getattr(sc, "sidecar", lambda: None)()
        if not side or "intrinsics" not in side:
            continue
        depth, mask = sc.depth_m(), sc.mask() > 0
        if not mask.any():
            continue
        win = choose_window(depth.shape, pre, mask)
        values.append(side["intrinsics"]["fx"] / float(np.median(depth[mask])) * win.scale)
    return float(np.median(values)) if values else None


class EpochShuffle:
    """Training order: a permutation drawn from (seed, epoch) alone, so a resumed run sees the
    order the uninterrupted run would have (a shuffling generator's state is not checkpointed).
    Lightning calls ``set_epoch`` before each epoch. In a data-parallel run of W processes with
    batch size B, process r takes items r, r + W, r + 2W, … of the permutation in batches of
    B / W, so the W shares of each step are exactly the one-process batch (its items and, with
    gradients averaged over the processes, its gradient): the same run, spread over devices."""

    def __init__(self, n: int, seed: int, batch_size: int = 1):
        self.n, self.seed, self.batch_size, self.epoch = n, seed, batch_size, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    @staticmethod
    def _shard() -> tuple[int, int]:
        import torch.distributed as dist
        if dist.is_available() and dist.is_initialized():
            return dist.get_rank(), dist.get_world_size()
        return 0, 1

    def _order(self) -> np.ndarray:
        order = derive_rng(self.seed, "training order", self.epoch).permutation(self.n)
        rank, world = self._shard()
        if world == 1:
            return order
        # every step's batch split evenly: the last, short batch is padded with its own first items
        pad = (-(self.n % self.batch_size)) % world if self.n % self.batch_size else 0
        order = np.concatenate([order, order[self.n - self.n % self.batch_size:][:pad]]) if pad else order
        return order[rank::world]

    def __len__(self) -> int:
        return len(self._order())

    def __iter__(self):
        return iter(self._order().tolist())


def save_last_checkpoint_callback(last: Path):
    """A callback writing ``last.ckpt`` after every epoch, atomically, so a killed run resumes
    from its last epoch (Lightning's ``save_last`` follows only new bests). List it after the
    best-model checkpoint, so Lightning runs it after that one has recorded the epoch."""
    import os

    from lightning.pytorch.callbacks import Checkpoint

    class _SaveLast(Checkpoint):
        def on_train_epoch_end(self, trainer, pl_module):
            tmp = last.with_name(last.name + ".tmp")
            trainer.save_checkpoint(tmp)              # every process takes part; the first writes
            if trainer.is_global_zero:
                os.replace(tmp, last)
            trainer.strategy.barrier("grasplab last checkpoint")

    return _SaveLast()


def fit_resumable(module, train_ds, val_ds, out: Path, epochs: int, seed: int, batch_size: int, num_workers: int,
                  show_progress: bool = True, val_batch_size: int | None = None, log_every_n_steps: int = 1,
                  accelerator: str = "cpu", devices: int | str = 1, strategy: str = "auto"):
    """Lightning ``fit`` that keeps the best ``val_accuracy`` checkpoint and ``last.ckpt`` in
    ``out/checkpoints``, logs CSV to ``out/logs``, and resumes from ``last.ckpt``: the training
    order and ``train_ds.epoch`` (its seeded augmentations) follow from (seed, epoch) alone, so a
    resumed run sees what the uninterrupted one would have. ``accelerator``/``devices``/``strategy``
    go to Lightning; with W devices each takes B / W items of every batch of B and the gradients
    are averaged, so the run is the one-device run, spread (same weights up to rounding). Returns (trainer, the best
    state dict, the best validation accuracy); only the global-zero process should write results
    (``trainer.is_global_zero``)."""
    import lightning as L
    import torch
    from lightning.pytorch.loggers import CSVLogger

    from .checkpoints import best_checkpoint_callback, read_checkpoint

    last = out / "checkpoints" / "last.ckpt"

    class _Epoch(L.Callback):                       # fresh, seeded augmentations every epoch
        def on_train_epoch_start(self, trainer, pl_module):
            train_ds.epoch = trainer.current_epoch

    ckpt = best_checkpoint_callback(out / "checkpoints", monitor="val_accuracy")
    # the order shards itself across processes (``EpochShuffle``); validation runs whole in each
    # process, so every process computes the same metric and keeps the same checkpoint
    trainer = L.Trainer(max_epochs=epochs, accelerator=accelerator, devices=devices, strategy=strategy,
                        use_distributed_sampler=False, logger=CSVLogger(out, name="logs"),
                        callbacks=[_Epoch(), ckpt, save_last_checkpoint_callback(last)],
                        enable_progress_bar=show_progress, enable_model_summary=False, deterministic=True,
                        log_every_n_steps=log_every_n_steps)
    world = trainer.world_size
    if batch_size % world:
        raise ConfigError(f"--batch-size {batch_size} must be a multiple of the {world} devices: each takes an equal "
                          f"share of every batch (so the run is the one-device run, spread)")
    order = EpochShuffle(len(train_ds), seed, batch_size)
    train_dl = torch.utils.data.DataLoader(train_ds, batch_size=batch_size // world, sampler=order,
                                           num_workers=num_workers)
    val_dl = torch.utils.data.DataLoader(val_ds, batch_size=val_batch_size or batch_size, shuffle=False,
                                         num_workers=num_workers)
    if last.is_file():
        # resuming after a finished epoch, Lightning skips that epoch's start hooks (and may make
        # the loader before it sets the sampler's epoch): set the next epoch here. The file is
        # read with the weights-only unpickler first: a crafted checkpoint is refused, not run
        train_ds.epoch = read_checkpoint(last)["epoch"] + 1
        order.set_epoch(train_ds.epoch)
    trainer.fit(module, train_dl, val_dl, ckpt_path=str(last) if last.is_file() else None, weights_only=True)
    best_path = ckpt.best_model_path or str(last)
    state = read_checkpoint(best_path)["state_dict"]
    best = float(ckpt.best_model_score) if ckpt.best_model_score is not None else float("nan")
    return trainer, state, best


@dataclass
class TrainResult:
    out_dir: Path
    model_path: Path
    best_val_accuracy: float
    epochs_run: int
    metadata: dict = field(default_factory=dict)        # what run.json holds
    main_process: bool = True       # False in the other processes of a data-parallel run (they write nothing)


def train_grasp_map_model(train_scenes, val_scenes, cfg: TrainConfig, out_dir: str | Path,
                          show_progress: bool = True) -> TrainResult:
    """Train on ``train_scenes``, keep the checkpoint with the best validation rectangle accuracy.

    Running again with the same ``out_dir`` resumes from ``checkpoints/last.ckpt``; ``epochs``
    may differ on resume (train longer, or stop early and export what is there).
    """
    import os

    import lightning as L
    import torch

    from .grasp_map_module import GraspMapModule

    val_scenes = [s for s in val_scenes if s.rectangles()]     # the rectangle metric needs a ground truth
    if not train_scenes:
        raise ConfigError("no training scenes: check --data and the split")
    if not val_scenes:
        raise ConfigError("no validation scene has a ground-truth grasp: use more data or another split")
    base = PreprocessConfig(inputs=cfg.inputs, output_px=cfg.output_px, crop=cfg.crop,
                            object_fraction=cfg.object_fraction, depth_reference=cfg.depth_reference)
    pre = base.to_metadata()
    teacher = None if cfg.teacher is None else _load_teacher(cfg.teacher, pre)
    start = None if cfg.init is None else _load_init(cfg.init, cfg, pre)
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    if torch.cuda.is_available():          # deterministic cuBLAS (Lightning's deterministic=True needs it)
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    px_per_m = input_px_per_m(train_scenes, base)
    bins = int(cfg.model_kwargs.get("angle_bins", 0))
    train_ds = GraspMapDataset(train_scenes, replace(base, augment=cfg.augment), seed=cfg.seed, angle_bins=bins)
    val_ds = GraspMapDataset(val_scenes, base, seed=cfg.seed, angle_bins=bins)
    model = MODELS[cfg.architecture](input_channels=train_ds.input_channels, **cfg.model_kwargs)
    fresh: list[str] = []
    converted = False
    if start is not None:
        def trunk(config):                  # a new head (another --angle-bins) may start fresh
            return {k: v for k, v in config.items() if k != "angle_bins"}
        if trunk(start.config) != trunk(model.config):
            raise ConfigError(f"--init {cfg.init}: its network settings {start.config} differ from this run's "
                              f"{model.config}; pass the same --inputs and model settings")
        if model.angle_bins and not start.angle_bins and hasattr(start, "heads"):
            # an angle-map head becomes a binned head that predicts what it did (then learns more)
            from ..models.layers import binned_head_from_angle_head
            start.heads = binned_head_from_angle_head(start.heads, model.angle_bins)
            converted = True
        own, theirs = model.state_dict(), start.state_dict()
        fresh = [n for n in own if theirs[n].shape != own[n].shape]
        model.load_state_dict({n: (own[n] if n in fresh else theirs[n]) for n in own})
    frozen = [] if teacher is None else _freeze_teachers_layers(model, teacher)
    out = Path(out_dir)                     # written only once the settings proved usable
    out.mkdir(parents=True, exist_ok=True)
    check_or_write_run_config(out, "train_config.json", cfg, "training run", may_change=("epochs", *DEVICE_SETTINGS),
                              data=scene_set_identity(train_scenes, val_scenes))
    module = GraspMapModule(model, val_dataset=val_ds, lr=cfg.lr, quality_pos_weight=cfg.quality_pos_weight,
                            teacher=teacher, width_loss_weight=cfg.width_loss_weight)
    trainer, state, best = fit_resumable(module, train_ds, val_ds, out, epochs=cfg.epochs, seed=cfg.seed,
                                         batch_size=cfg.batch_size, num_workers=cfg.num_workers,
                                         show_progress=show_progress, accelerator=cfg.accelerator,
                                         devices=cfg.devices, strategy=cfg.strategy)
    module.load_state_dict(state)
    meta = run_metadata(cfg)
    meta.update({"best_val_accuracy": best, "epochs_run": trainer.current_epoch,
                 "train_scenes": len(train_ds), "val_scenes": len(val_ds), "parameters": model.num_parameters,
                 **({"teacher_path": str(_resolve(cfg.teacher)), "frozen_from_teacher": frozen} if cfg.teacher else {}),
                 **({"init_path": str(_resolve(cfg.init)),
                     "init_metadata": {k: start.metadata.get(k) for k in ("name", "command", "best_val_accuracy")
                                       if k in start.metadata},
                     **({"init_fresh_tensors": fresh} if fresh else {}),
                     **({"init_head_converted_to_bins": True} if converted else {})} if cfg.init else {}),
                 "preprocess": {**pre, **({"px_per_m": px_per_m} if px_per_m else {})}})
    model_path = out / "model.npz"
    if trainer.is_global_zero:
        module.model.save(model_path, metadata=meta)
        atomic_write_json(out / "run.json", meta)
    return TrainResult(out, model_path, best, trainer.current_epoch, meta, trainer.is_global_zero)


def _resolve(name_or_path: str) -> Path:
    from ..models.pretrained import resolve_model
    return Path(resolve_model(name_or_path))


def _preprocessing_differences(model, pre: dict) -> str:
    """The preprocessing settings in which a trained model differs from this run's, as text."""
    m_pre = PreprocessConfig.from_metadata(model.metadata.get("preprocess", {})).to_metadata()
    differ = {k: (m_pre[k], v) for k, v in pre.items() if k in m_pre and m_pre[k] != v}
    return ", ".join(f"{k} {a!r} vs {b!r}" for k, (a, b) in differ.items())


def _load_teacher(teacher_name: str, pre: dict):
    """The teacher model, checked to see the student's inputs."""
    from ..models import load_map_model
    teacher = load_map_model(_resolve(teacher_name))
    differ = _preprocessing_differences(teacher, pre)
    if differ:
        raise ConfigError("the student must see the teacher's inputs; these preprocessing settings differ "
                          f"(teacher, student): {differ}. Pass the teacher's values (see its model card or run.json)")
    return teacher.eval()


def _load_init(name: str, cfg: TrainConfig, pre: dict):
    """The model a fine-tuning run starts from, checked to be this run's architecture and to
    have learned on the same preprocessing (its weights mean nothing on other inputs)."""
    from ..models import load_map_model
    start = load_map_model(_resolve(name))
    if start.architecture != cfg.architecture:
        raise ConfigError(f"--init {name} is a {start.architecture}, this run trains a {cfg.architecture}; "
                          f"pass --arch {start.architecture}")
    differ = _preprocessing_differences(start, pre)
    if differ:
        raise ConfigError(f"--init {name} learned on other inputs; these preprocessing settings differ "
                          f"(model, this run): {differ}. Pass the model's values (see its model card or run.json)")
    return start


def _freeze_teachers_layers(student, teacher) -> list[str]:
    """Copy and freeze the student's layers whose tensors all match the teacher's in name and
    shape; returns their tensor names."""
    import torch
    t_state = teacher.state_dict()
    frozen = []
    with torch.no_grad():               # whole layers only: a new layer keeps its own bias trainable
        for prefix, layer in student.named_modules():
            own = {f"{prefix}.{n}": p for n, p in layer.named_parameters(recurse=False)}
            if not own or any(n not in t_state or t_state[n].shape != p.shape for n, p in own.items()):
                continue
            for n, p in own.items():
                p.copy_(t_state[n])
                p.requires_grad_(False)
                frozen.append(n)
    if all(not p.requires_grad for p in student.parameters()):
        raise ConfigError("the student has the teacher's exact shape, so nothing would be trained; "
                          "give it a different architecture or size (e.g. --head-filters 8)")
    return frozen
