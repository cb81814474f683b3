"""``grasplab evaluate``: any policy on labelled scenes through the one evaluation loop (or a
GQ-CNN as a classifier on a tensor dataset's crops)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from .common import CLEARANCE_HELP, GRIPPER_HELP, MODEL_HELP, POLICY_HELP, RERANK_HELP, VIEWS_HELP, console, make_policy


def evaluate(
    model: Optional[str] = typer.Option(None, help=MODEL_HELP),
    policy: Optional[str] = typer.Option(None, help=POLICY_HELP),
    data: Path = typer.Option(..., help="Dataset folder (Jacquard, grasplab scenes, or Cornell)."),
    format: str = typer.Option("jacquard", "--format", help="jacquard or cornell; gqcnn: a GQ-CNN model "
                               "as a classifier on a tensor dataset's crops."),
    depth: str = typer.Option("perfect", help="Jacquard depth image: perfect or stereo."),
    split: Optional[str] = typer.Option(None, help="Evaluate only a held-out fold: object or image."),
    folds: int = typer.Option(5),
    fold: int = typer.Option(0),
    seed: int = typer.Option(0),
    k: int = typer.Option(5, help="Also report top-k accuracy."),
    views: Optional[int] = typer.Option(None, help=VIEWS_HELP),
    rerank: Optional[str] = typer.Option(None, help=RERANK_HELP),
    gripper: Optional[str] = typer.Option(None, help=GRIPPER_HELP),
    clearance: bool = typer.Option(False, "--clearance", help=CLEARANCE_HELP),
    no_mask: bool = typer.Option(False, "--no-mask", help="Do not give the policy the scenes' object masks "
                                 "(as `predict` without --mask; by default it gets them, as with --mask)."),
    out: Path = typer.Option(Path("grasplab-eval"), help="Folder for evaluation.json and figures."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
):
    """Rectangle-metric accuracy (top-1 and top-k, 95 % intervals) of the grasps `predict` would
    return on each scene, with best/worst figures."""
    from ..datasets.scene_sources import evaluation_scenes
    from ..evaluation import evaluate_policy
    if format == "gqcnn":
        return _classifier(model, data, out, as_json)
    if not 1 <= k <= 100:
        from ..errors import ConfigError
        raise ConfigError(f"--k {k}: top-k accuracy needs 1 ≤ k ≤ 100")
    pol = make_policy(policy, model, clearance=(gripper or "robotiq_2f85") if clearance else None,
                      views=views, rerank=rerank, gripper=gripper)
    scenes = evaluation_scenes(data, format, depth, split, folds, fold, seed)
    rep = evaluate_policy(pol, scenes, k=k, out_dir=out, seed=seed, use_mask=not no_mask)
    if as_json:
        print(json.dumps({k_: v for k_, v in rep.to_dict().items() if k_ != "per_scene"}, indent=2))
        return
    console.print(f"{pol.name}: top-1 {rep.top1}")
    got = rep.grasps_returned
    note = (f" ({pol.name} returned {got['mean']:.1f} grasps per scene, {rep.k} in {got['scenes_with_k']} of "
            f"{got['scenes']} scenes: top-{rep.k} counts only the grasps returned)"
            if got["scenes_with_k"] < got["scenes"] else "")
    console.print(f"top-{rep.k}: {rep.topk}{note}", soft_wrap=True)
    if rep.misses:
        meaning = {"labelled negative": "the labels tried a matching grasp and rejected it",
                   "untried": "no labelled candidate matches it", "no grasp": "the policy returned none",
                   "unknown": "the scene lists no rejected candidates"}
        console.print("top-1 misses: " + ", ".join(f"{n} {kind}" for kind, n in rep.misses.items()) + " ("
                      + "; ".join(f"{kind}: {meaning.get(kind, '')}" for kind in rep.misses) + ")", soft_wrap=True)
    if rep.skipped_no_truth:
        console.print(f"{rep.skipped_no_truth} scenes without ground-truth grasps were not scored")
    console.print(f"report and figures in {out}")


def _classifier(model: Optional[str], data: Path, out: Path, as_json: bool) -> None:
    from ..errors import ConfigError
    from ..evaluation.evaluate_gqcnn import evaluate_gqcnn_tensors
    from ..models.pretrained import resolve_model
    if model is None:
        raise ConfigError("--format gqcnn scores a GQ-CNN model on grasp crops; give one with --model")
    cls = evaluate_gqcnn_tensors(resolve_model(model), data, out_dir=out)
    if as_json:
        print(json.dumps(cls.to_dict(), indent=2))
        return
    console.print(f"{cls.n} grasps ({cls.positives} positive): accuracy {cls.accuracy:.1%}, precision "
                  f"{cls.precision:.1%}, recall {cls.recall:.1%}, AP {cls.average_precision:.3f}, ROC AUC "
                  f"{cls.roc_auc:.3f}; report and figure in {out}")


def register(app: typer.Typer) -> None:
    app.command()(evaluate)
