"""``grasplab trial``: simulated grasp trials in MuJoCo for any policy (or the oracle)."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional

import typer

from .common import CLEARANCE_HELP, MODEL_HELP, RERANK_HELP, comma_list, console, make_policy


def trial(
    policy: str = typer.Option("map", help="The policy under test: a registered name (see `grasplab policies`), a "
                               "policy spec file, or `oracle` (the most robust collision-free mesh grasp)."),
    model: Optional[str] = typer.Option(None, help=MODEL_HELP),
    rerank: Optional[str] = typer.Option(None, help=RERANK_HELP),
    objects: str = typer.Option("procedural:20", help="procedural:N[:families], or meshes:DIR (OBJ/STL/PLY)."),
    protocol: str = typer.Option("singulated", help="singulated (K trials per object), clutter (clear heaps of "
                                 "objects dropped by physics) or labels (execute labelled mesh grasps: do the analytic "
                                 "labels predict success?)."),
    trials: int = typer.Option(5, help="Trials per object (clutter: heaps per size; labels: settled poses per object)."),
    heap_sizes: str = typer.Option("5,10", help="--protocol clutter: objects per heap, comma-separated."),
    heap_bin: float = typer.Option(0.2, help="--protocol clutter: heaps fall into a bin this wide (metres), taken "
                                   "away once they rest (VGN's piles); 0 drops them freely (the protocol before "
                                   "2026-12-07, whose 10-object heaps kept ~6.6 objects in the workspace)."),
    keep_bin: float = typer.Option(0.0, help="--protocol clutter: the bin stays, its walls this high (metres, e.g. "
                                   "0.1), and the heap is picked from it (bin picking, as in Dex-Net 4.0's frames); "
                                   "0: taken away."),
    grasps: int = typer.Option(40, help="--protocol labels: labelled mesh grasps executed per settled pose."),
    preset: str = typer.Option("jacquard-like", help="Synthesis preset whose gripper, camera, depth noise and friction "
                               "model the trials use (the recipe the policy was trained on)."),
    gripper: Optional[str] = typer.Option(None, help="The simulated gripper, whose opening the policy's grasps must "
                                          "fit: yumi, robotiq_2f85 or a gripper JSON (with grip_force_n). Default: "
                                          "the preset's."),
    camera: Optional[str] = typer.Option(None, help="Camera preset (dexnet2, primesense, jacquard). Default: the preset's."),
    clearance: bool = typer.Option(False, "--clearance", help=CLEARANCE_HELP.replace("--gripper's", "the trial's")),
    no_mask: bool = typer.Option(False, "--no-mask", help="Do not give the policy the object mask."),
    open_fully: bool = typer.Option(False, "--open-fully", help="Approach with the gripper fully open (default: the "
                                    "planned width plus the gripper's margin)."),
    scale: float = typer.Option(1.0, help="Mesh scale (0.001 for meshes in millimetres)."),
    seed: int = typer.Option(0, help="Seed: the same seed gives the same trials for any --workers."),
    out: Path = typer.Option(Path("grasplab-trials"), help="Output folder (resumed when run again)."),
    workers: int = typer.Option(0, help="Ray workers (0: serial, in this process; -1: one per CPU)."),
    address: Optional[str] = typer.Option(None, help="Address of an existing Ray cluster."),
    video: int = typer.Option(0, help="Record the first K trials of each object as GIF videos."),
    json_out: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
):
    """Run grasp trials in MuJoCo: settle, render, plan with the policy, execute, lift, shake."""
    from ..errors import ConfigError
    from ..trials.job import ORACLE, TrialJobConfig, run_trial_job
    from ..trials.report import write_report
    from ..trials.trial import TrialConfig
    if workers < -1:
        raise ConfigError(f"--workers {workers}: give -1 (one per CPU), 0 (serial) or a number of Ray workers")
    from dataclasses import replace
    tcfg = TrialConfig.from_preset(preset, gripper=gripper, camera=camera, use_mask=not no_mask)
    if not 0 <= heap_bin <= 1:
        raise ConfigError(f"--heap-bin {heap_bin}: give the bin's inner width in metres (e.g. 0.2), or 0 for none")
    if keep_bin and not heap_bin:
        raise ConfigError(f"--keep-bin {keep_bin}: a kept bin needs --heap-bin (its inner width, e.g. 0.3)")
    if not 0 <= keep_bin <= 0.5:
        raise ConfigError(f"--keep-bin {keep_bin}: give the walls' height in metres (e.g. 0.1), or 0 for no bin")
    tcfg = replace(tcfg, execution=replace(tcfg.execution, open_fully=open_fully), heap_bin_m=heap_bin or None,
                   keep_bin_m=keep_bin or None)
    if policy == ORACLE:
        if model or rerank or clearance:
            raise ConfigError("the oracle reads the mesh labels: it takes no --model, --rerank or --clearance")
        spec = {"policy": ORACLE}
    else:
        spec = make_policy(policy, model, clearance=tcfg.gripper if clearance else None, rerank=rerank,
                           gripper=_policy_gripper(policy, model, tcfg.gripper)).spec()
    cfg = TrialJobConfig(policy=spec, objects=objects, protocol=protocol, trials=trials, seed=seed, mesh_scale=scale,
                         videos=video, grasps_per_trial=grasps, trial=tcfg,
                         heap_sizes=comma_list(heap_sizes, int, "whole numbers", "--heap-sizes"))
    n_workers = (os.cpu_count() or 1) if workers < 0 else workers
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
    with Progress(TextColumn("[bold]trials"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
                  TimeRemainingColumn(), console=console, transient=True) as bar:
        task = bar.add_task("", total=None)
        done = {"n": 0, "ok": 0}

        def progress(rec: dict) -> None:
            done["n"] += 1
            done["ok"] += rec.get("outcome") == "success"
            bar.update(task, advance=1, description=f"{done['ok']} of {done['n']} succeeded")
        records = run_trial_job(cfg, out, workers=n_workers, address=address, progress=progress)
    summary = write_report(out, records)
    if json_out:
        console.print_json(json.dumps(summary))
        return
    console.print((out / "results.md").read_text(), highlight=False, markup=False, soft_wrap=True)
    console.print(f"written to {out}/ (results.md, results.json, figures/)")


def trial_table(
    runs: list[Path] = typer.Argument(..., help="Trial output folders (`grasplab trial --out`), one per policy."),
    oracle: Optional[Path] = typer.Option(None, help="An oracle run on the same objects and seed: adds each policy's "
                                          "success on the trials the oracle could grasp."),
    out: Optional[Path] = typer.Option(None, help="Also write the table as Markdown to this file."),
):
    """Policies side by side on the same trials: success, Wilson interval, failures, planning time; and
    each run paired against the first over the trials or heaps both ran (change, standard error)."""
    from ..trials.report import compare_runs
    md = compare_runs(runs, oracle)
    if out is not None:
        from ..storage import atomic_write
        atomic_write(out, lambda p: p.write_text(md))
    console.print(md, highlight=False, markup=False, soft_wrap=True)


def _policy_gripper(policy: str, model: Optional[str], gripper: str) -> Optional[str]:
    """The trial's gripper for policies that take one (their grasps must fit its opening)."""
    from ..policies import policy_options
    name = {"rank": "gqcnn-rank", "cem": "gqcnn-cem"}.get(policy, policy)
    try:
        return gripper if "gripper" in policy_options(name) else None
    except Exception:                  # a spec file or an unknown name: load_policy explains
        return None


def register(app: typer.Typer) -> None:
    app.command()(trial)
    app.command("trial-table")(trial_table)
