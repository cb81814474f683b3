"""Inference-time re-expressions of layers: the same function, computed faster on CPUs."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class SubPixelConvTranspose2d(nn.Module):
    """A strided ``ConvTranspose2d`` rewritten as one ordinary convolution + pixel shuffle.

    Output pixel ``o`` of a transposed convolution with stride s only meets the kernel taps
    ``k ≡ (o + padding) mod s``: each of the s² output phases is a plain ⌈k/s⌉² convolution of
    the input. Stacking the phases as channels and shuffling them into place gives the same
    numbers (to float rounding) with the same multiply-adds, but as a dense convolution, which
    oneDNN runs ~1.7× faster than its transposed kernel (2-core AVX2 CPU). Built from a trained layer; not trained.

    With ``crop=False`` the output keeps ``margin`` extra pixels
    on the top/left (and up to s−1 more bottom/right) for the caller to crop later, e.g. after
    a following pointwise or small convolution, which avoids copying a strided view.
    """

    def __init__(self, deconv: nn.ConvTranspose2d, crop: bool = True):
        super().__init__()
        if deconv.groups != 1 or deconv.dilation != (1, 1) or deconv.stride[0] != deconv.stride[1] \
                or deconv.kernel_size[0] != deconv.kernel_size[1] or deconv.padding[0] != deconv.padding[1]:
            raise ValueError("SubPixelConvTranspose2d supports square, ungrouped, undilated transposed convolutions")
        w = deconv.weight.detach()                       # (C_in, C_out, k, k)
        c_in, c_out, k, _ = w.shape
        s, p = deconv.stride[0], deconv.padding[0]
        m = -(-k // s)                                    # taps per phase and axis
        phase_w = torch.zeros(c_out, s, s, c_in, m, m, dtype=w.dtype)
        for ry in range(s):
            for jy in range(m):
                ky = ry + (m - 1 - jy) * s
                if ky >= k:
                    continue
                for rx in range(s):
                    for jx in range(m):
                        kx = rx + (m - 1 - jx) * s
                        if kx < k:
                            phase_w[:, ry, rx, :, jy, jx] = w[:, :, ky, kx].T
        self.conv = nn.Conv2d(c_in, c_out * s * s, m, padding=m - 1, bias=deconv.bias is not None)
        with torch.no_grad():
            self.conv.weight.copy_(phase_w.reshape(c_out * s * s, c_in, m, m))
            if deconv.bias is not None:
                self.conv.bias.copy_(deconv.bias.detach().repeat_interleave(s * s))
        self.stride, self.padding, self.kernel = s, p, k
        self.output_padding = deconv.output_padding
        self.crop = crop

    @property
    def margin(self) -> int:
        return self.padding

    def output_size(self, h: int, w: int) -> tuple[int, int]:
        s, p, k = self.stride, self.padding, self.kernel
        return (h - 1) * s - 2 * p + k + self.output_padding[0], (w - 1) * s - 2 * p + k + self.output_padding[1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u = F.pixel_shuffle(self.conv(x), self.stride)
        if not self.crop:
            return u
        out_h, out_w = self.output_size(x.shape[-2], x.shape[-1])
        p = self.padding
        return u[..., p:p + out_h, p:p + out_w].contiguous(memory_format=torch.channels_last)
