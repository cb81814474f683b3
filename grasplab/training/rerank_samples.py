"""Training samples for a crop re-ranker: grasp-aligned crops labelled by the rectangle metric.

For every scene the map model's proposals (``policies.reranking.propose_grasps``, the grasps
the re-ranker will have to choose among: quality peaks and object grid) and the scene's own labelled grasps — its positive
rectangles and, for grasplab's scenes, the candidates the labels tried and rejected — are
cropped from the map model's input and labelled 1 when the rectangle metric matches them to a
positive rectangle (what top-1 accuracy will count), else 0.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..datasets.grasp_map_dataset import GraspMapDataset
from ..evaluation import RectangleMetric
from ..geometry import Grasp2D
from ..policies.map_decoding import MapDecodingConfig
from ..policies.reranking import RerankConfig, grasp_crops_m, propose_grasps


@dataclass
class CropSamples:
    crops_m: np.ndarray        # (N, 1, S, S) float16: depth relative to the grasp centre
    label: np.ndarray          # (N,) bool: the metric matches a positive rectangle
    scene: np.ndarray          # (N,) int: index of the scene in the dataset
    proposal: np.ndarray       # (N,) bool: a map-model proposal (else a labelled grasp of the scene)
    quality: np.ndarray        # (N,) float32: the map's smoothed quality (proposals; 0 for labelled grasps)

    def __len__(self) -> int:
        return len(self.label)

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {k: getattr(self, k) for k in ("crops_m", "label", "scene", "proposal", "quality")}

    @classmethod
    def from_arrays(cls, z) -> "CropSamples":
        return cls(*(np.asarray(z[k]) for k in ("crops_m", "label", "scene", "proposal", "quality")))


def _labelled_grasps(ds: GraspMapDataset, i: int, win, positives: list) -> list[Grasp2D]:
    """The scene's positive rectangles and tried-and-rejected candidates as grasps (jaw size
    left to the metric's convention, as for predictions)."""
    rects = positives + (ds.negative_rectangles(i, win) or [])
    out = []
    for r in rects:
        g = r.to_grasp2d()
        out.append(Grasp2D(g.center_xy_px, g.angle_rad, g.width_px))
    return out


def extract_crop_samples(ds: GraspMapDataset, map_net, config: RerankConfig, decoding: MapDecodingConfig,
                         crop_px: int, out_px: int, metric: RectangleMetric = RectangleMetric(),
                         progress=None, task=None) -> CropSamples:
    """Crops and labels for every scene of ``ds`` (whose preprocessing is the map model's)."""
    import torch
    parts: dict[str, list] = {k: [] for k in ("crops_m", "label", "scene", "proposal", "quality")}
    for i in range(len(ds)):
        win = ds.window(i)
        x = ds.inputs(i, win)
        with torch.no_grad():
            maps = [m[0, 0].numpy() for m in map_net(torch.from_numpy(x[None]).contiguous(
                memory_format=torch.channels_last))]
        props = propose_grasps(maps, config, decoding, x[0])
        truth = ds.rectangles(i, win)
        labelled = _labelled_grasps(ds, i, win, truth)
        grasps = list(props.grasps) + labelled
        parts["crops_m"].append(grasp_crops_m(x[0], grasps, crop_px, out_px).astype(np.float16))
        parts["label"].append(np.array([metric.matches(g, truth) for g in grasps], dtype=bool))
        parts["scene"].append(np.full(len(grasps), i, dtype=np.int64))
        parts["proposal"].append(np.arange(len(grasps)) < len(props))
        parts["quality"].append(np.r_[props.qualities, np.zeros(len(labelled))].astype(np.float32))
        if progress is not None:
            progress.advance(task)
    if not parts["label"]:
        return CropSamples(np.zeros((0, 1, out_px, out_px), np.float16), np.zeros(0, bool), np.zeros(0, np.int64),
                           np.zeros(0, bool), np.zeros(0, np.float32))
    return CropSamples(*(np.concatenate(parts[k]) for k in ("crops_m", "label", "scene", "proposal", "quality")))


def reranked_top1(samples: CropSamples, probability: np.ndarray, config: RerankConfig) -> tuple[int, int]:
    """(hits, scenes): per scene with proposals, whether the proposal with the highest
    ``config.score`` is labelled correct — the re-ranked top-1 accuracy."""
    sel = np.flatnonzero(samples.proposal)
    if sel.size == 0:
        return 0, 0
    score = config.score(probability[sel], samples.quality[sel].astype(np.float64))
    scenes = samples.scene[sel]
    hits = 0
    uniq, start = np.unique(scenes, return_index=True)
    bounds = list(start) + [len(sel)]
    for a, b in zip(bounds[:-1], bounds[1:]):          # proposals of a scene are contiguous
        hits += bool(samples.label[sel[a + int(np.argmax(score[a:b]))]])
    return hits, len(uniq)
