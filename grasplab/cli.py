"""The ``grasplab`` command: a thin shell over the package (everything is reachable from Python)."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from .errors import ConfigError, GrasplabError

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="grasplab: parallel-jaw grasp detection in depth and RGB-D images.")
objects_app = typer.Typer(no_args_is_help=True, help="Procedural and mesh objects.")
bench_app = typer.Typer(no_args_is_help=True, help="Benchmarks (print a table, or JSON with --json).")
app.add_typer(objects_app, name="objects")
app.add_typer(bench_app, name="bench")
export_app = typer.Typer(no_args_is_help=True, help="Export models for other runtimes.")
app.add_typer(export_app, name="export")
console = Console()
err_console = Console(stderr=True)


MODEL_HELP = "A pretrained model name (see `grasplab models`) or a model file; default: the default pretrained model."
RERANK_HELP = ("Re-rank the model's grasps with a crop classifier (`grasplab train reranker`): a pretrained name "
               "(see `grasplab models`) or a model file.")
POLICY_HELP = "For a GQ-CNN model (`grasplab train gqcnn`): Dex-Net 2.0's policy, cem (cross-entropy method) or rank."
VIEWS_HELP = ("Test-time augmentation: average the maps over 1, 2 (mirror), 4 (quarter turns) or 8 views; one "
              "network pass each (no reliable accuracy gain measured: BENCHMARKS.md).")


@app.callback()
def _root():
    """grasplab: parallel-jaw grasp detection in depth and RGB-D images."""


@app.command()
def version():
    """Print the grasplab version."""
    from . import __version__
    console.print(__version__)


@objects_app.command("families")
def objects_families():
    """List the procedural object families."""
    from .objects import FAMILIES, NON_CONVEX_FAMILIES
    for f in FAMILIES:
        console.print(f"{f}{'  (non-convex)' if f in NON_CONVEX_FAMILIES else ''}")


@objects_app.command("preview")
def objects_preview(
    family: str = typer.Option("all", help="Family name, or 'all' for one of each in turn."),
    count: int = typer.Option(8, help="How many objects."),
    seed: int = typer.Option(0, help="Random seed."),
    out: Path = typer.Option(Path("objects.png"), help="Output PNG."),
    renderer: str = typer.Option("auto", help="auto, mujoco or raycast."),
):
    """Render generated objects on a table into one picture."""
    from .synth import preview_objects
    path = preview_objects(family, count, seed, out, renderer)
    console.print(f"wrote {path}")


@app.command()
def render(
    objects: str = typer.Option("procedural:8", help="procedural:N[:fam1,fam2] or meshes:DIR"),
    views: int = typer.Option(4, help="Views per object (each picks a stable pose by its probability)."),
    seed: int = typer.Option(0, help="Random seed: the same seed gives the same images."),
    out: Path = typer.Option(Path("grasplab-render"), help="Output folder (resumes if it holds this job)."),
    renderer: str = typer.Option("auto", help="auto (MuJoCo, else ray casting), mujoco or raycast."),
    camera: str = typer.Option("dexnet2", help="Camera preset: dexnet2 (600×600) or primesense (640×480)."),
    scale: float = typer.Option(1.0, help="Scale applied to mesh files (0.001 for millimetres)."),
    gamma_shape: float = typer.Option(1000.0, help="Multiplicative Gamma noise shape (0 = off)."),
    gp_sigma: float = typer.Option(0.005, help="Gaussian-process depth noise σ in metres (0 = off)."),
    dropout: float = typer.Option(0.0, help="Fraction of depth pixels dropped at random."),
    edge_dropout: float = typer.Option(0.0, help="Probability of dropping a pixel at a depth edge."),
):
    """Render objects on a table: per view RGB, noisy + perfect depth (m), mask and camera JSON."""
    from .scene import DepthNoiseConfig
    from .synth import RenderJobConfig, run_render_job
    noise = DepthNoiseConfig(gamma_shape=gamma_shape, gp_sigma_m=gp_sigma, dropout_rate=dropout,
                             edge_dropout_rate=edge_dropout)
    cfg = RenderJobConfig(objects=objects, views=views, seed=seed, renderer=renderer, camera=camera,
                          noise=noise, mesh_scale=scale)
    res = run_render_job(cfg, out)
    console.print(f"[green]rendered[/] {res.views_written} views ({res.views_skipped} already done) of "
                  f"{len(res.objects_ok)} objects with the {res.renderer} renderer into {out}")
    if res.failures:
        console.print(f"[yellow]{len(res.failures)} objects skipped[/] (see {out / 'objects.json'})")
    if res.contact_sheet:
        console.print(f"contact sheet: {res.contact_sheet}")


dataset_app = typer.Typer(no_args_is_help=True, help="Inspect synthesised datasets.")
app.add_typer(dataset_app, name="dataset")
train_app = typer.Typer(no_args_is_help=True, help="Train models.")
app.add_typer(train_app, name="train")


@train_app.command("ggcnn")
def train_ggcnn(
    data: list[Path] = typer.Option(..., help="Dataset folder (Jacquard, grasplab synth output, or Cornell); "
                                    "give --data more than once to train on several."),
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
    val_data: Optional[Path] = typer.Option(None, help="Validate on all scenes of this folder (same --format and "
                                            "--depth) instead of a held-out fold of --data."),
    out: Path = typer.Option(Path("grasplab-train"), help="Run folder (resumes if it holds this run)."),
):
    """Train GG-CNN / GG-CNN2; keeps the best validation rectangle accuracy; writes model.npz + run.json."""
    from .training import TrainConfig, train_grasp_map_model
    cfg = TrainConfig(architecture=arch, inputs=inputs, output_px=size, crop=crop, object_fraction=object_fraction,
                      depth_reference=depth_reference, epochs=epochs,
                      batch_size=batch_size, lr=lr, quality_pos_weight=quality_pos_weight,
                      width_loss_weight=width_loss_weight, seed=seed, num_workers=workers, teacher=teacher,
                      init=init, model_kwargs={**({} if head_filters is None else {"head_filters": head_filters}),
                                               **({"angle_bins": angle_bins} if angle_bins else {})})
    train, val = _train_val_scenes(data, format, depth, split, folds, fold, seed, val_data)
    res = train_grasp_map_model(train, val, cfg, out)
    console.print(f"[green]trained[/] {arch}: best validation accuracy {res.best_val_accuracy:.1%}; "
                  f"model {res.model_path}")


@train_app.command("reranker")
def train_reranker_cmd(
    data: list[Path] = typer.Option(..., help="Dataset folder (Jacquard, grasplab synth output, or Cornell); "
                                    "give --data more than once to train on several."),
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
    val_data: Optional[Path] = typer.Option(None, help="Validate on all scenes of this folder (same --format and "
                                            "--depth) instead of a held-out fold of --data."),
    out: Path = typer.Option(Path("grasplab-rerank"), help="Run folder (resumes if it holds this run)."),
):
    """Train a crop classifier that re-ranks a map model's grasps (use it with --rerank); writes model.npz."""
    from .models.pretrained import DEFAULT
    from .training import RerankTrainConfig, train_reranker
    try:
        offsets = tuple(float(a) for a in angle_offsets.split(",") if a.strip())
    except ValueError:
        raise ConfigError(f"--angle-offsets takes comma-separated degrees (e.g. 0,45,90,135), got {angle_offsets!r}") from None
    cfg = RerankTrainConfig(map_model=map_model or DEFAULT, peaks=peaks, min_distance_px=min_distance,
                            angle_offsets_deg=offsets, grid_stride_px=grid_stride, grid_min_height_m=grid_min_height,
                            quality_floor=quality_floor, quality_power=quality_power, crop_px=crop, out_px=crop_out, epochs=epochs,
                            batch_size=batch_size, lr=lr, seed=seed, num_workers=workers)
    train, val = _train_val_scenes(data, format, depth, split, folds, fold, seed, val_data)
    res = train_reranker(train, val, cfg, out)
    console.print(f"[green]trained[/] re-ranker for {cfg.map_model}: best validation top-1 after re-ranking "
                  f"{res.best_val_accuracy:.1%}; model {res.model_path}")


@train_app.command("gqcnn")
def train_gqcnn_cmd(
    data: Path = typer.Option(..., help="A GQ-CNN tensor dataset (`grasplab synth --format gqcnn` output or its "
                              "gqcnn/ folder, or gqcnn's own layout)."),
    split: str = typer.Option("image_wise", help="The dataset's split: image_wise (Dex-Net 2.0's) or object_wise."),
    threshold: Optional[float] = typer.Option(None, help="Robust ε above which a grasp is positive (default: the "
                                              "dataset's; Dex-Net 2.0: 0.002)."),
    epochs: int = typer.Option(5),
    batch_size: int = typer.Option(64, help="Dex-Net 2.0: 64."),
    lr: float = typer.Option(0.01, help="SGD learning rate (momentum 0.9, ×0.95 every 0.66 epoch; Dex-Net 2.0: 0.01)."),
    filters: int = typer.Option(64, help="Filters per conv layer (Dex-Net 2.0: 64)."),
    fc_size: int = typer.Option(1024, help="Units of the dense layers (Dex-Net 2.0: 1024)."),
    no_augment: bool = typer.Option(False, "--no-augment", help="Train without mirrors and depth noise."),
    seed: int = typer.Option(0),
    workers: int = typer.Option(0, help="Data-loading processes (0: in this process); results do not depend on it."),
    out: Path = typer.Option(Path("grasplab-gqcnn"), help="Run folder (resumes if it holds this run)."),
):
    """Train Dex-Net 2.0's GQ-CNN on grasp-aligned depth crops; writes model.npz, run.json and figures/."""
    from .training.gqcnn_data import AugmentConfig
    from .training.gqcnn_train import GQCNNTrainConfig, train_gqcnn
    aug = AugmentConfig(symmetrize=False, gamma_shape=0.0, gp_rate=0.0) if no_augment else AugmentConfig()
    cfg = GQCNNTrainConfig(data=str(data), split=split, threshold=threshold, epochs=epochs, batch_size=batch_size,
                           lr=lr, filters=filters, fc_size=fc_size, seed=seed, num_workers=workers, augment=aug)
    res = train_gqcnn(cfg, out)
    meta = json.loads((res.out_dir / "run.json").read_text())
    v = meta["val"]
    console.print(f"[green]trained[/] GQ-CNN on {meta['train_datapoints']} datapoints: validation accuracy "
                  f"{v['accuracy']:.1%}, AP {v['average_precision']:.3f}, ROC AUC {v['roc_auc']:.3f} "
                  f"({meta['val_datapoints']} datapoints, {v['positives']} positive); model {res.model_path}, "
                  f"figure {res.out_dir / 'figures' / 'gqcnn-val.png'}")


def _train_val_scenes(data: list[Path], format: str, depth: str, split: Optional[str], folds: Optional[int],
                      fold: Optional[int], seed: int, val_data: Optional[Path]) -> tuple[list, list]:
    """Training and validation scenes: a held-out fold of the ``data`` folders' scenes, or all of
    them with all of ``val_data``."""
    from .datasets.scene_sources import load_scenes, split_scenes
    if val_data is not None and (split, folds, fold) != (None, None, None):
        raise ConfigError("--split/--folds/--fold choose a held-out fold of --data; with --val-data every scene of "
                          "--data trains, so leave them out (or drop --val-data)")
    split, folds, fold = split or "object", 5 if folds is None else folds, 0 if fold is None else fold
    scenes = [s for d in data for s in load_scenes(d, format, depth)]
    where = ", ".join(map(str, data))
    if val_data is None:
        train, val = split_scenes(scenes, split, folds, fold, seed)
        console.print(f"{len(train)} training and {len(val)} validation scenes from {where} ({split}-wise fold "
                      f"{fold}/{folds})")
    else:
        train, val = scenes, load_scenes(val_data, format, depth)
        console.print(f"{len(train)} training scenes from {where}, {len(val)} validation scenes from {val_data}")
    return train, val


@app.command()
def synth(
    objects: str = typer.Option("procedural:8", help="procedural:N[:fam1,fam2] or meshes:DIR"),
    out: Path = typer.Option(Path("grasplab-synth"), help="Output folder (resumes if it holds this job)."),
    format: str = typer.Option("gqcnn,jacquard", "--format", help="Comma-separated: gqcnn, jacquard."),
    views_per_pose: int = typer.Option(2, help="Rendered views per stable pose."),
    max_poses: int = typer.Option(3, help="Likeliest stable poses used per object."),
    grasps: int = typer.Option(100, help="Antipodal candidates per object (shared among its poses)."),
    seed: int = typer.Option(0, help="Global seed: the same seed gives the same dataset for any --workers."),
    gripper: str = typer.Option("yumi", help="Gripper preset (yumi, robotiq_2f85) or JSON file."),
    camera: str = typer.Option("dexnet2", help="Camera preset: dexnet2, primesense or jacquard."),
    renderer: str = typer.Option("auto", help="auto, mujoco or raycast."),
    threshold: float = typer.Option(0.002, help="Robust ε above which a grasp is positive (Dex-Net: 0.002)."),
    samples: int = typer.Option(25, help="Monte-Carlo samples per robust label."),
    scale: float = typer.Option(1.0, help="Scale for mesh files (0.001 for millimetres)."),
    workers: int = typer.Option(-1, help="Ray workers (-1: one per CPU; 0: serial, in this process)."),
    address: Optional[str] = typer.Option(None, help="Address of an existing Ray cluster."),
    shard: Optional[str] = typer.Option(None, help="K/N: only objects i % N == K (N processes or machines share "
                                        "--out; a last run without --shard writes the tensors and splits)."),
):
    """Synthesise labelled grasp datasets (GQ-CNN tensors, Jacquard-layout scenes) from objects."""
    import os

    from .quality import QualityConfig
    from .synth import SynthConfig, run_synth
    cfg = SynthConfig(objects=objects, seed=seed, formats=tuple(f.strip() for f in format.split(",") if f.strip()),
                      views_per_pose=views_per_pose, max_poses=max_poses, grasps_per_object=grasps, gripper=gripper,
                      camera=camera, renderer=renderer, mesh_scale=scale,
                      quality=QualityConfig(positive_threshold=threshold, num_samples=samples))
    from .synth.dataset_job import parse_shard
    n_workers = (os.cpu_count() or 1) if workers < 0 else workers
    res = run_synth(cfg, out, workers=n_workers, address=address, shard=parse_shard(shard))
    console.print(f"[green]synthesised[/] {res.datapoints} datapoints ({res.positive_fraction:.1%} positive) from "
                  f"{res.units_run} objects ({res.units_skipped} already done) into {out}")
    if res.failures:
        console.print(f"[yellow]{len(res.failures)} objects skipped[/] (see {out / 'objects.json'})")
    if res.no_grasps:
        console.print(f"[yellow]{len(res.no_grasps)} objects gave no grasp candidate[/] (too wide for the "
                      f"gripper in every pose? see {out / 'objects.json'}; try --gripper robotiq_2f85)")


@app.command()
def evaluate(
    model: Optional[str] = typer.Option(None, help=MODEL_HELP),
    data: Path = typer.Option(..., help="Dataset folder (Jacquard, grasplab scenes, or Cornell)."),
    format: str = typer.Option("jacquard", "--format", help="jacquard or cornell; gqcnn: a GQ-CNN model "
                               "as a classifier on a tensor dataset's crops."),
    depth: str = typer.Option("perfect", help="Jacquard depth image: perfect or stereo."),
    split: Optional[str] = typer.Option(None, help="Evaluate only a held-out fold: object or image."),
    folds: int = typer.Option(5),
    fold: int = typer.Option(0),
    seed: int = typer.Option(0),
    k: int = typer.Option(5, help="Also report top-k accuracy."),
    views: int = typer.Option(1, help=VIEWS_HELP),
    rerank: Optional[str] = typer.Option(None, help=RERANK_HELP),
    policy: str = typer.Option("cem", help=POLICY_HELP),
    no_mask: bool = typer.Option(False, "--no-mask", help="GQ-CNN policies: ignore the scenes' object masks."),
    out: Path = typer.Option(Path("grasplab-eval"), help="Folder for evaluation.json and figures."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
):
    """Rectangle-metric accuracy (top-1 and top-k, 95 % intervals) with best/worst figures."""
    from .datasets.scene_sources import load_scenes, split_scenes
    from .evaluation.evaluate_maps import evaluate_grasp_map_model
    from .models.pretrained import resolve_model
    from .policies.reranking import load_reranker
    gq = _gqcnn_file(model)
    if format == "gqcnn":
        from .evaluation.evaluate_gqcnn import evaluate_gqcnn_tensors
        if gq is None:
            raise ConfigError("--format gqcnn scores a GQ-CNN model on grasp crops; give one with --model")
        cls = evaluate_gqcnn_tensors(gq, data, out_dir=out)
        if as_json:
            print(json.dumps(cls.to_dict(), indent=2))
        else:
            console.print(f"{cls.n} grasps ({cls.positives} positive): accuracy {cls.accuracy:.1%}, precision "
                          f"{cls.precision:.1%}, recall {cls.recall:.1%}, AP {cls.average_precision:.3f}, ROC AUC "
                          f"{cls.roc_auc:.3f}; report and figure in {out}")
        return
    scenes = load_scenes(data, format, depth)
    if split:
        _, scenes = split_scenes(scenes, split, folds, fold, seed)
    if gq is not None:
        from .evaluation.evaluate_policy import evaluate_policy
        from .policies.gqcnn_policy import load_gqcnn_policy
        if rerank is not None or views != 1:
            raise ConfigError("--rerank and --views apply to grasp-map models, not to a GQ-CNN policy")
        rep = evaluate_policy(load_gqcnn_policy(gq, policy), scenes, k=k, out_dir=out, seed=seed, use_mask=not no_mask)
    else:
        reranker = None if rerank is None else load_reranker(rerank)
        rep = evaluate_grasp_map_model(resolve_model(model), scenes, k=k, out_dir=out, views=views, reranker=reranker)
    if as_json:
        print(json.dumps({k_: v for k_, v in rep.to_dict().items() if k_ != "per_scene"}, indent=2))
        return
    console.print(f"top-1: {rep.top1}")
    console.print(f"top-{rep.k}: {rep.topk}")
    if rep.misses:
        console.print("top-1 misses: " + ", ".join(f"{n} {kind}" for kind, n in rep.misses.items())
                      + " (labelled negative: the labels tried a matching grasp and rejected it; untried: no "
                        "candidate matches it)")
    if rep.skipped_no_truth:
        console.print(f"{rep.skipped_no_truth} scenes without ground-truth grasps were not scored")
    console.print(f"report and figures in {out}")


@app.command()
def predict(
    model: Optional[str] = typer.Option(None, help=MODEL_HELP),
    depth: Path = typer.Option(..., help="Depth image: TIFF, NPY or 16-bit PNG (metres or millimetres)."),
    rgb: Optional[Path] = typer.Option(None, help="RGB image (for rgb/rgbd models)."),
    intrinsics: Optional[Path] = typer.Option(None, help="Camera intrinsics (.intr or grasplab JSON) for metres."),
    mask: Optional[Path] = typer.Option(None, help="Object mask PNG: crop around it."),
    units: str = typer.Option("auto", help="Depth units: auto, m or mm."),
    max_grasps: int = typer.Option(5),
    gripper: Optional[str] = typer.Option(None, help="Drop grasps wider than this gripper opens (yumi, robotiq_2f85 "
                                          "or a gripper JSON); needs --intrinsics."),
    views: int = typer.Option(1, help=VIEWS_HELP),
    rerank: Optional[str] = typer.Option(None, help=RERANK_HELP),
    policy: str = typer.Option("cem", help=POLICY_HELP),
    seed: int = typer.Option(0, help="GQ-CNN policies: seed of the grasp sampling."),
    out: Path = typer.Option(Path("grasplab-predict"), help="Folder for grasps.json and overlay.png."),
):
    """Ranked grasps for one camera frame: JSON (pixels; metres with intrinsics) and a PNG overlay."""
    from .geometry import CameraIntrinsics
    from .imaging import read_depth_raw, read_mask, read_rgb
    from .storage import atomic_write_json, run_metadata
    from .viz.figures import save_grasp_scenes
    max_width_m = None
    if gripper is not None:
        from .grasps.gripper import load_gripper
        if intrinsics is None:
            raise ConfigError("--gripper filters grasps by width in metres: pass --intrinsics too")
        max_width_m = load_gripper(gripper).max_width_m
    gq = _gqcnn_file(model)                   # the model first: a wrong one is refused before reading frames
    if gq is not None:
        from .policies.gqcnn_policy import load_gqcnn_policy
        if rerank is not None or views != 1:
            raise ConfigError("--rerank and --views apply to grasp-map models, not to a GQ-CNN policy")
        pol = load_gqcnn_policy(gq, policy, max_width_m)
    else:
        from .policies import load_detector
        det = load_detector(model, views=views, rerank=rerank)
    d = read_depth_raw(depth)
    im = read_rgb(rgb) if rgb else None
    K = CameraIntrinsics.from_file(intrinsics) if intrinsics else None
    m = read_mask(mask) if mask else None
    if gq is not None:
        grasps = pol.plan(d, K, mask=m, seed=seed, units=units, max_grasps=max_grasps)
        described = {"model": str(gq), "policy": pol.config, "seed": seed, "max_width_m": pol.max_width_m}
    else:
        grasps = det.detect(d, rgb=im, intrinsics=K, mask=m, units=units, max_grasps=max_grasps,
                            max_width_m=max_width_m)
        described = {"model": str(det.path), "max_width_m": max_width_m, "views": views,
                     "rerank": None if det.reranker is None else det.reranker.describe()}
    payload = {**run_metadata({**described, "depth": str(depth), "units": units}),
               "grasps": [g.to_dict() for g in grasps]}
    atomic_write_json(out / "grasps.json", payload)
    view = im if im is not None else _depth_picture(d)
    save_grasp_scenes([{"title": f"{depth.name}: {len(grasps)} grasps", "image": view,
                        "mask": m, "positives": [g.grasp for g in grasps[:1]],
                        "negatives": [g.grasp for g in grasps[1:]],
                        "legend": "best (green, thick), the others ranked below it (red)"}],
                      out / "overlay.png", cols=1)
    if not grasps:
        console.print("[yellow]no grasp passed the quality threshold[/] (see overlay.png)")
    for i, g in enumerate(grasps):
        extra = f", centre {np.round(g.center_m, 3).tolist()} m, width {g.width_m * 100:.1f} cm" if g.center_m is not None else ""
        console.print(f"{i + 1}. q={g.quality:.2f} at ({g.grasp.center_xy_px[0]:.0f}, {g.grasp.center_xy_px[1]:.0f}) px, "
                      f"angle {np.degrees(g.grasp.angle_rad):.0f}°, width {g.grasp.width_px:.0f} px{extra}")
    console.print(f"wrote {out / 'grasps.json'} and {out / 'overlay.png'}")


def _gqcnn_file(model: Optional[str]) -> Optional[Path]:
    """The model file when ``model`` names a GQ-CNN (which runs through a policy), else None."""
    from .models import read_header
    from .models.pretrained import resolve_model
    path = resolve_model(model)
    return path if path.suffix == ".npz" and read_header(path).get("architecture") == "gqcnn" else None


def _depth_picture(depth: np.ndarray) -> np.ndarray:
    import matplotlib
    d = np.asarray(depth, dtype=np.float64)
    valid = d[np.isfinite(d) & (d > 0)]
    lo, hi = (np.percentile(valid, 1), np.percentile(valid, 99)) if valid.size else (0, 1)
    return (matplotlib.colormaps["gray"](np.clip((d - lo) / max(hi - lo, 1e-9), 0, 1))[..., :3] * 255).astype(np.uint8)


@dataset_app.command("stats")
def dataset_stats(path: Path = typer.Argument(..., help="A synth output folder or a GQ-CNN tensor dataset."),
                  as_json: bool = typer.Option(False, "--json")):
    """Counts and positive fractions, overall, per object and per family."""
    from .datasets.inspect import dataset_stats as stats_fn
    st = stats_fn(path)
    if as_json:
        print(json.dumps(st, indent=2))
        return
    t = Table(title=f"{path}: {st['datapoints']} datapoints, {st['positive_fraction']:.1%} positive "
                    f"(robust ε > {st['threshold']})")
    for col in ("group", "datapoints", "positive", "collision-free"):
        t.add_column(col, justify="left" if col == "group" else "right")
    for name, row in st["per_family"].items():
        t.add_row(f"family {name}", str(row["datapoints"]), f"{row['positive_fraction']:.1%}",
                  f"{row['collision_free_fraction']:.1%}")
    for name, row in st["per_object"].items():
        t.add_row(name, str(row["datapoints"]), f"{row['positive_fraction']:.1%}", f"{row['collision_free_fraction']:.1%}")
    console.print(t)
    for split, sizes in st["splits"].items():
        console.print(f"split {split}: {sizes['train']} train / {sizes['val']} val")


@dataset_app.command("show")
def dataset_show(path: Path = typer.Argument(..., help="A synth output folder, GQ-CNN dataset or Jacquard folder."),
                 out: Path = typer.Option(Path("dataset.png"), help="Output PNG."),
                 count: int = typer.Option(6, help="How many scenes (or 8× as many crops).")):
    """Draw scenes with positive (green) and negative (red) grasps, or a grid of labelled crops."""
    from .datasets.inspect import show_dataset
    for p in show_dataset(path, out, count):
        console.print(f"wrote {p}")


@bench_app.command("render")
def bench_render(
    frames: int = typer.Option(200, help="Frames timed per renderer and output (ray casting: a fifth)."),
    cores: int = typer.Option(1, help="CPU cores to pin to (0 = all)."),
    width: int = typer.Option(640),
    height: int = typer.Option(480),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of a table."),
):
    """Milliseconds per depth and RGB frame for each renderer (median of many frames)."""
    from .bench.render_bench import run_render_bench
    res = run_render_bench(frames=frames, width=width, height=height, cores=cores or None)
    if as_json:
        print(json.dumps(res, indent=2))
        return
    t = Table(title=f"render {res['image']}, CPUs {res['cpus']}, llvmpipe threads {res['llvmpipe_threads']}, "
                    f"{res['date_utc']} UTC")
    for col in ("renderer", "output", "frames", "median ms", "p90 ms", "fps"):
        t.add_column(col, justify="right" if col not in ("renderer", "output") else "left")
    for r in res["results"]:
        if "error" in r:
            t.add_row(r["renderer"], "unavailable", "", "", "", r["error"][:60])
        else:
            t.add_row(r["renderer"], r["output"], str(r["frames"]), f"{r['median_ms']:.2f}", f"{r['p90_ms']:.2f}",
                      f"{r['fps']:.1f}")
    console.print(t)
    for k, v in res["ratios"].items():
        console.print(f"{k}: {v:.1f}×")


@bench_app.command("quality")
def bench_quality(
    cores: int = typer.Option(1, help="CPU cores to pin to (0 = all)."),
    reference_grasps: int = typer.Option(8, help="Grasps labelled by the slow reference as well."),
    samples: int = typer.Option(25, help="Monte-Carlo samples per grasp."),
    gripper: str = typer.Option("robotiq_2f85", help="Gripper preset or JSON file."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of a table."),
):
    """Robust grasp labels per second per core: fast implementation beside the slow reference."""
    from .bench.quality_bench import run_quality_bench
    res = run_quality_bench(cores=cores or None, reference_grasps=reference_grasps, num_samples=samples,
                            gripper=gripper)
    if as_json:
        print(json.dumps(res, indent=2))
        return
    t = Table(title=f"robust quality ({res['samples_per_grasp']} samples/grasp), CPUs {res['cpus']}, "
                    f"{res['date_utc']} UTC")
    for col in ("implementation", "grasps", "seconds", "grasps/s"):
        t.add_column(col, justify="left" if col == "implementation" else "right")
    for r in res["results"]:
        t.add_row(r["implementation"], str(r["grasps"]), f"{r['seconds']:.2f}", f"{r['grasps_per_s']:.2f}")
    console.print(t)
    console.print(f"speed-up: {res['speedup']:.0f}×; largest robust-ε difference: "
                  f"{res['max_robust_eps_difference']:.2e}; positive fraction: {res['positive_fraction']:.1%}")


@bench_app.command("policy")
def bench_policy(
    model: str = typer.Option(..., help="A GQ-CNN model file (`grasplab train gqcnn`)."),
    data: Path = typer.Option(..., help="grasplab scenes (Jacquard layout with intrinsics), e.g. a `synth` folder."),
    depth: str = typer.Option("stereo", help="perfect or stereo depth."),
    frames: int = typer.Option(20, help="Plans timed per policy (interleaved)."),
    threads: int = typer.Option(2, help="CPU cores and torch threads."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of a table."),
):
    """Planning time of Dex-Net 2.0's sample-and-rank and cross-entropy policies on full frames."""
    from .bench.policy_bench import run_policy_bench
    from .datasets.scene_sources import load_scenes
    from .models.pretrained import resolve_model
    res = run_policy_bench(str(resolve_model(model)), load_scenes(data, "jacquard", depth), frames=frames,
                           threads=threads)
    if as_json:
        print(json.dumps(res, indent=2))
        return
    t = Table(title=f"GQ-CNN policies on {res['image']} frames, {res['threads']} threads, {res['date_utc']} UTC")
    for col in ("policy", "frames", "median ms", "p90 ms", "sampling ms", "grasps scored"):
        t.add_column(col, justify="left" if col == "policy" else "right")
    for r in res["results"]:
        t.add_row(r["policy"], str(r["frames"]), f"{r['median_ms']:.1f}", f"{r['p90_ms']:.1f}",
                  f"{r['sampling_median_ms']:.1f}", f"{r['grasps_scored']:.0f}")
    console.print(t)
    console.print(f"cross-entropy / sample-and-rank: {res['cem_over_rank']:.2f}×")


@bench_app.command("detect")
def bench_detect(
    model: Optional[str] = typer.Option(None, help="Model file or pretrained name (default: the fast GG-CNN, "
                                        "ggcnn-synth-depth)."),
    frames: int = typer.Option(200, help="Frames timed per pipeline (interleaved)."),
    distinct: int = typer.Option(20, help="Distinct rendered frames cycled through."),
    threads: int = typer.Option(2, help="CPU cores and torch threads."),
    reference_model: Optional[str] = typer.Option(None, help="Model the reference pipeline runs (default: the "
                                                  "same; give the teacher when timing a cheaper student)."),
    rerank: Optional[str] = typer.Option(None, help="Also time the detector followed by this crop re-ranker."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of a table."),
):
    """Whole-path detection time on 300×300 depth frames beside the GG-CNN reference pipeline."""
    from .bench.detect_bench import run_detect_bench
    from .models.pretrained import FAST, resolve_model
    ref = None if reference_model is None else str(resolve_model(reference_model))
    res = run_detect_bench(str(resolve_model(model or FAST)), frames=frames, distinct_frames=distinct, threads=threads,
                           reference_model_path=ref, rerank=rerank)
    if as_json:
        print(json.dumps(res, indent=2))
        return
    t = Table(title=f"detect {res['input']}, {res['architecture']}, {res['threads']} threads, torch {res['torch']}, "
                    f"{res['date_utc']} UTC")
    for col in ("pipeline", "frames", "median ms", "p90 ms", "fps"):
        t.add_column(col, justify="left" if col == "pipeline" else "right")
    for r in res["results"]:
        t.add_row(r["pipeline"], str(r["frames"]), f"{r['median_ms']:.2f}", f"{r['p90_ms']:.2f}", f"{r['fps']:.0f}")
    console.print(t)
    console.print(f"speed-up vs reference: {res['speedup_vs_reference']:.2f}× (network alone "
                  f"{res['network_speedup']:.2f}×, {res['network_gflop']['grasplab']:.2f} vs "
                  f"{res['network_gflop']['reference']:.2f} GFLOP); identical grasps: {res['identical_grasps']}; "
                  f"same top grasp: {res['same_top_grasp']}")


@app.command()
def demo(
    out: Path = typer.Option(Path("grasplab-demo"), help="Folder for scenes, demo.json and figures."),
    objects: int = typer.Option(8, help="Fresh procedural objects to render (two poses each)."),
    model: Optional[str] = typer.Option(None, help=MODEL_HELP),
    rerank: Optional[str] = typer.Option(None, help=RERANK_HELP),
):
    """Render fresh scenes, detect grasps with the pretrained model, score against analytic labels."""
    from .demo import DemoConfig, run_demo
    rep = run_demo(DemoConfig(objects=objects, model=model, rerank=rerank), out)
    t = Table(title=f"grasplab demo: {len(rep['scenes'])} fresh scenes, model {Path(rep['config']['model']).stem}")
    for col in ("object", "view", "positives", "top-1", "top-5", "q", "width cm"):
        t.add_column(col, justify="left" if col in ("object", "view") else "right", no_wrap=True)
    for r in rep["scenes"]:
        mark = (lambda ok: "[green]✓[/]" if ok else "[red]✗[/]") if r["positives"] else (lambda ok: "–")
        view, _, obj = r["scene"].partition("_")
        t.add_row(obj, view,
                  str(r["positives"]), mark(r["top1"]), mark(r["top5"]), f"{r['quality']:.2f}",
                  f"{r['width_cm']:.1f}" if r["width_cm"] is not None else "")
    console.print(t)
    a1, a5 = rep["top1"], rep["top5"]
    console.print(f"top-1 {a1['accuracy']:.1%} ({a1['correct']}/{a1['total']}, 95 % CI {a1['ci95'][0]:.0%}–"
                  f"{a1['ci95'][1]:.0%}); top-5 {a5['accuracy']:.1%}"
                  + (f"; {rep['scenes_without_labels']} scenes had no analytic positive and were not scored"
                     if rep["scenes_without_labels"] else ""))
    console.print(f"figures: {out / 'grasps.png'}; report: {out / 'demo.json'}")


@app.command("models")
def models_list(name: Optional[str] = typer.Argument(None, help="Show this model's card.")):
    """List the pretrained models shipped with grasplab (or print one model card)."""
    from .models import read_header
    from .models.pretrained import DEFAULT, available, model_card, resolve_model
    if name:
        resolve_model(name)
        console.print(model_card(name) or f"{name}: no model card")
        return
    names = available()
    if not names:
        console.print("no pretrained models installed")
        return
    t = Table(title="pretrained models (map models: --model NAME; crop re-rankers: --rerank NAME)")
    for col in ("name", "architecture", "inputs", "parameters", "summary"):
        t.add_column(col)
    for n in names:
        h = read_header(resolve_model(n))
        meta = h.get("metadata", {})
        pre = meta.get("preprocess") or meta.get("map_preprocess") or {}     # a re-ranker: its map model's
        t.add_row(n + (" (default)" if n == DEFAULT else ""), h["architecture"], pre.get("inputs", "?"),
                  str(meta.get("parameters", "?")), meta.get("summary", ""))
    console.print(t)


@export_app.command("onnx")
def export_onnx_cmd(
    model: Optional[str] = typer.Option(None, help=MODEL_HELP),
    out: Path = typer.Option(Path("model.onnx"), help="Output .onnx file."),
    input_px: Optional[int] = typer.Option(None, help="Input side in pixels (default: the model's)."),
):
    """Write the model as ONNX (fixed input size, any batch) with its grasplab metadata."""
    from .models.onnx_export import export_onnx
    from .models.pretrained import resolve_model
    path = export_onnx(resolve_model(model), out, input_px)
    console.print(f"wrote {path}; use it with grasplab predict --model {path} or onnxruntime")


@bench_app.command("synth")
def bench_synth(
    objects: str = typer.Option("procedural:16", help="Object source for the benchmark job."),
    workers: str = typer.Option("1,2", help="Worker counts to compare (Ray; 0 = serial in-process)."),
    views_per_pose: int = typer.Option(2),
    repeats: int = typer.Option(3, help="Interleaved repeats per worker count (medians reported)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of a table."),
):
    """Labelled GQ-CNN datapoints per second end to end, with 1 and with 2 workers."""
    from .bench.synth_bench import run_synth_bench
    res = run_synth_bench(objects, tuple(int(w) for w in workers.split(",")), views_per_pose, repeats=repeats)
    if as_json:
        print(json.dumps(res, indent=2))
        return
    t = Table(title=f"synth {res['objects']}, {res['views_per_pose']} views/pose, median of {res['repeats']} "
                    f"interleaved runs, {res['date_utc']} UTC")
    for col in ("workers", "datapoints", "wall s", "start-up s", "pool s", "shutdown s", "datapoints/s (wall)",
                "datapoints/s (pool)"):
        t.add_column(col, justify="right")
    for r in res["results"]:
        t.add_row(str(r["workers"]), str(r["datapoints"]), f"{r['wall_s']:.1f}", f"{r['startup_s']:.1f}",
                  f"{r['pool_s']:.1f}", f"{r['shutdown_s']:.1f}", f"{r['datapoints_per_s_wall']:.1f}",
                  f"{r['datapoints_per_s_pool']:.1f}")
    console.print(t)
    for k, v in res["scaling"].items():
        console.print(f"{k.replace('_', ' ')}: {v:.2f}×")


experiment_app = typer.Typer(no_args_is_help=True, help="Experiments that compare methods on one split.")
app.add_typer(experiment_app, name="experiment")


@experiment_app.command("semisup")
def experiment_semisup(
    data: Optional[Path] = typer.Option(None, help="Dataset folder; default: fresh grasplab synthetic scenes."),
    format: str = typer.Option("jacquard", "--format", help="jacquard (also grasplab scenes) or cornell."),
    depth: str = typer.Option("stereo", help="Jacquard depth image: perfect or stereo."),
    labelled_fraction: str = typer.Option("0.1", help="Fraction(s) of the training images whose labels are used; "
                                          "several (0.05,0.1,0.25,0.5,1) give the label-fraction curve."),
    seeds: Optional[int] = typer.Option(None, help="Seeds (labelled subsets and initialisations); default 3, "
                                        "2 with --quick."),
    methods: str = typer.Option(",".join(("ggcnn", "vqvae", "vae-flow", "joint")), help="Comma-separated methods."),
    protocol: str = typer.Option("objectwise", help="objectwise, or mahajan2020 (the paper's Cornell counts: 932 train, 104 labelled, "
                                  "103 test; the last 103 images test)."),
    inputs: str = typer.Option("rgbd", help="depth, rgb or rgbd."),
    crop: str = typer.Option("auto", help="object (a fixed half of the view around the object mask), center, "
                             "resize (the whole image), or auto: object where the data has masks, else center. "
                             "Never from the labels."),
    ood: list[Path] = typer.Option([], "--ood", help="Folder of out-of-distribution frames for quality-map figures "
                                   "(Jacquard folder, or depth_N.npy/.tiff/.png + color_N.png [+ segmask_N.png]); repeatable."),
    quick: bool = typer.Option(False, "--quick", help="Fewer objects, epochs and steps (minutes on 2 cores)."),
    device: Optional[str] = typer.Option(None, help="Training device (cpu, cuda); default: CUDA when available."),
    out: Path = typer.Option(Path("grasplab-semisup"), help="Folder for results.{md,csv,json}, models, figures; "
                             "a second run into it resumes."),
):
    """GG-CNN on the labelled images vs. grasp networks on a VQ-VAE / flow VAE trained on all images."""
    from .datasets.scene_sources import load_scenes
    from .evaluation.ood_maps import load_ood_frames
    from .training.semisup import QUICK, SemisupConfig, run_semisup
    try:
        fractions = tuple(float(f) for f in labelled_fraction.split(",") if f.strip())
    except ValueError:
        raise ConfigError(f"--labelled-fraction {labelled_fraction!r}: give numbers such as 0.1 or 0.05,0.1,0.25") from None
    cfg = SemisupConfig(labelled_fractions=fractions, seeds=seeds or (2 if quick else 3), inputs=inputs,
                        protocol=protocol, crop=crop,
                        methods=tuple(m.strip() for m in methods.split(",") if m.strip()),
                        **(QUICK if quick else {}))
    ood_frames = [load_ood_frames(p, depth) for p in ood]          # read before hours of training
    if data is None:
        from .quality import QualityConfig
        from .synth import SynthConfig, run_synth
        data = out / "data"
        run_synth(SynthConfig(objects=f"procedural:{30 if quick else 200}", seed=2020, formats=("jacquard",),
                              grasps_per_object=200 if quick else 450, gripper="robotiq_2f85", camera="jacquard",
                              quality=QualityConfig(positive_threshold=0.001)), data, workers=0)
    rep = run_semisup(load_scenes(data, format, depth), cfg, out, ood=ood_frames, device=device)
    t = Table(title=f"semi-supervised grasp detection, {rep['test_images']} test images, {cfg.seeds} seed(s)")
    for col in ("labelled", "method", "images", "top-1 mean ± std", "pooled 95 % CI"):
        t.add_column(col)
    for s in rep["summary"]:
        t.add_row(f"{s['labelled_fraction']:g}", s["method"], str(s["labelled_images"]),
                  f"{s['top1_mean']:.1%} ± {s['top1_std']:.1%}", f"{s['pooled_ci95'][0]:.0%}–{s['pooled_ci95'][1]:.0%}")
    console.print(t)
    console.print(f"results: {out / 'results.md'}, {out / 'results.csv'}, figures in {out / 'figures'}; "
                  f"{rep['wall_s']:.0f} s")


@experiment_app.command("semisup-figures")
def experiment_semisup_figures(
    out: Path = typer.Option(..., help="Folder of a finished `grasplab experiment semisup` run."),
    ood: list[Path] = typer.Option(..., "--ood", help="Frames folder (as for `experiment semisup --ood`); repeatable."),
    depth: str = typer.Option("stereo", help="Jacquard depth image: perfect or stereo."),
):
    """Draw a finished experiment's quality maps on other out-of-distribution frames."""
    from .evaluation.ood_maps import load_ood_frames
    from .training.semisup import draw_ood_figures
    for p in draw_ood_figures(out, None, [load_ood_frames(p, depth) for p in ood]):
        console.print(f"wrote {p}")


def main(argv: Optional[list[str]] = None) -> None:
    try:
        app(args=argv, prog_name="grasplab")
    except GrasplabError as e:
        err_console.print(f"[bold red]error:[/] {e}", highlight=False)
        sys.exit(2)


if __name__ == "__main__":
    main()
