"""FC-GQ-CNN: a trained GQ-CNN evaluated densely over a whole depth image (Dex-Net 4.0's fully
convolutional GQ-CNN, Satish et al. 2019), with the crop network's own weights.

The GQ-CNN's first dense layer over the pooled ``filters × (S/4)²`` feature map is the same as a
``S/4 × S/4`` convolution over the pooled feature map of the whole image; its later dense layers
are 1×1 convolutions. One pass over an image that has been rotated by θ and block-averaged like
the crops (``crop_px / out_px``) therefore scores, at every 4th pooled position, the grasp at
angle θ centred there — the crop GQ-CNN's score, up to the crops' zero padding at their borders
(the dense pass sees the real neighbours there). The gripper depth enters only through a bias of
the merge layer, so D depths cost D cheap 1×1 heads, not D passes.
"""
from __future__ import annotations

import copy

import torch
from torch import nn

from .gqcnn import GQCNN
from .layers import in_cache_chunks

STRIDE = 4                     # two 2× max-pools: one output per 4 input pixels of the block-averaged image


def fast_conv_dtype() -> torch.dtype:
    """bfloat16 where the CPU multiplies it natively (AVX-512 BF16 or AMX), else float32."""
    cpu = torch.cpu
    native = any(getattr(cpu, f, lambda: False)() for f in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"))
    return torch.bfloat16 if native else torch.float32


class DenseGQCNN(nn.Module):
    """(B, 1, H, W) block-averaged, rotated depth images (m) and (D,) or (B, D, H', W') gripper
    depths (m) → (B, D, H', W') success logits, H' = (H // 4) − S/4 + 1."""

    def __init__(self, gqcnn: GQCNN, conv_dtype: torch.dtype = torch.float32):
        super().__init__()
        c = gqcnn.config
        self.config = dict(c)
        self.im_px = int(c["im_px"])
        # the convolutions and pools, channels-last (oneDNN's fast layout for these 16-channel maps:
        # ~1.4× faster convolutions, plans in 0.85–0.93 of the time on a 2-core CPU, BENCHMARKS) with
        # in-place ReLUs; a copy, so the crop network keeps its own layout
        self.features = copy.deepcopy(nn.Sequential(*list(gqcnn.image_stream)[:-3]))
        for m in self.features:
            if isinstance(m, nn.ReLU):
                m.inplace = True
        # in bfloat16 on CPUs with bfloat16 dot products (``fast_conv_dtype``): ~1.8× faster
        # convolutions; inputs are standardised in float32 first, the features returned in float32
        self.conv_dtype = conv_dtype
        self.features.to(dtype=conv_dtype, memory_format=torch.channels_last)
        fc3: nn.Linear = gqcnn.image_stream[-2]
        f, k = int(c["filters"]), self.im_px // STRIDE
        self.fc3 = nn.Conv2d(f, fc3.out_features, k)
        self.merge = nn.Conv2d(fc3.out_features, fc3.out_features, 1)
        self.out = nn.Conv2d(fc3.out_features, 1, 1)
        with torch.no_grad():
            self.fc3.weight.copy_(fc3.weight.reshape(fc3.out_features, f, k, k))  # Flatten order: (C, H, W)
            self.fc3.bias.copy_(fc3.bias)
            self.merge.weight.copy_(gqcnn.merge_image.weight[:, :, None, None])
            self.merge.bias.copy_(gqcnn.merge_image.bias)
            self.out.weight.copy_(gqcnn.out.weight[:, :, None, None])
            self.out.bias.copy_(gqcnn.out.bias)
        self.pose_stream = gqcnn.pose_stream
        self.merge_pose = gqcnn.merge_pose
        self.eval()

    def image_features(self, images_m: torch.Tensor) -> torch.Tensor:
        """(B, 1, H, W) → (B, fc, H', W'): the merge layer's image part at every position."""
        return in_cache_chunks(self._image_features, images_m, self.config["filters"] * images_m[0].numel())

    def _image_features(self, images_m: torch.Tensor) -> torch.Tensor:
        return self.merge(torch.relu(self.fc3(self._conv_features(images_m))))

    def conv_features(self, images_m: torch.Tensor) -> torch.Tensor:
        """(B, 1, H, W) → (B, filters, H/4, W/4): the convolutions and pools, whose every
        ``im_px/4``-square window is one grasp's pooled crop."""
        return in_cache_chunks(self._conv_features, images_m, self.config["filters"] * images_m[0].numel())

    def _conv_features(self, images_m: torch.Tensor) -> torch.Tensor:
        c = self.config
        x = ((images_m - c["im_mean"]) / c["im_std"]).to(self.conv_dtype).contiguous(memory_format=torch.channels_last)
        return self.features(x).float()

    def image_features_at(self, conv: torch.Tensor, b, i, j) -> torch.Tensor:
        """``image_features`` at P chosen outputs (batch ``b``, row ``i``, column ``j``: integer
        arrays) from ``conv_features``: (P, fc). The same numbers as the dense pass there, at the
        cost of those P windows only (a frame's object covers a small part of its rotated views)."""
        k = self.im_px // STRIDE
        windows = conv.unfold(2, k, 1).unfold(3, k, 1)          # (B, f, H', W', k, k), a view
        b, i, j = (torch.as_tensor(a, dtype=torch.long) for a in (b, i, j))
        x = windows[b, :, i, j].reshape(len(b), -1)              # (P, f·k·k) in the Flatten order (C, H, W)
        x = torch.relu(nn.functional.linear(x, self.fc3.weight.reshape(len(self.fc3.weight), -1), self.fc3.bias))
        return nn.functional.linear(x, self.merge.weight[:, :, 0, 0], self.merge.bias)

    def head_at(self, features: torch.Tensor, depth_m: torch.Tensor) -> torch.Tensor:
        """Success logits (P,) from ``image_features_at`` (P, fc) and a gripper depth per position (P,)."""
        pose = self.pose_features(depth_m)
        return nn.functional.linear(torch.relu(features + pose), self.out.weight[:, :, 0, 0], self.out.bias)[:, 0]

    def crop_logits(self, crops_m: torch.Tensor, depth_m: torch.Tensor) -> torch.Tensor:
        """The crop GQ-CNN's logits (B,) of (B, 1, S, S) crops at gripper depths (B,), through these
        layers (their layout and number type)."""
        zero = torch.zeros(len(crops_m), dtype=torch.long)
        return self.head_at(self.image_features_at(self.conv_features(crops_m), torch.arange(len(crops_m)), zero, zero),
                            depth_m)

    def pose_features(self, depth_m: torch.Tensor) -> torch.Tensor:
        """(...,) gripper depths → (..., fc): the merge layer's depth part."""
        c = self.config
        return self.merge_pose(self.pose_stream(((depth_m - c["depth_mean"]) / c["depth_std"])[..., None]))

    def head(self, features: torch.Tensor, depth_m: torch.Tensor) -> torch.Tensor:
        """Success logits (B, H', W') from ``image_features`` (B, fc, H', W') and one gripper depth
        per position (B, H', W') or one for all (scalar tensor)."""
        pose = self.pose_features(depth_m.reshape(-1)).reshape(*depth_m.shape, -1)    # (..., fc)
        pose = pose.permute(0, 3, 1, 2) if depth_m.ndim == 3 else pose.reshape(1, -1, 1, 1)
        return self.out(torch.relu(features + pose))[:, 0]

    def forward(self, images_m: torch.Tensor, depth_m: torch.Tensor) -> torch.Tensor:
        """Logits (B, D, H', W') for D gripper depths: (D,) for every position or (B, D, H', W')."""
        feats = self.image_features(images_m)
        per_position = depth_m.ndim != 1
        return torch.stack([self.head(feats, depth_m[:, k] if per_position else depth_m[k])
                            for k in range(depth_m.shape[1 if per_position else 0])], 1)

    def centre_offset_px(self) -> float:
        """Where output (i, j)'s crop centre lies in the block-averaged image: (4j + off, 4i + off)."""
        return (self.im_px - 1) / 2.0
