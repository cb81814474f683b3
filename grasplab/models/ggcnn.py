"""GG-CNN and GG-CNN2 (Morrison et al.): per-pixel grasp quality, angle (cos 2θ, sin 2θ) and width.

GG-CNN: conv 9×9/3 (32), 5×5/2 (16), 3×3/2 (8), the mirrored transposed convolutions and four
2×2 heads — 62,420 parameters for depth input. GG-CNN2: dilated convolutions and bilinear
up-sampling — 66,676 parameters. Both map an H×W input (300×300 in the papers) to four H×W maps.
"""
from __future__ import annotations

import torch
from torch import nn

from .base import GraspMapModel, register_model
from .layers import SubPixelConvTranspose2d, head_channels, head_to_maps


@register_model("ggcnn")
class GGCNN(GraspMapModel):
    size_multiple = 12          # strides 3 · 2 · 2
    def __init__(self, input_channels: int = 1, filters: tuple[int, int, int] = (32, 16, 8),
                 head_filters: int | None = None, angle_bins: int = 0):
        # head_filters: channels of the last up-sampling layer (GG-CNN: filters[0]); that layer is
        # ~80 % of the arithmetic, so 8 makes the network ~3× cheaper (see `grasplab train --teacher`)
        extra = {} if head_filters is None else {"head_filters": int(head_filters)}
        if angle_bins:
            extra["angle_bins"] = int(angle_bins)
        super().__init__(input_channels=input_channels, filters=list(filters), **extra)
        f1, f2, f3 = filters
        fh = f1 if head_filters is None else int(head_filters)
        self.encoder = nn.Sequential(
            nn.Conv2d(input_channels, f1, 9, stride=3, padding=3), nn.ReLU(inplace=True),
            nn.Conv2d(f1, f2, 5, stride=2, padding=2), nn.ReLU(inplace=True),
            nn.Conv2d(f2, f3, 3, stride=2, padding=1), nn.ReLU(inplace=True),
        )
        self.decoder = nn.Sequential(
            nn.ConvTranspose2d(f3, f3, 3, stride=2, padding=1, output_padding=1), nn.ReLU(inplace=True),
            nn.ConvTranspose2d(f3, f2, 5, stride=2, padding=2, output_padding=1), nn.ReLU(inplace=True),
            nn.ConvTranspose2d(f2, fh, 9, stride=3, padding=3, output_padding=1), nn.ReLU(inplace=True),
        )
        # the four 2×2 heads (quality, cos 2θ, sin 2θ, width) as one 4-channel convolution:
        # the same parameters, one pass over the feature map instead of four
        self.heads = nn.Conv2d(fh, head_channels(self.angle_bins), kernel_size=2)

    def head_output(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        return self.heads(self.decoder(self.encoder(x)))

    def for_inference(self) -> nn.Module:
        """The same maps from sub-pixel convolutions in place of the strided transposed ones
        (~80 % of the work is the last); channels-last."""
        return _GGCNNInference(self).eval().to(memory_format=torch.channels_last)


class _GGCNNInference(nn.Module):
    """GG-CNN for inference: up-sampling by sub-pixel convolutions; the last one stays
    uncropped through its ReLU and the heads, and only the four output maps are cropped."""

    def __init__(self, model: GGCNN):
        super().__init__()
        import copy
        m = copy.deepcopy(model)
        self.check_input = m.check_input
        self.angle_bins = m.angle_bins
        self.encoder = m.encoder
        layers = list(m.decoder)
        self.decoder = nn.Sequential(*[SubPixelConvTranspose2d(x) if isinstance(x, nn.ConvTranspose2d) else x
                                       for x in layers[:-2]])
        self.last = SubPixelConvTranspose2d(layers[-2], crop=False)
        self.heads = m.heads

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        self.check_input(x)
        f = self.decoder(self.encoder(x))
        out_h, out_w = self.last.output_size(f.shape[-2], f.shape[-1])
        k = self.heads.kernel_size[0] - 1
        p = self.last.margin
        y = self.heads(torch.relu_(self.last(f)))[..., p:p + out_h - k, p:p + out_w - k]
        return head_to_maps(y, self.angle_bins)


@register_model("ggcnn2")
class GGCNN2(GraspMapModel):
    size_multiple = 4           # two 2× poolings
    def __init__(self, input_channels: int = 1, filters: tuple[int, int, int, int] = (16, 16, 32, 16),
                 l3_kernel: int = 5, dilations: tuple[int, int] = (2, 4), angle_bins: int = 0):
        super().__init__(input_channels=input_channels, filters=list(filters), l3_kernel=l3_kernel,
                         dilations=list(dilations), **({"angle_bins": int(angle_bins)} if angle_bins else {}))
        f1, f2, f3, f4 = filters
        k = l3_kernel
        self.features = nn.Sequential(
            nn.Conv2d(input_channels, f1, 11, padding=5), nn.ReLU(inplace=True),
            nn.Conv2d(f1, f1, 5, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(2, stride=2),
            nn.Conv2d(f1, f2, 5, padding=2), nn.ReLU(inplace=True),
            nn.Conv2d(f2, f2, 5, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(2, stride=2),
            nn.Conv2d(f2, f3, k, dilation=dilations[0], padding=(k - 1) // 2 * dilations[0]), nn.ReLU(inplace=True),
            nn.Conv2d(f3, f3, k, dilation=dilations[1], padding=(k - 1) // 2 * dilations[1]), nn.ReLU(inplace=True),
            nn.UpsamplingBilinear2d(scale_factor=2),
            nn.Conv2d(f3, f4, 3, padding=1), nn.ReLU(inplace=True),
            nn.UpsamplingBilinear2d(scale_factor=2),
            nn.Conv2d(f4, f4, 3, padding=1), nn.ReLU(inplace=True),
        )
        # the four 1×1 heads as one convolution (or a quality and a width per angle bin)
        self.heads = nn.Conv2d(f4, head_channels(self.angle_bins), kernel_size=1)

    def head_output(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        return self.heads(self.features(x))
