"""The ``grasplab`` command: a thin shell over the package (everything is reachable from Python)."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from .errors import GrasplabError

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="grasplab: parallel-jaw grasp detection in depth and RGB-D images.")
objects_app = typer.Typer(no_args_is_help=True, help="Procedural and mesh objects.")
bench_app = typer.Typer(no_args_is_help=True, help="Benchmarks (print a table, or JSON with --json).")
app.add_typer(objects_app, name="objects")
app.add_typer(bench_app, name="bench")
console = Console()
err_console = Console(stderr=True)


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


def main(argv: Optional[list[str]] = None) -> None:
    try:
        app(args=argv, prog_name="grasplab")
    except GrasplabError as e:
        err_console.print(f"[bold red]error:[/] {e}", highlight=False)
        sys.exit(2)


if __name__ == "__main__":
    main()
