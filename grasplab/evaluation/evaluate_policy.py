"""The one evaluation loop: any ``GraspPolicy`` on labelled scenes, scored with the rectangle metric.

Each scene becomes a ``Frame`` (depth, RGB for policies that read it, the object mask unless
``use_mask`` is off, and grasplab's scenes' intrinsics and camera pose) and goes to
``policy.plan`` exactly as ``grasplab predict`` sends a camera frame; the grasps that come back,
in the frame's pixels, are what the metric scores against the scene's labelled rectangles. So a
number this loop reports is the accuracy of the grasps a user gets. ``evaluate`` and the demo
report through it; each scene's random choices come from (seed, scene index).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..datasets.grasp_map_dataset import scene_frame
from ..errors import NoGraspFoundError
from ..seeding import derive_int_seed
from ..storage import atomic_write_json, run_metadata
from .rectangle_metric import Accuracy, RectangleMetric, accuracy_with_ci


@dataclass
class EvaluationReport:
    top1: Accuracy
    topk: Accuracy
    k: int
    per_scene: list[dict] = field(default_factory=list)
    skipped_no_truth: int = 0        # scenes without any ground-truth grasp cannot be scored

    @property
    def misses(self) -> dict[str, int]:
        """Top-1 misses by kind (see ``miss_kind``)."""
        kinds = [r["miss"] for r in self.per_scene if "miss" in r]
        return {kind: kinds.count(kind) for kind in sorted(set(kinds))}

    @property
    def grasps_returned(self) -> dict:
        """How many grasps the policy returned per scored scene: top-k only differs from top-1
        where it returned more than one (a map decoder often returns one per object)."""
        n = [int(r.get("grasps", 0)) for r in self.per_scene]
        return {"mean": float(np.mean(n)) if n else 0.0, "scenes_with_k": int(sum(v >= self.k for v in n)),
                "scenes": len(n)}

    def to_dict(self) -> dict:
        def acc(a: Accuracy) -> dict:
            return {"accuracy": a.value, "correct": a.correct, "total": a.total, "ci95": [a.low, a.high]}
        return {"top1": acc(self.top1), f"top{self.k}": acc(self.topk), "grasps_returned": self.grasps_returned,
                "skipped_no_truth": self.skipped_no_truth, "top1_misses": self.misses, "per_scene": self.per_scene}


def miss_kind(top: list, negatives: list | None, metric: RectangleMetric) -> str:
    """Why a top grasp missed, as far as the labels know: ``no grasp``; ``labelled negative``
    (it matches a candidate the labels tried and rejected); ``untried`` (it matches no candidate:
    the labels cannot say it is bad); ``unknown`` (the scene does not list its candidates)."""
    if not top:
        return "no grasp"
    if negatives is None:
        return "unknown"
    return "labelled negative" if metric.matches(top[0], negatives) else "untried"


def policy_frame(scene, policy, use_mask: bool = True):
    """A labelled scene as the frame a policy is given (RGB only where the policy reads it)."""
    return scene_frame(scene, rgb=policy.needs_rgb, mask=use_mask)


def evaluate_policy(policy, scenes: list, k: int = 5, metric: RectangleMetric = RectangleMetric(),
                    out_dir: str | Path | None = None, seed: int = 0, use_mask: bool = True, figures: int = 6,
                    show_progress: bool = True, scene_info=None) -> EvaluationReport:
    """Top-1 and top-k rectangle accuracy (Wilson 95 % intervals) of ``policy`` on labelled
    scenes; with ``out_dir``, ``evaluation.json`` (the policy's spec, settings, every scene's
    row) and the best and worst scenes drawn. ``scene_info(scene)`` adds fields to each row."""
    from rich.progress import track
    n_all = len(scenes)
    scenes = [s for s in scenes if s.rectangles()]
    rows = []
    for i, sc in enumerate(track(scenes, description=f"evaluating {policy.name}", disable=not show_progress)):
        truth = sc.rectangles()
        scene_seed = derive_int_seed(seed, "policy", i)         # `grasplab predict --seed` this to see the same
        try:
            planned = policy.plan(policy_frame(sc, policy, use_mask), max_grasps=k, seed=scene_seed)
        except NoGraspFoundError:
            planned = []
        grasps = [p.grasp for p in planned]
        hit1 = metric.top_k_correct(grasps, truth, 1)
        row = {"scene": str(getattr(sc, "stem", i)), "top1": hit1, f"top{k}": metric.top_k_correct(grasps, truth, k),
               "score": planned[0].score if planned else 0.0, "grasps": len(planned), "positives": len(truth),
               "seed": scene_seed, "grasp": planned[0].to_dict() if planned else None}
        if not hit1:
            row["miss"] = miss_kind(grasps[:1], getattr(sc, "negative_rectangles", lambda: None)(), metric)
        if scene_info is not None:
            row.update(scene_info(sc))
        rows.append(row)
    report = EvaluationReport(accuracy_with_ci(sum(r["top1"] for r in rows), len(rows)),
                              accuracy_with_ci(sum(r[f"top{k}"] for r in rows), len(rows)), k, rows,
                              n_all - len(scenes))
    if out_dir is not None:
        out = Path(out_dir)
        meta = run_metadata({"policy": policy.describe(), "k": k, "metric": metric.__dict__, "scenes": len(rows),
                             "use_mask": use_mask, "seed": seed})
        atomic_write_json(out / "evaluation.json", {**meta, **report.to_dict()})
        if rows and figures:
            save_best_and_worst(policy, scenes, rows, out, figures, use_mask, metric)
    return report


def save_best_and_worst(policy, scenes: list, rows: list[dict], out: Path, n: int, use_mask: bool,
                        metric: RectangleMetric) -> list[Path]:
    """``best.png`` / ``worst.png``: labelled positives (green) and the policy's top grasp (blue)
    on the frame; for grasp-map policies also ``worst-maps.png``: the network's input and its
    quality, angle and width maps. The frames are read again here (they are not kept in memory)."""
    from ..geometry import GraspRectangle
    from ..viz.figures import frame_picture, save_grasp_scenes, save_prediction_figure
    order = np.argsort([-(r["top1"] + r["score"]) for r in rows], kind="stable")
    paths = []
    for label, idx in (("best", order[:n]), ("worst", order[::-1][:n])):
        panels = []
        for i in idx:
            frame = policy_frame(scenes[i], policy, use_mask)
            top = _top_grasp(rows[i])
            panels.append({"title": f"{Path(rows[i]['scene']).name} {'✓' if rows[i]['top1'] else '✗'} "
                                    f"score {rows[i]['score']:.2f}",
                           "image": frame_picture(frame), "mask": scenes[i].mask() if _has_mask(scenes[i]) else None,
                           "positives": [r.to_grasp2d() for r in scenes[i].rectangles()], "predicted": top})
        paths.append(save_grasp_scenes(panels, out / f"{label}.png",
                                       title=f"{label} {len(panels)} scenes for {policy.name}: labelled positives "
                                             f"(green), the policy's top grasp (blue)"))
    if hasattr(policy, "grasp_maps"):
        panels = []
        for i in order[::-1][:min(n, 4)]:
            frame = policy_frame(scenes[i], policy, use_mask)
            inp = policy.prepare(frame)
            win = inp.window
            top = [win.grasp_to_output(t) for t in _top_grasp(rows[i])]
            panels.append({"title": f"{Path(rows[i]['scene']).name} {'✓' if rows[i]['top1'] else '✗'}",
                           "input": inp.x[0], "maps": policy.grasp_maps(inp.x),
                           "truth": [GraspRectangle(win.map_points(r.corners_xy_px)) for r in scenes[i].rectangles()],
                           "predicted": [metric.prediction_rectangle(t) for t in top]})
        paths.append(save_prediction_figure(panels, out / "worst-maps.png",
                                            title="worst scenes: network input with labels (green) and top grasp "
                                                  "(red); quality, angle and width maps"))
    return paths


def _top_grasp(row: dict) -> list:
    from ..geometry import Grasp2D
    g = row["grasp"]
    return [] if g is None else [Grasp2D(tuple(g["center_xy_px"]), g["angle_rad"], g["width_px"], g["jaw_px"])]


def _has_mask(scene) -> bool:
    from ..errors import GrasplabError
    try:
        return bool(np.any(scene.mask()))
    except GrasplabError:                 # Cornell: no masks
        return False
