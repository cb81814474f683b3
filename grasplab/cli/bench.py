"""``grasplab bench``: benchmarks that print a table (or JSON) measured side by side in one run."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from .common import comma_list, console, table

group = typer.Typer(no_args_is_help=True, help="Benchmarks (print a table, or JSON with --json).")
JSON_HELP = "Print one JSON object instead of a table."


@group.command("render")
def bench_render(
    frames: int = typer.Option(200, help="Frames timed per renderer and output (ray casting: a fifth)."),
    cores: int = typer.Option(1, help="CPU cores to pin to (0 = all)."),
    width: int = typer.Option(640),
    height: int = typer.Option(480),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
):
    """Milliseconds per depth and RGB frame for each renderer (median of many frames)."""
    from ..bench.render_bench import run_render_bench
    res = run_render_bench(frames=frames, width=width, height=height, cores=cores or None)
    if as_json:
        print(json.dumps(res, indent=2))
        return
    rows = [[r["renderer"], "unavailable", "", "", "", r["error"][:60]] if "error" in r else
            [r["renderer"], r["output"], r["frames"], f"{r['median_ms']:.2f}", f"{r['p90_ms']:.2f}", f"{r['fps']:.1f}"]
            for r in res["results"]]
    console.print(table(f"render {res['image']}, CPUs {res['cpus']}, llvmpipe threads {res['llvmpipe_threads']}, "
                        f"{res['date_utc']} UTC", ["renderer", "output", "frames", "median ms", "p90 ms", "fps"], rows,
                        left=("renderer", "output")))
    for k, v in res["ratios"].items():
        console.print(f"{k}: {v:.1f}×")


@group.command("quality")
def bench_quality(
    cores: int = typer.Option(1, help="CPU cores to pin to (0 = all)."),
    reference_grasps: int = typer.Option(8, help="Grasps labelled by the slow reference as well."),
    samples: int = typer.Option(25, help="Monte-Carlo samples per grasp."),
    gripper: str = typer.Option("robotiq_2f85", help="Gripper preset or JSON file."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
):
    """Robust grasp labels per second per core: fast implementation beside the slow reference."""
    from ..bench.quality_bench import run_quality_bench
    res = run_quality_bench(cores=cores or None, reference_grasps=reference_grasps, num_samples=samples,
                            gripper=gripper)
    if as_json:
        print(json.dumps(res, indent=2))
        return
    rows = [[r["implementation"], r["grasps"], f"{r['seconds']:.2f}", f"{r['grasps_per_s']:.2f}"] for r in res["results"]]
    console.print(table(f"robust quality ({res['samples_per_grasp']} samples/grasp), CPUs {res['cpus']}, "
                        f"{res['date_utc']} UTC", ["implementation", "grasps", "seconds", "grasps/s"], rows,
                        left=("implementation",)))
    console.print(f"speed-up: {res['speedup']:.0f}×; largest robust-ε difference: "
                  f"{res['max_robust_eps_difference']:.2e}; positive fraction: {res['positive_fraction']:.1%}")


@group.command("policy")
def bench_policy(
    model: Optional[str] = typer.Option(None, help="A GQ-CNN model file or pretrained name (default: the shipped "
                                        "GQ-CNN)."),
    data: Path = typer.Option(..., help="grasplab scenes (Jacquard layout with intrinsics), e.g. a `synth` folder."),
    depth: str = typer.Option("stereo", help="perfect or stereo depth."),
    frames: int = typer.Option(20, help="Plans timed per policy (interleaved)."),
    threads: int = typer.Option(2, help="CPU cores and torch threads."),
    masks: bool = typer.Option(True, "--masks/--no-masks", help="Give the scenes' object masks (default), or plan "
                               "on what stands above the table."),
    clearance: Optional[str] = typer.Option(None, help="Also time each policy behind the approach-clearance check "
                                            "for this gripper (robotiq_2f85, yumi or a gripper JSON)."),
    also: Optional[list[Path]] = typer.Option(None, help="Also time this policy spec file (.json, e.g. the FC-GQ-CNN "
                                              "with other options), named by its file name; repeatable."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
):
    """Planning time of the Dex-Net policies (FC-GQ-CNN, sample-and-rank, cross-entropy) on full
    frames, interleaved, against their targets."""
    from ..bench.policy_bench import run_policy_bench
    from ..datasets.scene_sources import load_scenes
    from ..models.pretrained import DEFAULT_GQCNN, resolve_model
    res = run_policy_bench(str(resolve_model(model or DEFAULT_GQCNN)), load_scenes(data, "jacquard", depth),
                           frames=frames, threads=threads, masks=masks, clearance=clearance,
                           extra={p.stem: p for p in also or []})
    if as_json:
        print(json.dumps(res, indent=2))
        return
    rows = [[r["policy"], r["frames"], f"{r['median_ms']:.1f}", f"{r['p90_ms']:.1f}", f"{r['sampling_median_ms']:.1f}",
             f"{r['grasps_scored']:.0f}", f"≤ {r['target_ms']:g}" if r["target_ms"] else "—",
             {True: "yes", False: "no", None: "—"}[r["meets_target"]]] for r in res["results"]]
    console.print(table(f"Dex-Net policies on {res['image']} frames ({'masks given' if masks else 'no masks'}), "
                        f"{res['threads']} threads, {res['date_utc']} UTC",
                        ["policy", "frames", "median ms", "p90 ms", "sampling ms", "grasps scored", "target ms", "met"],
                        rows, left=("policy",)))
    console.print("time / sample-and-rank: " + ", ".join(f"{m} {v:.2f}×" for m, v in res["ratios_to_rank"].items()))


@group.command("detect")
def bench_detect(
    model: Optional[str] = typer.Option(None, help="Model file or pretrained name (default: the fast GG-CNN, "
                                        "ggcnn-synth-depth)."),
    frames: int = typer.Option(200, help="Frames timed per pipeline (interleaved)."),
    distinct: int = typer.Option(20, help="Distinct rendered frames cycled through."),
    threads: int = typer.Option(2, help="CPU cores and torch threads."),
    reference_model: Optional[str] = typer.Option(None, help="Model the reference pipeline runs (default: the "
                                                  "same; give the teacher when timing a cheaper student)."),
    rerank: Optional[str] = typer.Option(None, help="Also time the map policy followed by this crop re-ranker."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
):
    """Whole-path planning time on 300×300 depth frames beside the GG-CNN reference pipeline."""
    from ..bench.detect_bench import run_detect_bench
    from ..models.pretrained import FAST, resolve_model
    ref = None if reference_model is None else str(resolve_model(reference_model))
    res = run_detect_bench(str(resolve_model(model or FAST)), frames=frames, distinct_frames=distinct, threads=threads,
                           reference_model_path=ref, rerank=rerank)
    if as_json:
        print(json.dumps(res, indent=2))
        return
    rows = [[r["pipeline"], r["frames"], f"{r['median_ms']:.2f}", f"{r['p90_ms']:.2f}", f"{r['fps']:.0f}"]
            for r in res["results"]]
    console.print(table(f"detect {res['input']}, {res['architecture']}, {res['threads']} threads, torch "
                        f"{res['torch']}, {res['date_utc']} UTC", ["pipeline", "frames", "median ms", "p90 ms", "fps"],
                        rows, left=("pipeline",)))
    console.print(f"speed-up vs reference: {res['speedup_vs_reference']:.2f}× (network alone "
                  f"{res['network_speedup']:.2f}×, {res['network_gflop']['grasplab']:.2f} vs "
                  f"{res['network_gflop']['reference']:.2f} GFLOP); identical grasps: {res['identical_grasps']}; "
                  f"same top grasp: {res['same_top_grasp']}")


@group.command("synth")
def bench_synth(
    objects: str = typer.Option("procedural:16", help="Object source for the benchmark job."),
    workers: str = typer.Option("1,2", help="Worker counts to compare (Ray; 0 = serial in-process)."),
    views_per_pose: int = typer.Option(2),
    repeats: int = typer.Option(3, help="Interleaved repeats per worker count (medians reported)."),
    heaps: int = typer.Option(0, help="Clutter instead of single objects: this many heaps of --heap-objects."),
    heap_objects: int = typer.Option(5, help="Objects per heap (with --heaps)."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
):
    """Labelled GQ-CNN datapoints per second end to end, with 1 and with 2 workers (single objects,
    or clutter heaps with --heaps)."""
    from ..bench.synth_bench import run_synth_bench
    res = run_synth_bench(objects, comma_list(workers, int, "worker counts"), views_per_pose, repeats=repeats,
                          heaps=heaps, heap_objects=heap_objects)
    if as_json:
        print(json.dumps(res, indent=2))
        return
    rows = [[r["workers"], r["datapoints"], f"{r['wall_s']:.1f}", f"{r['startup_s']:.1f}", f"{r['pool_s']:.1f}",
             f"{r['shutdown_s']:.1f}", f"{r['datapoints_per_s_wall']:.1f}", f"{r['datapoints_per_s_pool']:.1f}"]
            for r in res["results"]]
    what = f"{res['heaps']} heaps of {res['heap_objects']} from {res['objects']}" if res["heaps"] else res["objects"]
    console.print(table(f"synth {what}, {res['views_per_pose']} views/{'heap' if res['heaps'] else 'pose'}, median of {res['repeats']} "
                        f"interleaved runs, {res['date_utc']} UTC",
                        ["workers", "datapoints", "wall s", "start-up s", "pool s", "shutdown s", "datapoints/s (wall)",
                         "datapoints/s (pool)"], rows))
    for k, v in res["scaling"].items():
        console.print(f"{k.replace('_', ' ')}: {v:.2f}×")


@group.command("trial")
def bench_trial(
    trials: int = typer.Option(5, help="Trials per procedural family."),
    cores: int = typer.Option(1, help="CPU cores to pin to (0 = all)."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
):
    """Milliseconds of simulation per singulated grasp trial (build, settle, execute; planning excluded)."""
    from ..bench.trial_bench import run_trial_bench
    res = run_trial_bench(trials=trials, cores=cores or None)
    if as_json:
        print(json.dumps(res, indent=2))
        return
    rows = [[f, r["trials"], f"{r['median_setup_ms']:.1f}", f"{r['median_execute_ms']:.1f}", f"{r['median_total_ms']:.1f}",
             r["successes"]] for f, r in res["per_family"].items()]
    console.print(table(f"grasp trial simulation, CPUs {res['cpus']}, {res['date_utc']} UTC",
                        ["family", "trials", "build+settle ms", "execute ms", "total ms", "lifted"], rows,
                        left=("family",)))
    console.print(f"median {res['median_total_ms']:.1f} ms per trial (p90 {res['p90_total_ms']:.1f}), "
                  f"target ≤ {res['target_ms']:.0f} ms: {res['target_ms'] / res['median_total_ms']:.2f}× under it; "
                  f"{res['real_time_factor']:.0f}× faster than real time")


def register(app: typer.Typer) -> None:
    app.add_typer(group, name="bench")
