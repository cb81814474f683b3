"""Dex-Net 2.0's Grasp Quality CNN: the probability that a planar grasp succeeds, from a depth
crop aligned with the grasp and the gripper's depth.

The image stream follows gqcnn's Dex-Net 2.0 configuration (DESIGN B5): conv 7×7, conv 5×5,
local response normalisation, max-pool 2, conv 3×3, conv 3×3, LRN, max-pool 2, a dense layer;
the gripper depth goes through a 16-unit dense layer; both merge in a dense layer and end in the
success logit. The published head is two softmax outputs; one logit is the same model (the
softmax of two logits is the sigmoid of their difference). Inputs are standardised inside the
network with the training set's statistics, which are part of the model's config, so a saved
model needs nothing else to run. ``filters`` and ``fc_size`` (published: 64 and 1024, ~5.4 M
parameters at 32×32) can be shrunk for CPU training. Weights start as in gqcnn (He-scaled
truncated normal): PyTorch's default, smaller start left small nets stuck predicting the
majority class for epochs.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .base import SavedModule, register_model
from .layers import in_cache_chunks

#: gqcnn's LRN parameters (TensorFlow's ``local_response_normalization``: depth radius 2,
#: alpha 2e-5, beta 0.75, bias 1). TensorFlow multiplies the window's sum of squares by alpha;
#: PyTorch by alpha / size, hence alpha × 5 below.
LRN_RADIUS, LRN_ALPHA, LRN_BETA, LRN_BIAS = 2, 2.0e-5, 0.75, 1.0


class ChannelLRN(nn.Module):
    """TensorFlow's local response normalisation across channels:
    ``x / (bias + alpha · Σ_{|c' − c| ≤ radius} x_{c'}²) ** beta``. The same numbers as
    ``nn.LocalResponseNorm(2r + 1, alpha (2r + 1), beta, bias)``, which goes through a 3-D average
    pool and took a third of a dense FC-GQ-CNN pass on a CPU; here the window sums are one 1×1
    convolution of ``x²`` with a banded 0/1 matrix (one pass that the convolution library
    vectorises: 1.2–2× faster than a cumulative sum over channels in microbenchmarks; an
    FC-GQ-CNN plan 51 → 39 ms, BENCHMARKS.md)."""

    def __init__(self, radius: int = LRN_RADIUS, alpha: float = LRN_ALPHA, beta: float = LRN_BETA,
                 bias: float = LRN_BIAS):
        super().__init__()
        self.radius, self.alpha, self.beta, self.bias = radius, alpha, beta, bias
        self._band: torch.Tensor | None = None           # built for the input's channels; not saved

    def _window(self, x: torch.Tensor) -> torch.Tensor:
        c = x.shape[1]
        if self._band is None or self._band.shape[0] != c or self._band.dtype != x.dtype or self._band.device != x.device:
            i = torch.arange(c, device=x.device)
            self._band = ((i[:, None] - i[None, :]).abs() <= self.radius).to(x.dtype)[:, :, None, None]
        return nn.functional.conv2d(x * x, self._band)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self._window(x).mul_(self.alpha).add_(self.bias)
        if self.beta == 0.75:                                                  # y^-0.75 = 1 / (√y · y^¼): no pow
            s = y.sqrt_()
            return x / (s * s.sqrt())
        return x * y.pow_(-self.beta)


def _lrn() -> nn.Module:
    return ChannelLRN()


@register_model("gqcnn")
class GQCNN(SavedModule, nn.Module):
    """(N, 1, S, S) grasp-aligned depth crops (m) and (N,) gripper depths (m) → (N,) logits."""

    architecture = "gqcnn"
    default_policy = "gqcnn-cem"         # Dex-Net 2.0's cross-entropy policy (gqcnn-rank: sample and rank)

    def __init__(self, im_px: int = 32, filters: int = 64, fc_size: int = 1024, pose_fc: int = 16,
                 im_mean: float = 0.0, im_std: float = 1.0, depth_mean: float = 0.0, depth_std: float = 1.0):
        super().__init__()
        if im_px % 4 or im_px < 8:
            raise ValueError(f"gqcnn needs crops whose side is a multiple of 4 (two 2× poolings), got {im_px}")
        if not (im_std > 0 and depth_std > 0):
            raise ValueError(f"gqcnn's standardisation needs positive standard deviations, got {im_std}, {depth_std}")
        self.config = {"im_px": im_px, "filters": filters, "fc_size": fc_size, "pose_fc": pose_fc,
                       "im_mean": float(im_mean), "im_std": float(im_std),
                       "depth_mean": float(depth_mean), "depth_std": float(depth_std)}
        self.metadata: dict = {}
        f = filters
        self.image_stream = nn.Sequential(
            nn.Conv2d(1, f, 7, padding=3), nn.ReLU(),                      # conv1_1
            nn.Conv2d(f, f, 5, padding=2), nn.ReLU(), _lrn(), nn.MaxPool2d(2),   # conv1_2
            nn.Conv2d(f, f, 3, padding=1), nn.ReLU(),                      # conv2_1
            nn.Conv2d(f, f, 3, padding=1), nn.ReLU(), _lrn(), nn.MaxPool2d(2),   # conv2_2
            nn.Flatten(), nn.Linear(f * (im_px // 4) ** 2, fc_size), nn.ReLU())  # fc3
        self.pose_stream = nn.Sequential(nn.Linear(1, pose_fc), nn.ReLU())      # pc1
        self.merge_image = nn.Linear(fc_size, fc_size)                          # fc4 (image part, with bias)
        self.merge_pose = nn.Linear(pose_fc, fc_size, bias=False)               # fc4 (pose part)
        self.out = nn.Linear(fc_size, 1)                                        # fc5
        for m in self.modules():       # gqcnn's init: truncated normal, std sqrt(2 / fan-in); zero biases
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.trunc_normal_(m.weight, std=(2.0 / m.weight[0].numel()) ** 0.5)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, crops_m: torch.Tensor, depth_m: torch.Tensor) -> torch.Tensor:
        s = self.config["im_px"]
        if crops_m.ndim != 4 or crops_m.shape[1:] != (1, s, s):
            raise ValueError(f"gqcnn expects (N, 1, {s}, {s}) depth crops, got {tuple(crops_m.shape)}")
        depth_m = depth_m.reshape(-1, 1)
        if depth_m.shape[0] != crops_m.shape[0]:
            raise ValueError(f"gqcnn needs one gripper depth per crop, got {depth_m.shape[0]} for {crops_m.shape[0]}")
        return in_cache_chunks(self._logits, crops_m, self.config["filters"] * s * s, depth_m)

    def _logits(self, crops_m: torch.Tensor, depth_m: torch.Tensor) -> torch.Tensor:
        c = self.config
        im = self.image_stream((crops_m - c["im_mean"]) / c["im_std"])
        pose = self.pose_stream((depth_m - c["depth_mean"]) / c["depth_std"])
        return self.out(torch.relu(self.merge_image(im) + self.merge_pose(pose)))[:, 0]

    def predict_proba(self, crops_m: torch.Tensor, depth_m: torch.Tensor) -> torch.Tensor:
        """Probability of success per grasp (inference mode)."""
        with torch.inference_mode():
            return torch.sigmoid(self(crops_m, depth_m))

    def predict_proba_batched(self, crops_m: np.ndarray, depth_m: np.ndarray, batch: int = 1024) -> np.ndarray:
        """Success probabilities of many (N, 1, S, S) crops and (N,) depths, ``batch`` at a time
        (eval mode, no gradients)."""
        self.eval()
        out = [self.predict_proba(torch.from_numpy(crops_m[s:s + batch]), torch.from_numpy(depth_m[s:s + batch])).numpy()
               for s in range(0, len(crops_m), batch)]
        return np.concatenate(out) if out else np.zeros(0, np.float32)

    def example_inputs(self, batch: int = 2, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        g = torch.Generator().manual_seed(seed)
        s = self.config["im_px"]
        c = self.config
        return (c["im_mean"] + c["im_std"] * torch.randn(batch, 1, s, s, generator=g),
                c["depth_mean"] + c["depth_std"] * torch.randn(batch, generator=g))
