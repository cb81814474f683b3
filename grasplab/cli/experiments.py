"""``grasplab demo`` and ``grasplab experiment``: studies built on the layers below."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .common import (
    ACCELERATOR_HELP,
    DEVICES_HELP,
    MODEL_HELP,
    POLICY_HELP,
    RERANK_HELP,
    STRATEGY_HELP,
    comma_list,
    console,
    table,
)

group = typer.Typer(no_args_is_help=True, help="Experiments that compare methods on one split.")


def demo(
    out: Path = typer.Option(Path("grasplab-demo"), help="Folder for scenes, demo.json and figures."),
    objects: Optional[int] = typer.Option(None, help="Fresh procedural objects to render (two poses each; default 8)."),
    model: Optional[str] = typer.Option(None, help=MODEL_HELP),
    policy: Optional[str] = typer.Option(None, help=POLICY_HELP),
    rerank: Optional[str] = typer.Option(None, help=RERANK_HELP),
):
    """Render fresh scenes, plan grasps with a pretrained policy, score against analytic labels."""
    from ..experiments.demo import DemoConfig, run_demo
    rep = run_demo(DemoConfig(objects=objects, model=model, rerank=rerank, policy=policy), out)
    rows = []
    for r in rep["scenes"]:
        mark = (lambda ok: "[green]✓[/]" if ok else "[red]✗[/]")
        view, _, obj = Path(r["scene"]).name.partition("_")
        g = r["grasp"] or {}
        rows.append([r["family"], view, r["positives"], mark(r["top1"]), mark(r["top5"]), f"{r['score']:.2f}",
                     f"{g['width_m'] * 100:.1f}" if "width_m" in g else ""])
    pol = rep["config"]["policy"]
    model = pol["options"].get("model")
    console.print(table(f"grasplab demo: {len(rows)} fresh scenes, policy {pol['policy']}"
                        + (f" ({Path(model).stem})" if model else ""),
                        ["object", "view", "positives", "top-1", "top-5", "score", "width cm"], rows,
                        left=("object", "view")))
    a1, a5 = rep["top1"], rep["top5"]
    console.print(f"top-1 {a1['accuracy']:.1%} ({a1['correct']}/{a1['total']}, 95 % CI {a1['ci95'][0]:.0%}–"
                  f"{a1['ci95'][1]:.0%}); top-5 {a5['accuracy']:.1%}", soft_wrap=True)
    for name, why in rep.get("objects_without_scenes", {}).items():
        console.print(f"[yellow]left out[/] {name}: {why}", soft_wrap=True)
    for u in rep.get("unscored_scenes", []):
        top = (f"its top grasp: score {u['score']:.2f}" + (f", {u['width_m'] * 100:.1f} cm wide" if u["width_m"] else "")
               if u["score"] is not None else "no grasp found")
        console.print(f"[yellow]not scored[/] {Path(u['scene']).name}: no analytic positive in this view ({top})",
                      soft_wrap=True)
    console.print(f"figures: {out / 'grasps.png'}; report: {out / 'demo.json'}")


@group.command("semisup")
def experiment_semisup(
    data: Optional[Path] = typer.Option(None, help="Dataset folder; default: fresh grasplab synthetic scenes "
                                        "(the semisup preset; semisup-quick with --quick)."),
    format: str = typer.Option("jacquard", "--format", help="jacquard (also grasplab scenes) or cornell."),
    depth: str = typer.Option("stereo", help="Jacquard depth image: perfect or stereo."),
    labelled_fraction: str = typer.Option("0.1", help="Fraction(s) of the training images whose labels are used; "
                                          "several (0.05,0.1,0.25,0.5,1) give the label-fraction curve."),
    seeds: Optional[int] = typer.Option(None, help="Seeds (labelled subsets and initialisations); default 3, "
                                        "2 with --quick."),
    methods: str = typer.Option("ggcnn,vqvae,vae-flow,joint", help="Comma-separated methods: ggcnn, vqvae, vae-flow, "
                                "joint, pseudo (teacher–student pseudo-labels), consistency (symmetry consistency)."),
    protocol: str = typer.Option("objectwise", help="objectwise, or mahajan2020 (the paper's Cornell counts: 932 train, "
                                 "104 labelled, 103 test; the last 103 images test)."),
    inputs: str = typer.Option("rgbd", help="depth, rgb or rgbd."),
    crop: str = typer.Option("auto", help="object (a fixed half of the view around the object mask), center, "
                             "resize (the whole image), or auto: object where the data has masks, else center. "
                             "Never from the labels."),
    ood: list[Path] = typer.Option([], "--ood", help="Folder of out-of-distribution frames for quality-map figures "
                                   "(Jacquard folder, or depth_N.npy/.tiff/.png + color_N.png [+ segmask_N.png]); "
                                   "repeatable."),
    quick: bool = typer.Option(False, "--quick", help="Fewer objects, epochs and steps (minutes on 2 cores)."),
    accelerator: str = typer.Option("cpu", help=ACCELERATOR_HELP),
    devices: str = typer.Option("1", help=DEVICES_HELP),
    strategy: str = typer.Option("auto", help=STRATEGY_HELP),
    out: Path = typer.Option(Path("grasplab-semisup"), help="Folder for results.{md,csv,json}, models, figures; "
                             "a second run into it resumes."),
):
    """GG-CNN on the labelled images vs. grasp networks on a VQ-VAE / flow VAE trained on all images."""
    from ..datasets.scene_sources import load_scenes
    from ..evaluation.ood_maps import load_ood_frames
    from ..experiments.semisup import QUICK, SemisupConfig, run_semisup, synthesise_default_data
    cfg = SemisupConfig(labelled_fractions=comma_list(labelled_fraction, float, "numbers such as 0.1 or 0.05,0.1,0.25",
                                                           "--labelled-fraction"),
                        seeds=seeds or (2 if quick else 3), inputs=inputs, protocol=protocol, crop=crop,
                        methods=comma_list(methods), **(QUICK if quick else {}))
    ood_frames = [load_ood_frames(p, depth) for p in ood]          # read before hours of training
    data = data or synthesise_default_data(out, quick)
    rep = run_semisup(load_scenes(data, format, depth), cfg, out, ood=ood_frames, accelerator=accelerator,
                      devices=int(devices) if devices.isdigit() else devices, strategy=strategy)
    if rep is None:             # a data-parallel worker process: the main one reports
        return
    rows = [[f"{s['labelled_fraction']:g}", s["method"], s["labelled_images"], f"{s['top1_mean']:.1%} ± {s['top1_std']:.1%}",
             f"{s['pooled_ci95'][0]:.0%}–{s['pooled_ci95'][1]:.0%}"] for s in rep["summary"]]
    console.print(table(f"semi-supervised grasp detection, {rep['test_images']} test images, {cfg.seeds} seed(s)",
                        ["labelled", "method", "images", "top-1 mean ± std", "pooled 95 % CI"], rows,
                        left=("labelled", "method")))
    console.print(f"results: {out / 'results.md'}, {out / 'results.csv'}, figures in {out / 'figures'}; "
                  f"{rep['wall_s']:.0f} s")


@group.command("semisup-figures")
def experiment_semisup_figures(
    out: Path = typer.Option(..., help="Folder of a finished `grasplab experiment semisup` run."),
    ood: list[Path] = typer.Option(..., "--ood", help="Frames folder (as for `experiment semisup --ood`); repeatable."),
    depth: str = typer.Option("stereo", help="Jacquard depth image: perfect or stereo."),
):
    """Draw a finished experiment's quality maps on other out-of-distribution frames."""
    from ..evaluation.ood_maps import load_ood_frames
    from ..experiments.semisup import draw_ood_figures
    for p in draw_ood_figures(out, None, [load_ood_frames(p, depth) for p in ood]):
        console.print(f"wrote {p}")


@group.command("semisup-study")
def experiment_semisup_study(
    data: Optional[Path] = typer.Option(None, help="Labelled dataset folder (drops the scenes axis); default: "
                                        "grasplab scenes synthesised per style into OUT/data."),
    format: str = typer.Option("jacquard", "--format", help="jacquard (also grasplab scenes) or cornell."),
    depth: str = typer.Option("stereo", help="Jacquard depth image: perfect or stereo."),
    unlabelled: Optional[Path] = typer.Option(None, help="Folder of extra unlabelled frames (depth_N + color_N.png + "
                                              "segmask_N.png, or Jacquard layout) for the pools above 1×, instead "
                                              "of render-only synthesis."),
    axes: str = typer.Option(",".join(("pool", "input", "latent", "codebook", "encoder", "scenes")),
                             help="Comma-separated axes to sweep: pool, input, latent, codebook, encoder, scenes."),
    pools: Optional[str] = typer.Option(None, help="Unlabelled pool sizes in multiples of the training pool's "
                                        "images (default 1,4,16; --quick 1,4)."),
    cross_modal: Optional[str] = typer.Option(None, help="Inputs on which the pool axis also runs pseudo-labels from "
                                              "the depth GG-CNN at every pool (default rgb; --quick none; "
                                              "'none' to leave them out)."),
    labelled_fraction: float = typer.Option(0.1, help="Fraction of the training pool whose labels are used."),
    seeds: Optional[int] = typer.Option(None, help="Seeds per cell (default 3; --quick 2)."),
    quick: bool = typer.Option(False, "--quick", help="30 objects, 2 seeds, fewer steps and cells (≤ 15 min on 2 cores)."),
    full: bool = typer.Option(False, "--full", help="The whole grid (~35–40 min more on 2 cores): also pseudo-labels and consistency "
                              "on every input, 1024 codes, consistency on Cornell-like scenes."),
    device: str = typer.Option("cpu", help="cpu, or cuda (training on one GPU)."),
    workers: int = typer.Option(-1, help="Ray workers for synthesis (-1: one per CPU; 0: serial)."),
    out: Path = typer.Option(Path("grasplab-semisup-study"), help="Folder for study.{md,json}, rows, models, "
                             "figures, data; a second run into it resumes."),
):
    """When do unlabelled frames pay? Sweep pool size, input, latent grid, codebook, encoder use and
    scene style, with pseudo-labelling and consistency training beside the paper's VQ-VAE."""
    import os
    import sys
    import time
    from ..experiments.semisup_cells import FULL_STUDY, QUICK_STUDY, StudyConfig
    from ..experiments.semisup_study import prepare_study_data, run_study
    from ..errors import ConfigError
    if device not in ("cpu", "cuda"):
        raise ConfigError(f"--device {device!r}: choose cpu or cuda")
    if quick and full:
        raise ConfigError("--quick and --full ask for opposite things: give one of them")
    settings = dict(QUICK_STUDY) if quick else dict(FULL_STUDY) if full else {}
    settings["axes"] = tuple(comma_list(axes, what="axes", option="--axes"))
    if data is not None:
        settings["styles"] = ("data",)
        settings["axes"] = tuple(a for a in settings["axes"] if a != "scenes")
    if pools:
        settings["pools"] = tuple(comma_list(pools, int, "whole numbers such as 1,4,16", "--pools"))
    if seeds is not None:
        settings["seeds"] = seeds
    if cross_modal is not None:
        settings["cross_modal_inputs"] = () if cross_modal.strip().lower() == "none" else tuple(
            comma_list(cross_modal, what="inputs such as rgb,rgbd", option="--cross-modal"))
    cfg = StudyConfig(labelled_fraction=labelled_fraction, **settings)
    n_workers = (os.cpu_count() or 1) if workers < 0 else workers
    t_start = time.perf_counter()
    study_data = prepare_study_data(cfg, out, data, format, depth, unlabelled, quick, n_workers)
    data_s = time.perf_counter() - t_start
    rep = run_study(study_data, cfg, out, accelerator="gpu" if device == "cuda" else "cpu",
                    command="grasplab " + " ".join(sys.argv[1:]), data_s=data_s)
    cells = rep["summary"]["cells"]
    rows = []
    for axis, keys in rep["summary"]["axes"].items():
        for k in keys:
            c = cells[k]
            st = c["setting"]
            rows.append([axis, st["style"], st["inputs"], f"{st['pool']}×", f"{st['grid']}²", str(st["codes"]),
                         st["method"], f"{c['test_mean']:.1%} ± {c['test_std']:.1%}", f"{c['val_mean']:.1%}",
                         "ref." if st["method"] == "ggcnn" else f"{100 * c['diff_mean']:+.1f}"])
    console.print(table(f"semi-supervised study, {cfg.seeds} seed(s), {cfg.labelled_fraction:g} labelled",
                        ["axis", "style", "input", "pool", "grid", "codes", "method", "test top-1", "val", "Δ pts"],
                        rows, left=("axis", "style", "input", "method")))
    for key, what in (("best", "most accurate on validation"), ("best_gain", "largest gain on validation")):
        b = rep["summary"].get(key)
        if b:
            console.print(f"{what}: {b['cell']}: test {b['test_mean']:.1%}, {100 * b['diff_mean']:+.1f} points over "
                          f"labels-only GG-CNN (target ≥ 9: {'met' if b['target_met'] else 'not met'})", soft_wrap=True)
    console.print(f"results: {out / 'study.md'}, figures in {out / 'figures'}; data {data_s:.0f} s, training and "
                  f"evaluation {rep['wall_s']:.0f} s, {time.perf_counter() - t_start:.0f} s in all", soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command()(demo)
    app.add_typer(group, name="experiment")
