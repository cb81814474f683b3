"""A residual encoder–decoder for per-pixel grasps in the spirit of GR-ConvNet (Kumra et al.,
IROS 2020): a 9×9 convolution and two stride-2 convolutions, residual blocks at a quarter of the
resolution, two stride-2 transposed convolutions and a 9×9 convolution back to full size, then
GG-CNN's four maps. About 1.9 M parameters at the default width (GG-CNN: 62 k), for accuracy
rather than camera-rate CPU inference."""
from __future__ import annotations

import torch
from torch import nn

from .base import GraspMapModel, register_model
from .layers import head_channels


def _conv_bn(cin: int, cout: int, k: int, stride: int = 1, transpose: bool = False) -> nn.Sequential:
    conv = (nn.ConvTranspose2d(cin, cout, k, stride=stride, padding=(k - stride) // 2) if transpose
            else nn.Conv2d(cin, cout, k, stride=stride, padding=(k - stride) // 2 if stride > 1 else k // 2))
    return nn.Sequential(conv, nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class _ResidualBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1), nn.BatchNorm2d(channels),
                                  nn.ReLU(inplace=True), nn.Conv2d(channels, channels, 3, padding=1),
                                  nn.BatchNorm2d(channels))

    def forward(self, x):
        return x + self.body(x)


@register_model("grconvnet")
class GRConvNet(GraspMapModel):
    size_multiple = 4           # two stride-2 stages

    def __init__(self, input_channels: int = 1, channels: int = 32, res_blocks: int = 5, dropout: float = 0.1,
                 angle_bins: int = 0):
        super().__init__(input_channels=input_channels, channels=channels, res_blocks=res_blocks, dropout=dropout,
                         **({"angle_bins": int(angle_bins)} if angle_bins else {}))
        c = channels
        self.encoder = nn.Sequential(_conv_bn(input_channels, c, 9), _conv_bn(c, 2 * c, 4, 2), _conv_bn(2 * c, 4 * c, 4, 2))
        self.residual = nn.Sequential(*[_ResidualBlock(4 * c) for _ in range(res_blocks)])
        self.decoder = nn.Sequential(_conv_bn(4 * c, 2 * c, 4, 2, transpose=True), _conv_bn(2 * c, c, 4, 2, transpose=True),
                                     nn.Conv2d(c, c, 9, padding=4), nn.ReLU(inplace=True))
        self.dropout = nn.Dropout2d(dropout)
        # quality, cos 2θ, sin 2θ, width (or a quality and a width per angle bin)
        self.heads = nn.Conv2d(c, head_channels(self.angle_bins), 1)

    def head_output(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        return self.heads(self.dropout(self.decoder(self.residual(self.encoder(x)))))
