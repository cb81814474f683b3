"""A grasp-quality classifier on grasp-aligned depth crops, used to re-rank a map model's grasps.

GG-CNN's quality map says where some grasp is good, not which angle is; its training targets
drop the candidates the labels tried and rejected. This small GQ-CNN-like network looks at one
grasp at a time — a depth crop centred on it with its opening axis horizontal
(``imaging.rotated_crops``) — and gives the logit of "the rectangle metric would call this
grasp correct". Its input is the map model's own normalised depth, so a classifier belongs to
the map model whose preprocessing its metadata records.
"""
from __future__ import annotations

import torch
from torch import nn

from .base import SavedModule, register_model


@register_model("crop_quality")
class CropQualityNet(SavedModule, nn.Module):
    """(N, 1, S, S) crops of depth relative to the grasp centre (metres) → (N,) logits.

    Three conv-ReLU-max-pool stages (16, 32, 64 filters) and two dense layers; the depth is
    scaled by ``depth_scale_per_m`` and clipped to ±1 inside the network, so what the crop
    shows is the few centimetres around the grasp that decide it.
    """

    policy_hint = ("a crop re-ranker orders a grasp-map model's grasps: pass it as rerank= (--rerank) with "
                   "that model")

    architecture = "crop_quality"

    def __init__(self, crop_px: int = 64, out_px: int = 32, depth_scale_per_m: float = 10.0, hidden: int = 128):
        super().__init__()
        if out_px % 8 or crop_px % out_px:
            raise ValueError(f"crop_quality needs out_px a multiple of 8 and crop_px a multiple of out_px, "
                             f"got {crop_px} → {out_px}")
        self.config = {"crop_px": crop_px, "out_px": out_px, "depth_scale_per_m": depth_scale_per_m,
                       "hidden": hidden}
        self.metadata: dict = {}
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(64 * (out_px // 8) ** 2, hidden), nn.ReLU(),
                                        nn.Linear(hidden, 1))

    def forward(self, crops_m: torch.Tensor) -> torch.Tensor:
        s = self.config["out_px"]
        if crops_m.ndim != 4 or crops_m.shape[1:] != (1, s, s):
            raise ValueError(f"crop_quality expects (N, 1, {s}, {s}) crops, got {tuple(crops_m.shape)}")
        x = (crops_m * self.config["depth_scale_per_m"]).clamp(-1.0, 1.0)
        return self.classifier(self.features(x))[:, 0]

    def example_inputs(self, batch: int = 2, seed: int = 0) -> tuple[torch.Tensor]:
        g = torch.Generator().manual_seed(seed)
        return (0.02 * torch.randn(batch, 1, self.config["out_px"], self.config["out_px"], generator=g),)
