"""``grasplab render``, ``synth`` and ``dataset``: rendering objects, synthesising labelled
datasets from a preset recipe, and looking at what was made."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional

import typer

from .common import comma_list, console, table

MIN_USEFUL_POSITIVE_FRACTION = 0.005      # below this a synthesised dataset is reported as unusable (exit 2)

dataset_group = typer.Typer(no_args_is_help=True, help="Inspect synthesised datasets.")


def render(
    objects: str = typer.Option("procedural:8", help="procedural:N[:fam1,fam2] or meshes:DIR"),
    views: int = typer.Option(4, help="Views per object (each picks a stable pose by its probability)."),
    seed: int = typer.Option(0, help="Random seed: the same seed gives the same images."),
    out: Path = typer.Option(Path("grasplab-render"), help="Output folder (resumes if it holds this job)."),
    renderer: str = typer.Option("auto", help="auto (MuJoCo, else ray casting), mujoco or raycast."),
    camera: str = typer.Option("dexnet2", help="Camera preset: dexnet2 (600×600) or primesense (640×480)."),
    scale: float = typer.Option(1.0, help="Scale applied to mesh files (0.001 for millimetres)."),
    gamma_shape: Optional[float] = typer.Option(None, help="Multiplicative Gamma noise shape (0 = off; "
                                                "default Dex-Net 2.0's, presets/dexnet2.json)."),
    gp_sigma: Optional[float] = typer.Option(None, help="Gaussian-process depth noise σ in metres (0 = off; "
                                             "default Dex-Net 2.0's)."),
    dropout: float = typer.Option(0.0, help="Fraction of depth pixels dropped at random."),
    edge_dropout: float = typer.Option(0.0, help="Probability of dropping a pixel at a depth edge."),
    style: str = typer.Option("plain", help="Scene style: plain, textured, distractors, lighting or cornell (all three)."),
):
    """Render objects on a table: per view RGB, noisy + perfect depth (m), mask and camera JSON."""
    from ..scene import DepthNoiseConfig
    from ..synth import RenderJobConfig, run_render_job
    given = {"gamma_shape": gamma_shape, "gp_sigma_m": gp_sigma}
    noise = DepthNoiseConfig(dropout_rate=dropout, edge_dropout_rate=edge_dropout,
                             **{k: v for k, v in given.items() if v is not None})
    cfg = RenderJobConfig(objects=objects, views=views, seed=seed, renderer=renderer, camera=camera,
                          noise=noise, mesh_scale=scale, style=style)
    res = run_render_job(cfg, out)
    console.print(f"[green]rendered[/] {res.views_written} views ({res.views_skipped} already done) of "
                  f"{len(res.objects_ok)} objects with the {res.renderer} renderer into {out}")
    if res.failures:
        console.print(f"[yellow]{len(res.failures)} objects skipped[/] (see {out / 'objects.json'})")
    _print_repairs(res.repaired, out)
    if res.contact_sheet:
        console.print(f"contact sheet: {res.contact_sheet}")


def _print_repairs(repaired: dict, out: Path) -> None:
    """Which meshes were repaired on loading, and how (also in objects.json)."""
    if repaired:
        console.print(f"{len(repaired)} meshes repaired on loading (see {out / 'objects.json'}):", soft_wrap=True)
        for key, notes in list(repaired.items())[:10]:
            console.print(f"  {key}: {'; '.join(notes)}", soft_wrap=True)


def synth(
    preset: str = typer.Option("dexnet2", help="The recipe the other options change (see grasplab/presets/): "
                               "dexnet2 (YuMi, Dex-Net 2.0's camera, robust ε > 0.002, GQ-CNN + Jacquard formats) or "
                               "jacquard-like (Robotiq 2F-85, Jacquard-like camera, ε > 0.001, 450 candidates: the "
                               "pretrained models' data)."),
    objects: Optional[str] = typer.Option(None, help="procedural:N[:fam1,fam2] or meshes:DIR (default: the preset's; "
                                          "dexnet2: procedural:8)."),
    out: Path = typer.Option(Path("grasplab-synth"), help="Output folder (resumes if it holds this job)."),
    format: Optional[str] = typer.Option(None, "--format", help="Comma-separated: gqcnn, jacquard (default: the preset's)."),
    views_per_pose: Optional[int] = typer.Option(None, help="Rendered views per stable pose (default 2)."),
    max_poses: Optional[int] = typer.Option(None, help="Likeliest stable poses used per object (default 3)."),
    grasps: Optional[int] = typer.Option(None, help="Antipodal candidates per object, shared among its poses "
                                         "(default: the preset's; dexnet2: 100)."),
    seed: Optional[int] = typer.Option(None, help="Global seed: the same seed gives the same dataset for any --workers "
                                       "(default: the preset's; dexnet2: 0)."),
    gripper: Optional[str] = typer.Option(None, help="Gripper preset (yumi, robotiq_2f85) or JSON file (default: the preset's)."),
    camera: Optional[str] = typer.Option(None, help="Camera preset: dexnet2, primesense, jacquard, phoxi or phoxi-full (default: the preset's)."),
    renderer: str = typer.Option("auto", help="auto, mujoco or raycast."),
    threshold: Optional[float] = typer.Option(None, help="Robust ε above which a grasp is positive (default: the "
                                              "preset's; Dex-Net 2.0: 0.002)."),
    samples: Optional[int] = typer.Option(None, help="Monte-Carlo samples per robust label (default 25)."),
    scale: float = typer.Option(1.0, help="Scale for mesh files (0.001 for millimetres)."),
    workers: int = typer.Option(-1, help="Ray workers (-1: one per CPU; 0: serial, in this process)."),
    address: Optional[str] = typer.Option(None, help="Address of an existing Ray cluster."),
    shard: Optional[str] = typer.Option(None, help="K/N: only objects i % N == K (N processes or machines share "
                                        "--out; a last run without --shard writes the tensors and splits)."),
    heaps: int = typer.Option(0, help="Clutter heaps: objects dropped by physics onto the table, every object's "
                              "grasps labelled against its neighbours too (a later run may add heaps)."),
    heap_objects: str = typer.Option("1-10", help="Objects per heap: N, or MIN-MAX drawn uniformly."),
    singles: bool = typer.Option(True, "--singles/--no-singles", help="Also make single objects in their stable "
                                 "poses (the default), or heaps only."),
    style: str = typer.Option("plain", help="Scene style: plain, textured (patterned table), distractors (primitives "
                              "beyond the gripper's reach), lighting (varied light), cornell (all three)."),
    labels: bool = typer.Option(True, "--labels/--no-labels", help="--no-labels: render frames only (unlabelled "
                                "Jacquard-layout scenes for semi-supervised learning; --format jacquard)."),
    label_cache: Optional[Path] = typer.Option(None, help="A folder that keeps single objects' grasp labels: another "
                                               "synthesis of the same objects and label settings (another --style, "
                                               "--camera or view count) reads them instead of labelling again."),
):
    """Synthesise labelled grasp datasets (GQ-CNN tensors, Jacquard-layout scenes) from objects,
    singly or in clutter heaps."""
    from ..synth import SynthConfig, run_synth
    from ..synth.dataset_job import parse_shard
    quality = {k: v for k, v in (("positive_threshold", threshold), ("num_samples", samples)) if v is not None}
    cfg = SynthConfig.from_preset(preset, objects=objects, seed=seed, renderer=renderer, mesh_scale=scale,
                                  formats=None if format is None else comma_list(format, what="formats", option="--format"),
                                  views_per_pose=views_per_pose, max_poses=max_poses, grasps_per_object=grasps,
                                  gripper=gripper, camera=camera, quality=quality or None, heaps=heaps,
                                  heap_objects=parse_count_range(heap_objects, "--heap-objects"), singles=singles,
                                  style=style, labels=labels)
    if workers < -1:
        from ..errors import ConfigError
        raise ConfigError(f"--workers {workers}: give -1 (one per CPU), 0 (serial, in this process) or a number of "
                          f"Ray workers")
    n_workers = (os.cpu_count() or 1) if workers < 0 else workers
    res = run_synth(cfg, out, workers=n_workers, address=address, shard=parse_shard(shard), label_cache=label_cache)
    if not cfg.labels:
        n_views = len(list((out / "jacquard").glob("*/*_grasps.json")))
        console.print(f"[green]rendered[/] {n_views} unlabelled views of {res.objects} objects "
                      f"({cfg.style} style) into {out / 'jacquard'}", soft_wrap=True)
        return
    console.print(f"[green]synthesised[/] {res.datapoints} datapoints ({res.positive_fraction:.1%} positive) from "
                  f"{res.objects} objects: {res.units_run} units (object poses{' and heaps' if heaps else ''}) made now, {res.units_skipped} already done, "
                  f"into {out}", soft_wrap=True)
    if res.failures:
        console.print(f"[yellow]{len(res.failures)} objects skipped[/] (see {out / 'objects.json'})", soft_wrap=True)
    _print_repairs(res.repaired, out)
    wider = ("a wider gripper (--gripper robotiq_2f85, or --preset jacquard-like: the pretrained models' recipe)"
             if cfg.gripper != "robotiq_2f85" else "smaller objects (--scale) or a wider gripper (a JSON file)")
    if res.no_grasps:
        console.print(f"[yellow]{len(res.no_grasps)} of {res.objects} objects gave no grasp candidate[/] (too wide "
                      f"for the {cfg.gripper} gripper in every pose; see {out / 'objects.json'}); try {wider}",
                      soft_wrap=True)
    if shard is None and res.datapoints and res.positive_fraction < MIN_USEFUL_POSITIVE_FRACTION:
        from ..errors import GrasplabError
        raise GrasplabError(f"{out}: only {res.positives} of {res.datapoints} datapoints are positive (robust ε > "
                            f"{cfg.quality.positive_threshold:g}): too few to train on. Try {wider}, or a lower "
                            f"--threshold; the data is kept, and the same command resumes it")


def parse_count_range(text: str, option: str) -> tuple[int, int]:
    """``"5"`` → (5, 5); ``"2-8"`` → (2, 8)."""
    lo, sep, hi = text.partition("-")
    try:
        a, b = int(lo), int(hi) if sep else int(lo)
    except ValueError:
        from ..errors import ConfigError
        raise ConfigError(f"{option} {text!r}: give a count N or a range MIN-MAX (e.g. 5 or 1-10)") from None
    return a, b


@dataset_group.command("stats")
def dataset_stats(path: Path = typer.Argument(..., help="A synth output folder or a GQ-CNN tensor dataset."),
                  as_json: bool = typer.Option(False, "--json")):
    """Counts and positive fractions, overall, per object and per family."""
    from ..datasets.inspect import dataset_stats as stats_fn
    st = stats_fn(path)
    if as_json:
        print(json.dumps(st, indent=2))
        return
    rows = [[f"family {name}", r["datapoints"], f"{r['positive_fraction']:.1%}", f"{r['collision_free_fraction']:.1%}"]
            for name, r in st["per_family"].items()]
    rows += [[name, r["datapoints"], f"{r['positive_fraction']:.1%}", f"{r['collision_free_fraction']:.1%}"]
             for name, r in st["per_object"].items()]
    console.print(table(f"{path}: {st['datapoints']} datapoints, {st['positive_fraction']:.1%} positive "
                        f"(robust ε > {st['threshold']})", ["group", "datapoints", "positive", "collision-free"],
                        rows, left=("group",)))
    for split, sizes in st["splits"].items():
        console.print(f"split {split}: {sizes['train']} train / {sizes['val']} val")


@dataset_group.command("show")
def dataset_show(path: Path = typer.Argument(..., help="A synth output folder, GQ-CNN dataset or Jacquard folder."),
                 out: Path = typer.Option(Path("dataset.png"), help="Output PNG."),
                 count: int = typer.Option(6, help="How many scenes (or 8× as many crops).")):
    """Draw scenes with positive (green) and negative (red) grasps, or a grid of labelled crops."""
    from ..datasets.inspect import show_dataset
    for p in show_dataset(path, out, count):
        console.print(f"wrote {p}")


def register(app: typer.Typer) -> None:
    app.command()(render)
    app.command()(synth)
    app.add_typer(dataset_group, name="dataset")
