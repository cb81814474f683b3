"""``grasplab train``: GG-CNN-family map models, crop re-rankers and GQ-CNNs (Lightning; resumable
run folders; ``--accelerator/--devices/--strategy`` for GPUs and data-parallel training)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .common import ACCELERATOR_HELP, DEVICES_HELP, MODEL_HELP, STRATEGY_HELP, comma_list, console

group = typer.Typer(no_args_is_help=True, help="Train models.")

DATA_HELP = ("Dataset folder (Jacquard, grasplab synth output, or Cornell); give --data more than once to train "
             "on several.")
VAL_HELP = ("Validate on all scenes of this folder (same --format and --depth) instead of a held-out fold of --data.")


def _device_options(accelerator: str, devices: str, strategy: str) -> dict:
    return {"accelerator": accelerator, "devices": int(devices) if devices.isdigit() else devices,
            "strategy": strategy}


def _scenes(data, format, depth, split, folds, fold, seed, val_data):
    from ..datasets.scene_sources import train_val_scenes
    train, val, where = train_val_scenes(data, format, depth, split, folds, fold, seed, val_data)
    console.print(where)
    return train, val


@group.command("ggcnn")
def train_ggcnn(
    data: list[Path] = typer.Option(..., help=DATA_HELP),
    format: str = typer.Option("jacquard", "--format", help="jacquard (also grasplab scenes) or cornell."),
    inputs: str = typer.Option("depth", help="depth, rgb or rgbd."),
    arch: str = typer.Option("ggcnn", help="ggcnn, ggcnn2 or grconvnet (residual encoder–decoder, ~1.9 M parameters)."),
    size: int = typer.Option(300, help="Network input/output size in pixels."),
    crop: str = typer.Option("center", help="center, resize, mask or object (never label-based)."),
    object_fraction: float = typer.Option(0.5, help="crop object: square side as a fraction of the shorter image side."),
    depth_reference: str = typer.Option("mean", help="Subtract the image mean (GG-CNN) or a fitted table plane: mean or table."),
    depth: str = typer.Option("perfect", help="Jacquard depth image: perfect or stereo."),
    epochs: int = typer.Option(30),
    batch_size: int = typer.Option(8),
    lr: float = typer.Option(1e-3),
    quality_pos_weight: float = typer.Option(1.0, help="Weight of positive pixels in the quality loss (1: GG-CNN's "
                                             "MSE; 10 keeps deep nets such as grconvnet off the all-zero map)."),
    width_loss_weight: float = typer.Option(1.0, help="Scale of the width term in the loss (1: GG-CNN's sum)."),
    split: Optional[str] = typer.Option(None, help="object-wise or image-wise k-fold: object (default) or image."),
    folds: Optional[int] = typer.Option(None, help="Number of folds (default 5)."),
    fold: Optional[int] = typer.Option(None, help="Which fold is held out for validation (default 0)."),
    seed: int = typer.Option(0),
    workers: int = typer.Option(0, help="Data-loading processes (0: in this process); results do not depend on it."),
    head_filters: Optional[int] = typer.Option(None, help="ggcnn: channels of the last up-sampling layer "
                                               "(GG-CNN: 32; 8 makes the network ~3× cheaper)."),
    angle_bins: int = typer.Option(0, help="0: GG-CNN's single angle per pixel (cos 2θ, sin 2θ maps); K ≥ 2: a "
                                   "classifier over K angle bins of 180°/K and a width per bin, so a pixel may "
                                   "be good at several angles (e.g. 12; see BENCHMARKS.md before relying on it)."),
    teacher: Optional[str] = typer.Option(None, help="Distil: a trained model (file or pretrained name) whose maps "
                                          "are the targets; the layers matching it are copied and frozen."),
    init: Optional[str] = typer.Option(None, help="Fine-tune: start from a trained model's weights (file or "
                                       "pretrained name; same --arch, --inputs and preprocessing)."),
    val_data: Optional[Path] = typer.Option(None, help=VAL_HELP),
    accelerator: str = typer.Option("cpu", help=ACCELERATOR_HELP),
    devices: str = typer.Option("1", help=DEVICES_HELP),
    strategy: str = typer.Option("auto", help=STRATEGY_HELP),
    out: Path = typer.Option(Path("grasplab-train"), help="Run folder (resumes if it holds this run)."),
):
    """Train GG-CNN / GG-CNN2; keeps the best validation rectangle accuracy; writes model.npz + run.json."""
    from ..training import TrainConfig, train_grasp_map_model
    cfg = TrainConfig(architecture=arch, inputs=inputs, output_px=size, crop=crop, object_fraction=object_fraction,
                      depth_reference=depth_reference, epochs=epochs,
                      batch_size=batch_size, lr=lr, quality_pos_weight=quality_pos_weight,
                      width_loss_weight=width_loss_weight, seed=seed, num_workers=workers, teacher=teacher,
                      init=init, model_kwargs={**({} if head_filters is None else {"head_filters": head_filters}),
                                               **({"angle_bins": angle_bins} if angle_bins else {})},
                      **_device_options(accelerator, devices, strategy))
    train, val = _scenes(data, format, depth, split, folds, fold, seed, val_data)
    res = train_grasp_map_model(train, val, cfg, out)
    if res.main_process:
        console.print(f"[green]trained[/] {arch}: best validation accuracy {res.best_val_accuracy:.1%}; "
                      f"model {res.model_path}")


@group.command("reranker")
def train_reranker_cmd(
    data: list[Path] = typer.Option(..., help=DATA_HELP),
    format: str = typer.Option("jacquard", "--format", help="jacquard (also grasplab scenes) or cornell."),
    map_model: Optional[str] = typer.Option(None, "--model", help="The map model whose grasps are re-ranked: " + MODEL_HELP),
    depth: str = typer.Option("perfect", help="Jacquard depth image: perfect or stereo."),
    peaks: int = typer.Option(10, help="Quality peaks proposed per image."),
    min_distance: int = typer.Option(5, help="Minimum distance between proposed peaks (pixels)."),
    angle_offsets: str = typer.Option("0,45,90,135", help="Each position is proposed at its angle turned by these (°)."),
    grid_stride: int = typer.Option(6, help="Also propose every n-th pixel of the object (standing above the table); "
                                    "0: quality peaks only."),
    grid_min_height: float = typer.Option(0.01, help="Object pixels for the grid: at least this high above the table (m)."),
    quality_floor: float = typer.Option(0.02, help="Score = classifier probability × (map quality + floor) ** power."),
    quality_power: float = typer.Option(0.5, help="See --quality-floor (1 with floor 0: probability × quality)."),
    crop: int = typer.Option(64, help="Side of the grasp-aligned crop in map-input pixels."),
    crop_out: int = typer.Option(32, help="Crop side after block-averaging (the classifier's input)."),
    epochs: int = typer.Option(4),
    batch_size: int = typer.Option(256),
    lr: float = typer.Option(1e-3),
    split: Optional[str] = typer.Option(None, help="object-wise or image-wise k-fold: object (default) or image."),
    folds: Optional[int] = typer.Option(None, help="Number of folds (default 5)."),
    fold: Optional[int] = typer.Option(None, help="Which fold is held out for validation (default 0)."),
    seed: int = typer.Option(0),
    workers: int = typer.Option(0, help="Data-loading processes (0: in this process); results do not depend on it."),
    val_data: Optional[Path] = typer.Option(None, help=VAL_HELP),
    accelerator: str = typer.Option("cpu", help=ACCELERATOR_HELP),
    devices: str = typer.Option("1", help=DEVICES_HELP),
    strategy: str = typer.Option("auto", help=STRATEGY_HELP),
    out: Path = typer.Option(Path("grasplab-rerank"), help="Run folder (resumes if it holds this run)."),
):
    """Train a crop classifier that re-ranks a map model's grasps (use it with --rerank); writes model.npz."""
    from ..models.pretrained import DEFAULT
    from ..training import RerankTrainConfig, train_reranker
    cfg = RerankTrainConfig(map_model=map_model or DEFAULT, peaks=peaks, min_distance_px=min_distance,
                            angle_offsets_deg=comma_list(angle_offsets, float, "degrees (e.g. 0,45,90,135)",
                                                                "--angle-offsets"),
                            grid_stride_px=grid_stride, grid_min_height_m=grid_min_height,
                            quality_floor=quality_floor, quality_power=quality_power, crop_px=crop, out_px=crop_out,
                            epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, num_workers=workers,
                            **_device_options(accelerator, devices, strategy))
    train, val = _scenes(data, format, depth, split, folds, fold, seed, val_data)
    res = train_reranker(train, val, cfg, out)
    if res.main_process:
        console.print(f"[green]trained[/] re-ranker for {cfg.map_model}: best validation top-1 after re-ranking "
                      f"{res.best_val_accuracy:.1%}; model {res.model_path}")


@group.command("gqcnn")
def train_gqcnn_cmd(
    data: Path = typer.Option(..., help="A GQ-CNN tensor dataset (`grasplab synth --format gqcnn` output or its "
                              "gqcnn/ folder, or gqcnn's own layout)."),
    split: str = typer.Option("image_wise", help="The dataset's split: image_wise (Dex-Net 2.0's) or object_wise."),
    threshold: Optional[float] = typer.Option(None, help="Robust ε above which a grasp is positive (default: the "
                                              "dataset's; Dex-Net 2.0: 0.002)."),
    epochs: int = typer.Option(5),
    batch_size: Optional[int] = typer.Option(None, help="Default: Dex-Net 2.0's 64."),
    lr: Optional[float] = typer.Option(None, help="SGD learning rate (momentum 0.9, ×0.95 every 0.66 epoch; "
                                       "default: Dex-Net 2.0's 0.01)."),
    filters: Optional[int] = typer.Option(None, help="Filters per conv layer (default: Dex-Net 2.0's 64)."),
    fc_size: Optional[int] = typer.Option(None, help="Units of the dense layers (default: Dex-Net 2.0's 1024)."),
    no_augment: bool = typer.Option(False, "--no-augment", help="Train without mirrors and depth noise."),
    seed: int = typer.Option(0),
    workers: int = typer.Option(0, help="Data-loading processes (0: in this process); results do not depend on it."),
    accelerator: str = typer.Option("cpu", help=ACCELERATOR_HELP),
    devices: str = typer.Option("1", help=DEVICES_HELP),
    strategy: str = typer.Option("auto", help=STRATEGY_HELP),
    out: Path = typer.Option(Path("grasplab-gqcnn"), help="Run folder (resumes if it holds this run)."),
):
    """Train Dex-Net 2.0's GQ-CNN on grasp-aligned depth crops; writes model.npz, run.json and figures/."""
    from ..presets import configure
    from ..training.gqcnn_data import AugmentConfig
    from ..training.gqcnn_train import GQCNNTrainConfig, train_gqcnn
    aug = AugmentConfig(symmetrize=False, gamma_shape=0.0, gp_rate=0.0) if no_augment else AugmentConfig()
    cfg = configure(GQCNNTrainConfig, data=str(data), split=split, threshold=threshold, epochs=epochs,
                    batch_size=batch_size, lr=lr, filters=filters, fc_size=fc_size, seed=seed, num_workers=workers,
                    augment=aug, **_device_options(accelerator, devices, strategy))
    res = train_gqcnn(cfg, out)
    if not res.main_process:
        return
    meta = res.metadata
    v = meta["val"]
    console.print(f"[green]trained[/] GQ-CNN on {meta['train_datapoints']} datapoints: validation accuracy "
                  f"{v['accuracy']:.1%}, AP {v['average_precision']:.3f}, ROC AUC {v['roc_auc']:.3f} "
                  f"({meta['val_datapoints']} datapoints, {v['positives']} positive); model {res.model_path}, "
                  f"figure {res.out_dir / 'figures' / 'gqcnn-val.png'}")


def register(app: typer.Typer) -> None:
    app.add_typer(group, name="train")
