"""Evaluating a per-pixel grasp model on a dataset with the rectangle metric.

The model's own preprocessing (inputs, size, crop) comes from its file's metadata, so a model
is evaluated the way it was trained. Each scene contributes its top-1 (and top-k) result;
accuracies come with Wilson 95 % intervals; figures show the best and the worst scenes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..datasets.grasp_map_dataset import GraspMapDataset, PreprocessConfig
from ..errors import ConfigError
from ..models import load_map_model
from ..policies import MapDecodingConfig, decode_grasp_maps
from ..policies.map_augmentation import augmented_grasp_maps, check_views
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
        """Top-1 misses by kind (see ``_miss_kind``)."""
        kinds = [r["miss"] for r in self.per_scene if "miss" in r]
        return {kind: kinds.count(kind) for kind in sorted(set(kinds))}

    def to_dict(self) -> dict:
        def acc(a: Accuracy) -> dict:
            return {"accuracy": a.value, "correct": a.correct, "total": a.total, "ci95": [a.low, a.high]}
        return {"top1": acc(self.top1), f"top{self.k}": acc(self.topk), "skipped_no_truth": self.skipped_no_truth,
                "top1_misses": self.misses, "per_scene": self.per_scene}


def evaluate_grasp_map_model(model_path: str | Path, scenes: list, k: int = 5,
                             metric: RectangleMetric = RectangleMetric(),
                             decoding: MapDecodingConfig | None = None, out_dir: str | Path | None = None,
                             figures: int = 4, dataset: GraspMapDataset | None = None,
                             views: int = 1, reranker=None) -> EvaluationReport:
    """Top-1 and top-k rectangle accuracy of a model file on labelled scenes. ``dataset``: the
    scenes already wrapped (e.g. with cached inputs, when several models are scored on them);
    its preprocessing must be the model's. ``views``: test-time augmentation (maps averaged
    over 1, 2, 4 or 8 mirrored / turned views). ``reranker``: a ``policies.CropReranker``
    that re-orders the model's grasps (trained for this model's preprocessing)."""
    import torch
    check_views(views)
    model = load_map_model(model_path)
    net = model.for_inference()
    pre = model.metadata.get("preprocess", {})
    cfg = PreprocessConfig.from_metadata(pre)
    if reranker is not None:
        reranker.check_map_preprocess(pre, str(model_path))
    n_all = len(scenes)
    scenes = [s for s in scenes if s.rectangles()]
    if dataset is not None:
        if dataset.config.to_metadata() != cfg.to_metadata() or len(dataset.scenes) != len(scenes):
            raise ConfigError(f"{model_path}: the given dataset's preprocessing or scenes differ from the model's")
        ds = dataset
    else:
        ds = GraspMapDataset(scenes, cfg)
    decoding = decoding or MapDecodingConfig(max_grasps=max(k, 1))

    def run(x: np.ndarray) -> list[np.ndarray]:
        return [m[0, 0].numpy() for m in net(torch.from_numpy(x).contiguous(memory_format=torch.channels_last))]

    rows, cache = [], []
    with torch.no_grad():
        for i in range(len(ds)):
            x = ds.inputs(i)[None]
            maps = augmented_grasp_maps(run, x, views)
            ranked = (decode_grasp_maps(*maps, decoding) if reranker is None
                      else reranker.rerank(x[0, 0], maps, decoding))
            truth = ds.rectangles(i)
            hit1 = metric.top_k_correct(ranked.grasps, truth, 1)
            hitk = metric.top_k_correct(ranked.grasps, truth, k)
            rows.append({"scene": str(getattr(ds.scenes[i], "stem", i)), "top1": hit1, f"top{k}": hitk,
                         "quality": float(ranked.qualities[0]) if len(ranked) else 0.0, "grasps": len(ranked)})
            if not hit1:
                rows[-1]["miss"] = _miss_kind(ranked.grasps[:1], ds.negative_rectangles(i), metric)
            cache.append((x[0], maps, ranked, truth))
    report = EvaluationReport(accuracy_with_ci(sum(r["top1"] for r in rows), len(rows)),
                              accuracy_with_ci(sum(r[f"top{k}"] for r in rows), len(rows)), k, rows,
                              n_all - len(scenes))
    if out_dir is not None:
        out = Path(out_dir)
        meta = run_metadata({"model": str(model_path), "k": k, "metric": metric.__dict__, "scenes": len(rows),
                             "views": views, "rerank": None if reranker is None else reranker.describe()})
        atomic_write_json(out / "evaluation.json", {**meta, **report.to_dict()})
        if figures and rows:
            _figures(out, rows, cache, figures, metric)
    return report


def _miss_kind(top: list, negatives: list | None, metric: RectangleMetric) -> str:
    """Why a top grasp missed, as far as the labels know: ``no grasp``; ``labelled negative``
    (it matches a candidate the labels tried and rejected); ``untried`` (it matches no candidate:
    the labels cannot say it is bad); ``unknown`` (the scene does not list its candidates)."""
    if not top:
        return "no grasp"
    if negatives is None:
        return "unknown"
    return "labelled negative" if metric.matches(top[0], negatives) else "untried"


def _figures(out: Path, rows: list[dict], cache: list, n: int, metric: RectangleMetric) -> None:
    from ..viz.figures import save_prediction_figure
    order = np.argsort([-(r["top1"] + r["quality"]) for r in rows])
    for label, idx in (("best", order[:n]), ("worst", order[::-1][:n])):
        panels = []
        for i in idx:
            x, maps, ranked, truth = cache[i]
            panels.append({"title": f"{Path(rows[i]['scene']).name} {'✓' if rows[i]['top1'] else '✗'}",
                           "input": x[0], "maps": maps, "truth": truth,
                           "predicted": [metric.prediction_rectangle(g) for g in ranked.grasps[:1]]})
        save_prediction_figure(panels, out / f"{label}.png", title=f"{label} {len(panels)} scenes (top-1)")
