"""A faithful re-implementation of the GG-CNN paper's detection pipeline, the baseline that
``grasplab bench detect`` times grasplab's detector against.

As in Morrison et al.'s code: the network runs eagerly in PyTorch's default (NCHW) layout with
its transposed convolutions and four separate 2×2 heads; the whole quality, angle and width
maps are blurred with scikit-image's ``gaussian`` (σ = 2, 2, 1; the angle is taken before
blurring); grasps are scikit-image ``peak_local_max`` peaks (min distance 20, threshold 0.2).
Depth hygiene and the crop are grasplab's, identical for both pipelines, so the comparison
is about the network and post-processing.
"""
from __future__ import annotations

import copy

import torch
from torch import nn

from ..datasets.ggcnn_targets import WIDTH_SCALE_PX
from ..errors import GrasplabError
from ..geometry import Grasp2D


def _reference_network(model: nn.Module) -> nn.Module:
    """The model with its fused 4-channel head split back into GG-CNN's four 1-channel heads."""
    ref = copy.deepcopy(model).eval().to(memory_format=torch.contiguous_format)
    fused = ref.heads
    heads = nn.ModuleList()
    for i in range(fused.out_channels):
        h = nn.Conv2d(fused.in_channels, 1, fused.kernel_size)
        with torch.no_grad():
            h.weight.copy_(fused.weight[i:i + 1])
            h.bias.copy_(fused.bias[i:i + 1])
        heads.append(h)
    trunk = nn.Sequential(*(m for name, m in ref.named_children() if name != "heads"))

    class Reference(nn.Module):
        def __init__(self):
            super().__init__()
            self.trunk, self.heads = trunk, heads

        def forward(self, x):
            f = self.trunk(x)
            return tuple(h(f) for h in self.heads)
    return Reference().eval()


class ReferenceGGCNNPipeline:
    """Network + GG-CNN post-processing on an already normalised (1, 1, H, W) input."""

    def __init__(self, model: nn.Module, max_grasps: int = 10, min_distance_px: int = 20,
                 threshold: float = 0.2):
        try:
            from skimage.feature import peak_local_max
            from skimage.filters import gaussian
        except ImportError:
            raise GrasplabError("the reference GG-CNN pipeline needs scikit-image: "
                                "pip install 'grasplab[bench]' (or scikit-image)") from None
        self._peaks, self._gaussian = peak_local_max, gaussian
        self.net = _reference_network(model)
        self.max_grasps, self.min_distance_px, self.threshold = max_grasps, min_distance_px, threshold

    def __call__(self, x: torch.Tensor) -> list[tuple[Grasp2D, float]]:
        with torch.no_grad():
            q, cos2, sin2, width = self.net(x)
            q_img = q.numpy().squeeze()
            ang_img = (torch.atan2(sin2, cos2) / 2.0).numpy().squeeze()
            width_img = width.numpy().squeeze() * WIDTH_SCALE_PX
        q_img = self._gaussian(q_img, 2.0, preserve_range=True)
        ang_img = self._gaussian(ang_img, 2.0, preserve_range=True)
        width_img = self._gaussian(width_img, 1.0, preserve_range=True)
        peaks = self._peaks(q_img, min_distance=self.min_distance_px, threshold_abs=self.threshold,
                            num_peaks=self.max_grasps)
        out = []
        for r, c in peaks:
            w = max(float(width_img[r, c]), 0.0)      # a negative width map value: a zero-width grasp
            out.append((Grasp2D((float(c), float(r)), float(ang_img[r, c]), w, w / 2), float(q_img[r, c])))
        return out
