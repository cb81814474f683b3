"""Lightning module for per-pixel grasp networks: GG-CNN's loss, rectangle-metric validation."""
from __future__ import annotations

import lightning as L
import numpy as np
import torch
import torch.nn.functional as F

from ..evaluation import RectangleMetric
from ..models import GraspMapModel
from ..models.layers import head_to_maps
from ..policies import MapDecodingConfig, decode_grasp_maps


def grasp_map_loss(pred: tuple[torch.Tensor, ...], target: torch.Tensor,
                   quality_pos_weight: float = 1.0, weight_all_maps: bool = False,
                   width_loss_weight: float = 1.0) -> dict[str, torch.Tensor]:
    """Sum of the four MSE terms (quality, cos 2θ, sin 2θ, width), as GG-CNN trains.

    ``quality_pos_weight`` w > 1 weighs the quality error on positive pixels w times: where a
    few tenths of a percent of the pixels are positive (whole 300² frames of one object), the
    all-zero map is otherwise a minimum deep networks settle in. The optimum per pixel becomes
    w·p / (w·p + 1 − p) for a pixel positive with probability p — monotonic in p, so the ranking
    of grasps (what the metric scores) is unchanged; only the map's scale grows.
    ``weight_all_maps`` applies the same weight to the angle and width terms (distillation: the
    teacher's angle and width matter where it sees grasps, not on the empty table).
    ``width_loss_weight`` scales the width term, the smallest of the four (widths are stored as
    px / 150, so a 10 % error on a 30 px grasp costs 4e-4, a 5° angle error ~3e-2).
    """
    names = ("quality", "cos", "sin", "width")
    terms = {n: F.mse_loss(p[:, 0], target[:, k]) for k, (n, p) in enumerate(zip(names, pred))}
    if quality_pos_weight != 1.0:
        # a teacher's quality map may overshoot [0, 1]
        weight = 1.0 + (quality_pos_weight - 1.0) * target[:, 0].clamp(0.0, 1.0)
        for k, n in enumerate(names if weight_all_maps else names[:1]):
            terms[n] = (weight * (pred[k][:, 0] - target[:, k]) ** 2).mean()
    terms["loss"] = sum(terms.values()) + (width_loss_weight - 1.0) * terms["width"]
    return terms


def binned_grasp_map_loss(head: torch.Tensor, target: torch.Tensor, quality_pos_weight: float = 1.0,
                          width_loss_weight: float = 1.0) -> dict[str, torch.Tensor]:
    """Loss of a binned head (quality, K angle logits, K widths) against ``binned_grasp_maps``.

    Quality: GG-CNN's (weighted) squared error against "good at some angle". Angle: cross-entropy
    of the bin softmax against the labelled bins (spread evenly where several are good), on the
    labelled pixels only (the background has no angle), scaled like GG-CNN's angle terms: summed
    there and divided by all pixels. Width: squared error in the labelled bins at the labelled
    pixels only (elsewhere no width is defined).
    """
    k = target.shape[1] // 2
    bins_t, width_t = target[:, :k], target[:, k:]
    q_t = bins_t.amax(dim=1)
    weight = 1.0 + (quality_pos_weight - 1.0) * q_t
    quality = (weight * (head[:, 0] - q_t) ** 2).mean()
    labelled = q_t > 0.5
    dist = bins_t / bins_t.sum(dim=1, keepdim=True).clamp_min(1e-12)
    # summed over the labelled pixels, averaged over all (as GG-CNN's angle maps are): averaged
    # over the labelled ones alone it outweighs the quality term ~100× and the shared layers
    # give up the quality map for it
    angle = -((dist * torch.log_softmax(head[:, 1:k + 1], dim=1)).sum(dim=1) * labelled).mean()
    width = ((head[:, k + 1:] - width_t) ** 2 * bins_t).sum() / bins_t.sum().clamp_min(1)
    return {"quality": quality, "angle": angle, "width": width,
            "loss": quality + angle + width_loss_weight * width}


class GraspMapModule(L.LightningModule):
    def __init__(self, model: GraspMapModel, val_dataset=None, lr: float = 1e-3,
                 decoding: MapDecodingConfig = MapDecodingConfig(), metric: RectangleMetric = RectangleMetric(),
                 quality_pos_weight: float = 1.0, teacher: GraspMapModel | None = None,
                 width_loss_weight: float = 1.0):
        super().__init__()
        self.quality_pos_weight = quality_pos_weight
        self.width_loss_weight = width_loss_weight
        # distillation: the teacher's four maps replace the label maps as training targets
        # (validation still scores the rectangles against the labels)
        self.teacher = None if teacher is None else teacher.eval().requires_grad_(False)
        # channels-last memory: oneDNN's (transposed) convolutions train ~1.4× faster on CPUs
        self.model = model.to(memory_format=torch.channels_last)
        self.val_dataset = val_dataset
        self.lr = lr
        self.decoding = decoding
        self.metric = metric
        self._val_hits: list[bool] = []

    def forward(self, x):
        return self.model(x.contiguous(memory_format=torch.channels_last))

    def _loss(self, x, y, weight_all_maps: bool = False) -> tuple[dict, tuple[torch.Tensor, ...]]:
        """The loss terms for a batch and the four maps, for either kind of head."""
        head = self.model.head_output(x)
        maps = head_to_maps(head, self.model.angle_bins)
        if self.model.angle_bins:
            return binned_grasp_map_loss(head, y, self.quality_pos_weight, self.width_loss_weight), maps
        return grasp_map_loss(maps, y, self.quality_pos_weight, weight_all_maps=weight_all_maps,
                              width_loss_weight=self.width_loss_weight), maps

    def training_step(self, batch, batch_idx):
        x, y, _ = batch
        x = x.contiguous(memory_format=torch.channels_last)
        if self.teacher is not None:
            self.teacher.eval()
            with torch.no_grad():
                y = torch.cat(self.teacher(x), dim=1)
        terms, _ = self._loss(x, y, weight_all_maps=self.teacher is not None)
        self.log_dict({f"train_{k}": v for k, v in terms.items()}, on_epoch=True, on_step=False,
                      batch_size=x.shape[0])
        return terms["loss"]

    def validation_step(self, batch, batch_idx):
        x, y, idx = batch
        terms, pred = self._loss(x.contiguous(memory_format=torch.channels_last), y)
        self.log("val_loss", terms["loss"], on_epoch=True, batch_size=x.shape[0])
        maps = [p[:, 0].detach().cpu().numpy() for p in pred]
        for b, i in enumerate(idx.tolist()):
            ranked = decode_grasp_maps(maps[0][b], maps[1][b], maps[2][b], maps[3][b], self.decoding)
            truth = self.val_dataset.rectangles(i) if self.val_dataset is not None else []
            self._val_hits.append(self.metric.top_k_correct(ranked.grasps, truth, k=1))

    def on_validation_epoch_end(self):
        acc = float(np.mean(self._val_hits)) if self._val_hits else 0.0
        self.log("val_accuracy", acc, prog_bar=True)
        self._val_hits = []

    def configure_optimizers(self):
        return torch.optim.Adam([p for p in self.model.parameters() if p.requires_grad], lr=self.lr)
