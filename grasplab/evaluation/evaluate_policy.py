"""Evaluating a GQ-CNN policy on labelled scenes with the rectangle metric — the same metric,
scenes and report as a per-pixel model (``evaluate_maps``), so Dex-Net 2.0 and GG-CNN compare
on the same data.

Each scene's depth frame goes to the policy at full resolution with the scene's camera
intrinsics (grasplab scenes carry them in their sidecar); with ``use_mask`` the policy keeps
grasps whose centre lies on the object mask, as Dex-Net 2.0's policies do.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import GrasplabError
from ..geometry import CameraIntrinsics
from ..seeding import derive_int_seed
from ..storage import atomic_write_json, run_metadata
from .evaluate_maps import EvaluationReport, _miss_kind
from .rectangle_metric import RectangleMetric, accuracy_with_ci


def scene_intrinsics(scene) -> CameraIntrinsics:
    side = scene.sidecar() if hasattr(scene, "sidecar") else None
    if not side or "intrinsics" not in side:
        raise GrasplabError(f"{getattr(scene, 'stem', scene)}: no camera intrinsics in the scene's sidecar; a GQ-CNN "
                            f"policy needs them (grasplab's synthetic scenes have them; Jacquard and Cornell do not)")
    return CameraIntrinsics.from_dict(side["intrinsics"])


def evaluate_policy(policy, scenes: list, k: int = 5, metric: RectangleMetric = RectangleMetric(),
                    out_dir: str | Path | None = None, seed: int = 0, use_mask: bool = True,
                    show_progress: bool = True) -> EvaluationReport:
    """Top-1 and top-k rectangle accuracy of ``policy`` (a ``GQCNNPolicy``) on labelled scenes;
    each scene's random choices come from (seed, scene index)."""
    from rich.progress import track

    from ..policies.antipodal_depth import NoGraspFoundError
    n_all = len(scenes)
    scenes = [s for s in scenes if s.rectangles()]
    rows, shown = [], []
    for i, sc in enumerate(track(scenes, description="evaluating policy", disable=not show_progress)):
        truth = sc.rectangles()
        depth = sc.depth_m()
        object_mask = sc.mask() > 0
        try:
            ranked = policy.plan(depth, scene_intrinsics(sc), mask=object_mask if use_mask else None, seed=derive_int_seed(seed, "policy", i),
                                 max_grasps=k)
        except NoGraspFoundError:
            ranked = []
        grasps = [g.grasp for g in ranked]
        hit1 = metric.top_k_correct(grasps, truth, 1)
        rows.append({"scene": str(getattr(sc, "stem", i)), "top1": hit1, f"top{k}": metric.top_k_correct(grasps, truth, k),
                     "quality": float(ranked[0].quality) if ranked else 0.0, "grasps": len(ranked)})
        if not hit1:
            rows[-1]["miss"] = _miss_kind(grasps[:1], sc.negative_rectangles(), metric)
        shown.append((depth, object_mask, truth, grasps[:1]))
    report = EvaluationReport(accuracy_with_ci(sum(r["top1"] for r in rows), len(rows)),
                              accuracy_with_ci(sum(r[f"top{k}"] for r in rows), len(rows)), k, rows,
                              n_all - len(scenes))
    if out_dir is not None:
        out = Path(out_dir)
        meta = run_metadata({"model": str(policy.path), "policy": policy.config, "k": k, "metric": metric.__dict__,
                             "scenes": len(rows), "use_mask": use_mask, "seed": seed})
        atomic_write_json(out / "evaluation.json", {**meta, **report.to_dict()})
        if rows:
            _figures(out, rows, shown)
    return report


def _figures(out: Path, rows: list[dict], shown: list, n: int = 6) -> None:
    """The best and worst scenes: labelled positives (green) and the policy's top grasp (blue)."""
    from ..viz.figures import save_grasp_scenes
    order = np.argsort([-(r["top1"] + r["quality"]) for r in rows])
    for label, idx in (("best", order[:n]), ("worst", order[::-1][:n])):
        panels = [{"title": f"{Path(rows[i]['scene']).name} {'✓' if rows[i]['top1'] else '✗'} q={rows[i]['quality']:.2f}",
                   "image": _grey(shown[i][0]), "mask": shown[i][1],
                   "positives": [r.to_grasp2d() for r in shown[i][2]], "predicted": shown[i][3]}
                  for i in idx]
        save_grasp_scenes(panels, out / f"{label}.png", title=f"{label} {len(panels)} scenes: labelled positives "
                                                               f"(green), the policy's top grasp (blue)")


def _grey(d: np.ndarray) -> np.ndarray:
    lo, hi = np.percentile(d, 1), np.percentile(d, 99)
    v = np.clip((d - lo) / max(hi - lo, 1e-9), 0, 1)
    return (np.repeat(v[..., None], 3, axis=2) * 255).astype(np.uint8)
