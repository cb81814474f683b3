"""Inference-time re-expressions of layers: the same function, computed faster on CPUs."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


#: a batch's first-layer activations are kept to about this many floats (4 MB) at inference: a
#: whole batch of wide feature maps spills out of the CPU's caches, and the memory-bound layers
#: after the convolutions (ReLU, LRN, pooling) then run slower: 400 GQ-CNN crops 150 → 68 ms, a
#: dense pass over 16 rotated 120² images 95 → 52 ms in pieces (2-core VM)
CACHE_CHUNK_FLOATS = 1 << 20


def in_cache_chunks(fn, x: torch.Tensor, floats_per_item: int, *rest: torch.Tensor) -> torch.Tensor:
    """``fn(x, *rest)`` over the batch in pieces whose activations (``floats_per_item`` each) fit
    the CPU's caches, concatenated; one call when gradients are needed or the batch is small."""
    n = max(1, CACHE_CHUNK_FLOATS // max(1, floats_per_item))
    if torch.is_grad_enabled() or len(x) <= n:
        return fn(x, *rest)
    return torch.cat([fn(x[s:s + n], *(r[s:s + n] for r in rest)) for s in range(0, len(x), n)])


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


def head_channels(angle_bins: int) -> int:
    """Output channels of a grasp-map head: quality, cos 2θ, sin 2θ, width (GG-CNN), or with
    ``angle_bins`` K > 0 a quality, K angle-bin logits and a width per bin (2K + 1)."""
    return 2 * angle_bins + 1 if angle_bins else 4


def angle_bin_centres(bins: int, like: torch.Tensor) -> torch.Tensor:
    """``datasets.ggcnn_targets.angle_bin_centres_rad`` as a tensor with ``like``'s dtype and device."""
    from ..datasets.ggcnn_targets import angle_bin_centres_rad
    return torch.as_tensor(angle_bin_centres_rad(bins), dtype=like.dtype, device=like.device)


def head_to_maps(y: torch.Tensor, angle_bins: int) -> tuple[torch.Tensor, ...]:
    """The four standard (B, 1, H, W) maps — quality, cos 2θ, sin 2θ, width — from a head's output.

    Binned heads (quality, K angle logits, K widths): quality as is; the angle is the
    softmax-weighted mean direction (in 2θ) of the likeliest bin and its two neighbours
    (cyclic), which interpolates within a bin without averaging two distant good angles; width
    = the likeliest bin's. Everything downstream (decoding, augmentation, ONNX) then treats
    both kinds of head alike.
    """
    if not angle_bins:
        return tuple(y.split(1, dim=1))
    k = angle_bins
    p = torch.softmax(y[:, 1:k + 1], dim=1)
    best = p.argmax(dim=1, keepdim=True)
    centres = angle_bin_centres(k, y)
    c2, s2 = torch.cos(2 * centres), torch.sin(2 * centres)
    cos_sum = torch.zeros_like(y[:, :1])
    sin_sum = torch.zeros_like(cos_sum)
    for shift in (-1, 0, 1):
        idx = torch.remainder(best + shift, k)
        w = p.gather(1, idx)
        cos_sum = cos_sum + w * c2[idx]
        sin_sum = sin_sum + w * s2[idx]
    norm = torch.sqrt(cos_sum ** 2 + sin_sum ** 2).clamp_min(1e-12)
    width = y[:, k + 1:].gather(1, best)
    return y[:, :1], cos_sum / norm, sin_sum / norm, width


@torch.no_grad()
def binned_head_from_angle_head(head: nn.Conv2d, bins: int, sharpness: float = 4.0) -> nn.Conv2d:
    """A binned head that starts where a trained GG-CNN head (quality, cos 2θ, sin 2θ, width) is:
    the same quality and width (in every bin), and bin logits sharpness·(cos 2θ·cos 2θ_k +
    sin 2θ·sin 2θ_k), which peak at the bin nearest the old angle. Fine-tuning then only has to
    learn where a pixel is good at several angles."""
    if head.out_channels != 4:
        raise ValueError(f"expected a 4-channel GG-CNN head, got {head.out_channels} channels")
    new = nn.Conv2d(head.in_channels, head_channels(bins), head.kernel_size, head.stride, head.padding,
                    bias=head.bias is not None)
    centres = angle_bin_centres(bins, head.weight)
    c2, s2 = torch.cos(2 * centres), torch.sin(2 * centres)
    for name in ("weight", "bias"):
        old = getattr(head, name)
        if old is None:
            continue
        shape = (-1,) + (1,) * (old.ndim - 1)
        logits = sharpness * (old[1:2] * c2.view(shape) + old[2:3] * s2.view(shape))
        getattr(new, name).copy_(torch.cat([old[0:1], logits, old[3:4].expand_as(logits)]))
    return new
