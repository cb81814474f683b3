"""The fully convolutional GQ-CNN policy (FC-GQ-CNN, Satish et al. 2019; Dex-Net 4.0's parallel-jaw
policy): score every position, angle and gripper depth of a depth image in one dense pass of a
trained GQ-CNN (``models.fc_gqcnn``), instead of sampling grasps and scoring crops one by one.

The plan: the region of interest is the object mask's box (or what stands ≥ 1 cm above the
fitted table) plus half a crop; it is rotated to ``angle_bins`` angles in [−90°, 90°) and
block-averaged like the training crops (metric, with the model's ``training_camera``, like the
crop policies); one pass scores the grasp centred at every 4th block-averaged pixel at each
angle, for ``depth_bins`` gripper depths 2.5–4 cm below the highest point within 1 cm of the
centre (deeper than Dex-Net's sampler's 0.5–4 cm: see ``FCGQCNNConfig``). Positions off the mask or within half a crop (48 px, the
sampler's margin) of the border score nothing, and each view is rotated and convolved only
over the part those positions read (with an even number of angles, views 90° apart are sampled
once). Non-maximum suppression keeps the best grasp per neighbourhood; the ``refine`` best are
re-scored by the crop GQ-CNN at their centre and half a grid step along and across their axis,
and with ``refine_angle`` half an angle bin either way (the crops' borders are what it was
trained on, and the dense grid is coarse). Suppression is by place and angle: an angle π/8 or more
away at the same place is kept (a clearance check may need it when a finger lands on a neighbour). A grasp's width is
the object's extent across the jaws at its depth (the opening when it is wider than that).
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass

import numpy as np

from ..errors import ConfigError
from ..geometry import Grasp2D
from ..imaging import Frame, across_walls, objects_above_table
from ..imaging.table_plane import fit_table_plane
from ..imaging.camera_match import frame_table_depth_m
from ..presets import published
from .base import Candidates
from .gqcnn_policy import GQCNNPolicy, GQCNNPolicyConfig, check_conv_dtype
from .registry import register_policy

_SAMPLER = published("policy", "sampler")


@dataclass(frozen=True)
class FCGQCNNConfig:
    # 8 angle bins, the best re-scored half a bin either way (``refine_angle``): Dex-Net 4.0's 16 bins'
    # accuracy within the noise of every measurement here (held-out rectangles, singulated and
    # clutter trials; BENCHMARKS.md) at ~0.65 of the planning time (~43 ms for a heap seen whole, 2 cores)
    angle_bins: int = 8
    depth_bins: int = 4
    # 2.5–4 cm below the local top, not the sampler's 0.5–4 cm: the GQ-CNN barely tells gripper
    # depths apart (its data hold each grasp at one depth), and shallow grasps slip when lifted —
    # simulated trials on validation objects (procedural:40 seed 3): 80 % lifted vs 42.5 %
    min_depth_offset_m: float = 0.025
    max_depth_offset_m: float = _SAMPLER["max_depth_offset_m"]
    top_window_m: float = 0.01                 # gripper depths count from the highest point this near the centre
    nms_radius_m: float = 0.02                 # one grasp per this neighbourhood (metres at the grasp's depth) ...
    # ... and this near in angle (π/2: any angle). π/8 keeps other angles at the best places, which
    # a clearance check needs when the best angle lands a finger on a neighbour (validation trials,
    # procedural:40 seed 3, behind --clearance: 5-object heaps cleared 81.3 → 85.0 %, singulated 84.5 → 86.5 %;
    # alone, singulated 74.0 → 76.0 %)
    nms_angle_rad: float = math.pi / 8
    refine: int = 10                           # best grasps re-scored by the crop GQ-CNN (0: the dense scores)
    refine_shift: bool = True                  # ... also half a grid step along and across the axis (5 crops each)
    refine_angle: bool = True                  # ... also half an angle bin either way (2 crops more each)
    object_min_height_m: float = 0.01          # without a mask: positions this far above the fitted table ...
    exclude_walls: bool = True                 # ... less a bin's walls (grasplab.imaging.bin_walls)
    # the convolutions' number type (dense pass and re-scored crops): "auto" is bfloat16 on CPUs that
    # multiply it natively (AVX-512 BF16, AMX; ~1.8× faster convolutions there), float32 elsewhere; the dense
    # layers after them run in float32 either way
    dense_dtype: str = "auto"

    def __post_init__(self):
        if self.angle_bins < 1 or self.depth_bins < 1:
            raise ConfigError("the FC-GQ-CNN needs at least one angle bin and one depth bin")
        if not 0 <= self.min_depth_offset_m <= self.max_depth_offset_m:
            raise ConfigError("gripper depth offsets must satisfy 0 ≤ min ≤ max")
        if min(self.nms_radius_m, self.nms_angle_rad, self.refine, self.object_min_height_m, self.top_window_m) < 0:
            raise ConfigError("top_window_m, nms_radius_m, nms_angle_rad, refine and object_min_height_m must be ≥ 0")
        check_conv_dtype(self.dense_dtype)


class FCGQCNNPolicy(GQCNNPolicy):
    """A trained GQ-CNN evaluated densely (rotated images × positions × gripper depths)."""

    score_meaning = "the GQ-CNN's probability that the grasp succeeds, scored densely (the best re-scored on crops)"

    def __init__(self, model_path, config: FCGQCNNConfig = FCGQCNNConfig(), max_width_m: float | None = None,
                 gripper: str | None = None):
        super().__init__(model_path, GQCNNPolicyConfig(method="rank", object_min_height_m=config.object_min_height_m,
                                                       conv_dtype=config.dense_dtype,
                                                       exclude_walls=config.exclude_walls), max_width_m, gripper)
        self.name = "fc-gqcnn"
        self.fc_config = config
        self.block = self.crop_px // self.out_px          # image pixels per block-averaged pixel at scale 1
        from ..grasps import load_gripper
        self.jaw_m = load_gripper(gripper or self.model.metadata.get("dataset", {}).get("gripper", "robotiq_2f85")).finger_width_m

    def _candidates(self, frame: Frame, max_grasps: int, rng: np.random.Generator) -> Candidates:
        t = self._torch
        c = self.fc_config
        d, intr = frame.depth_m, frame.intrinsics
        t0 = time.perf_counter()
        mask, walls = frame.mask, None
        plane = fit_table_plane(d)                                # fitted once: the mask and the scale use it
        if mask is None:
            mask, walls = (objects_above_table(d, c.object_min_height_m, plane, intr, c.exclude_walls)
                           if c.object_min_height_m > 0 else (np.ones(d.shape, bool), None))
        # one scale for the frame: the crops' metric side at the table (objects stand within
        # centimetres of it; the mask's median can be pulled by tall things near the camera)
        z_ref = frame_table_depth_m(d, intr, plane)
        self._fit = fx_fit, offset = self.camera_fit(d, intr, z_ref)
        ys, xs = np.nonzero(mask)
        scale = 1.0 if fx_fit is None else float(self.training_camera.crop_scale(self.crop_px, fx_fit, z_ref))
        step = self.block * scale                                 # image px per block-averaged px
        # the region: every mask pixel as a centre, plus half a crop around it, in any rotation
        cx, cy = (xs.min() + xs.max()) / 2.0, (ys.min() + ys.max()) / 2.0
        half = math.hypot(xs.max() - xs.min(), ys.max() - ys.min()) / 2.0 + self.crop_px * scale / 2.0 + step
        n = _QUANTUM_PX * math.ceil(2.0 * half / step / _QUANTUM_PX)   # block-averaged side, a multiple of the stride
        angles = -np.pi / 2 + np.pi * (np.arange(c.angle_bins) + 0.5) / c.angle_bins
        off = self.dense.centre_offset_px()
        k_win = self.dense.im_px // 4                                            # pooled window side
        h = w = n // 4 - k_win + 1                                               # outputs per side
        # each output's centre in the frame; only those on the mask are scored
        u = (4 * np.arange(w) + off + 0.5) * step - n * step / 2.0               # along the grasp axis
        v = (4 * np.arange(h) + off + 0.5) * step - n * step / 2.0
        cos, sin = np.cos(angles)[:, None, None], np.sin(angles)[:, None, None]
        x = cx + u[None, None, :] * cos + v[None, :, None] * sin
        y = cy - u[None, None, :] * sin + v[None, :, None] * cos
        hh, ww = d.shape
        m = self.config.sampler.min_dist_from_boundary_px       # Dex-Net's margin: half a crop from the border
        inside = (x >= m) & (x <= ww - 1 - m) & (y >= m) & (y <= hh - 1 - m)
        on = np.zeros_like(inside)
        on[inside] = mask[np.rint(y[inside]).astype(int), np.rint(x[inside]).astype(int)]
        rows = (4 * np.arange(h) + off).round().astype(int).clip(0, n - 1)
        cols = (4 * np.arange(w) + off).round().astype(int).clip(0, n - 1)
        depths = np.linspace(c.min_depth_offset_m, c.max_depth_offset_m, c.depth_bins)
        kk, ii, jj = np.nonzero(on)
        q = np.full(on.shape, -1.0)
        best_d = np.zeros(on.shape, dtype=np.int64)
        # each view is rotated and convolved only over the part its scored outputs read (their
        # pooled windows plus the convolutions' reach): a heap's region is the square that holds
        # it in every rotation, of which a view needs ~half; the rest stays +inf (far away)
        windows = {int(k): (*_span(ii[kk == k], k_win, n), *_span(jj[kk == k], k_win, n)) for k in np.unique(kk)}
        with t.inference_mode():
            images = t.full((len(angles), 1, n, n), float("inf"))
            self._fill_views(images, t.from_numpy(np.ascontiguousarray(d + offset, dtype=np.float32)), (cx, cy),
                             angles, step, windows)
            feats = []
            for k, (r0, r1, c0, c1) in windows.items():
                sel = kk == k
                conv = self.dense.conv_features(images[k:k + 1, :, r0:r1, c0:c1])
                feats.append(self.dense.image_features_at(conv, np.zeros(sel.sum(), int), ii[sel] - r0 // 4,
                                                          jj[sel] - c0 // 4))
            surface = self._top_between_jaws(images, rows, cols, self._jaw_blocks(intr, z_ref, step))   # (K, h, w)
            if len(kk):
                feats = t.cat(feats)                                             # (P, fc), in (k, i, j) order
                top = surface[kk, ii, jj]
                qp = t.stack([self.dense.head_at(feats, top + float(dd)) for dd in depths], 1).sigmoid().numpy()
                q[kk, ii, jj], best_d[kk, ii, jj] = qp.max(1), qp.argmax(1)
        dense_s = time.perf_counter() - t0
        self.last_dense = {"x_px": x, "y_px": y, "score": q, "angles_rad": angles}   # for figures
        order = np.argsort(-q, axis=None, kind="stable")
        a = np.broadcast_to(angles[:, None, None], q.shape)
        keep = _nms(order, q.ravel(), x.ravel(), y.ravel(), a.ravel(), c.nms_radius_m * intr.fx / z_ref,
                    c.nms_angle_rad, max(max_grasps, c.refine, 1))
        grasps, scores = [], []
        for flat in keep:
            k, i, j = np.unravel_index(flat, q.shape)
            depth = float(surface[k, i, j]) + depths[best_d[k, i, j]] - offset
            width_px = self._width_px(images[k, 0].numpy(), rows[i], cols[j], depth + offset, step, intr)
            jaw_px = self.jaw_m * intr.fx / depth
            grasps.append(Grasp2D((float(x[k, i, j]), float(y[k, i, j])), float(angles[k]), width_px, jaw_px, depth))
            scores.append(float(q[k, i, j]))
        astride = across_walls(grasps, walls)
        grasps, scores = [g for g, a in zip(grasps, astride) if not a], np.array(scores)[~astride]
        if c.refine and grasps:
            shift_px = 2 * step if c.refine_shift else 0.0
            turn_rad = np.pi / c.angle_bins / 2 if c.refine_angle else 0.0
            grasps[:c.refine], scores[:c.refine] = self._refined(d, grasps[:c.refine], shift_px, turn_rad)
        stats = {"dense_s": dense_s, "positions": int(on.sum()), "grid": f"{c.angle_bins}×{h}×{w}×{c.depth_bins}",
                 "sampling_s": 0.0,
                 "grasps_scored": min(c.refine, len(grasps)) * (1 + 4 * c.refine_shift + 2 * c.refine_angle)}
        reason = ("" if grasps else f"its {int(astride.sum())} best grasps all close across a bin's wall" if astride.any()
                  else "no position of the dense grid lies on the object mask")
        return Candidates(grasps, scores, reason=reason, stats=stats)

    def _refined(self, d: np.ndarray, grasps: list[Grasp2D], shift_px: float,
                 turn_rad: float = 0.0) -> tuple[list[Grasp2D], np.ndarray]:
        """Each grasp re-scored by the crop GQ-CNN at its centre and, with ``shift_px`` (half the
        dense grid's spacing), at the four centres that far along and across its axis, and with
        ``turn_rad`` (half an angle bin) turned that much either way; the best kept."""
        offsets = [(0.0, 0.0, 0.0)] + ([(shift_px, 0.0, 0.0), (-shift_px, 0.0, 0.0), (0.0, shift_px, 0.0),
                                        (0.0, -shift_px, 0.0)] if shift_px else []) \
            + ([(0.0, 0.0, turn_rad), (0.0, 0.0, -turn_rad)] if turn_rad else [])
        tried = []
        for g in grasps:
            cu, su = math.cos(g.angle_rad), math.sin(g.angle_rad)
            for du, dv, da in offsets:             # along the axis (u) and across it (v), image y down
                x, y = g.center_xy_px[0] + du * cu + dv * su, g.center_xy_px[1] - du * su + dv * cu
                angle = (g.angle_rad + da + np.pi / 2) % np.pi - np.pi / 2
                tried.append(Grasp2D((x, y), float(angle), g.width_px, g.jaw_px, g.depth_m))
        q = self._score(d, tried, {"grasps_scored": 0}).reshape(len(grasps), len(offsets))
        best = q.argmax(1)
        return [tried[i * len(offsets) + b] for i, b in enumerate(best)], q.max(1)

    def _fill_views(self, images, img, centre, angles: np.ndarray, step: float, windows: dict) -> None:
        """Write each view's ``windows[k]`` (rows ``r0:r1``, columns ``c0:c1``) of ``images``
        (K, 1, n, n). With an even number of angles, view ``k + K/2`` is view ``k`` turned by 90°
        (``view'[r, c] = view[n − 1 − c, r]``: the sampling grid is symmetric), so a pair whose
        windows overlap is sampled once over their union."""
        K, n = len(angles), images.shape[-1]
        done = set()
        for k, (r0, r1, c0, c1) in windows.items():
            if k in done:
                continue
            p = k + K // 2 if K % 2 == 0 and k < K // 2 else None
            if p in windows:
                pr0, pr1, pc0, pc1 = windows[p]
                u = (min(r0, n - pc1), max(r1, n - pc0), min(c0, pr0), max(c1, pr1))   # p's window seen from k
                if (u[1] - u[0]) * (u[3] - u[2]) < (r1 - r0) * (c1 - c0) + (pr1 - pr0) * (pc1 - pc0):
                    images[k, 0, u[0]:u[1], u[2]:u[3]] = self._rotated(img, centre, angles[k], n, step, u)
                    images[p, 0, pr0:pr1, pc0:pc1] = images[k, 0, n - pc1:n - pc0, pr0:pr1].flip(0).T
                    done |= {k, p}
                    continue
            images[k, 0, r0:r1, c0:c1] = self._rotated(img, centre, angles[k], n, step, (r0, r1, c0, c1))
            done.add(k)

    def _rotated(self, img, centre, angle_rad: float, n: int, step: float, window):
        """Rows ``r0:r1`` and columns ``c0:c1`` (``window``) of the ``n``×``n`` block-averaged view of
        the depth image ``img`` (an (H, W) float tensor) rotated to ``angle_rad`` around ``centre``
        (the crops' sampling: ``block`` bilinear samples per block side, border pixels repeated)."""
        t = self._torch
        F = t.nn.functional
        b = self.block
        r0, r1, c0, c1 = window
        hh, ww = img.shape
        s = (t.arange(n * b, dtype=t.float32) - (n * b - 1) / 2.0) * (step / b)
        du, dv = s[None, c0 * b:c1 * b], s[r0 * b:r1 * b, None]
        cos, sin = math.cos(angle_rad), math.sin(angle_rad)
        x = centre[0] + du * cos + dv * sin
        y = centre[1] - du * sin + dv * cos
        grid = t.stack([x * (2.0 / max(ww - 1, 1)) - 1.0, y * (2.0 / max(hh - 1, 1)) - 1.0], -1)
        out = F.grid_sample(img[None, None], grid[None], mode="bilinear", padding_mode="border", align_corners=True)
        return F.avg_pool2d(out, b)[0, 0]

    def _top_between_jaws(self, images, rows: np.ndarray, cols: np.ndarray, jaw: int):
        """The highest point (least depth) within 1 block across and ``jaw`` blocks along the grasp
        axis around each output centre (rows × cols, evenly spaced): a strided min-pool."""
        t = self._torch
        r = jaw // 2
        padded = t.nn.functional.pad(images, (r, r, 1, 1), value=float("inf"))
        stride = int(rows[1] - rows[0]) if len(rows) > 1 else 1
        win = padded[..., rows[0]:rows[0] + 3 + stride * (len(rows) - 1), cols[0]:cols[0] + jaw + stride * (len(cols) - 1)]
        return -t.nn.functional.max_pool2d(-win, (3, jaw), stride=stride)[:, 0]

    def _jaw_blocks(self, intr, z_ref: float, step: float) -> int:
        """The window along the grasp axis where the surface is sought, in block-averaged pixels
        (odd): ``top_window_m`` around the centre, or the gripper's whole opening when it is 0."""
        span_m = self.fc_config.top_window_m or self.gripper_max_width_m
        return 2 * int(span_m * intr.fx / z_ref / step / 2) + 1

    def _width_px(self, row_img: np.ndarray, r: int, col: int, depth_m: float, step: float, intr) -> float:
        """The object's extent across the jaws through the centre at the grasp depth (image px),
        the opening where it is wider or the centre is not on it."""
        opening = self.gripper_max_width_m * intr.fx / depth_m
        line = row_img[r]
        above = line < depth_m
        if not above[col]:
            return opening
        lo = col
        while lo > 0 and above[lo - 1]:
            lo -= 1
        hi = col
        while hi < len(line) - 1 and above[hi + 1]:
            hi += 1
        return float(min(opening, (hi - lo + 1) * step + 2 * step))

    def spec(self) -> dict:
        return {"policy": self.name, "options": {
            "model": str(self.path), **({"gripper": self._gripper} if self._gripper
                                        else {"max_width_m": self.gripper_max_width_m}),
            **asdict(self.fc_config)}}


#: block-averaged pixels an output of the dense pass reads beyond its pooled window: the 7×7 and
#: 5×5 convolutions before the first pool and the two 3×3 after it reach 9; rounded up to the stride
_REACH_PX = 12
#: sides of the views' sub-images (and of the region) are multiples of this: the convolution library
#: prepares a kernel for every new input shape (several ms each), so a few shapes recur frame after frame
_QUANTUM_PX = 16


def _span(idx: np.ndarray, k_win: int, n: int) -> tuple[int, int]:
    """The block-averaged rows (or columns) ``[lo, hi)`` that outputs ``idx`` read: their pooled
    windows (``k_win`` wide, stride 4) and the convolutions' reach, widened to a multiple of
    ``_QUANTUM_PX`` within ``[0, n)`` (``n`` is one too); ``lo`` on the stride, so the sub-image
    pools like the whole."""
    lo, hi = max(0, 4 * int(idx.min()) - _REACH_PX), min(n, 4 * (int(idx.max()) + k_win) + _REACH_PX)
    size = min(n, _QUANTUM_PX * math.ceil((hi - lo) / _QUANTUM_PX))
    lo = min(lo, n - size)
    return lo, lo + size


def _nms(order: np.ndarray, q: np.ndarray, x: np.ndarray, y: np.ndarray, angle_rad: np.ndarray,
         radius_px: float, max_angle_rad: float, limit: int) -> list[int]:
    """Greedy non-maximum suppression over candidates sorted best first (valid scores ≥ 0): a
    candidate is dropped when a kept one lies within ``radius_px`` and, modulo π (a jaw axis has
    no direction), strictly within ``max_angle_rad`` of its angle — π/2 or more: any angle."""
    keep: list[int] = []
    kx, ky, ka = [], [], []
    r2 = radius_px ** 2
    for f in order:
        if q[f] < 0 or len(keep) >= limit:
            break
        if kx:
            near = (np.asarray(kx) - x[f]) ** 2 + (np.asarray(ky) - y[f]) ** 2 < r2
            if max_angle_rad < np.pi / 2:
                turn = np.abs((np.asarray(ka) - angle_rad[f] + np.pi / 2) % np.pi - np.pi / 2)
                near &= turn < max_angle_rad
            if near.any():
                continue
        keep.append(int(f))
        kx.append(x[f])
        ky.append(y[f])
        ka.append(angle_rad[f])
    return keep


def _fc_gqcnn_policy(model=None, gripper: str | None = None, max_width_m: float | None = None,
                     angle_bins: int = FCGQCNNConfig.angle_bins, depth_bins: int = FCGQCNNConfig.depth_bins,
                     min_depth_offset_m: float = FCGQCNNConfig.min_depth_offset_m,
                     max_depth_offset_m: float = FCGQCNNConfig.max_depth_offset_m,
                     top_window_m: float = FCGQCNNConfig.top_window_m,
                     nms_radius_m: float = FCGQCNNConfig.nms_radius_m,
                     nms_angle_rad: float = FCGQCNNConfig.nms_angle_rad, refine: int = FCGQCNNConfig.refine,
                     refine_shift: bool = FCGQCNNConfig.refine_shift, refine_angle: bool = FCGQCNNConfig.refine_angle,
                     object_min_height_m: float = FCGQCNNConfig.object_min_height_m,
                     dense_dtype: str = FCGQCNNConfig.dense_dtype,
                     exclude_walls: bool = FCGQCNNConfig.exclude_walls) -> FCGQCNNPolicy:
    """A registered FC-GQ-CNN policy from its options (``FCGQCNNConfig``'s fields)."""
    from ..models.pretrained import DEFAULT_GQCNN, resolve_model
    cfg = FCGQCNNConfig(angle_bins, depth_bins, min_depth_offset_m, max_depth_offset_m, top_window_m, nms_radius_m,
                        nms_angle_rad, refine, refine_shift, refine_angle, object_min_height_m,
                        exclude_walls=bool(exclude_walls), dense_dtype=dense_dtype)
    return FCGQCNNPolicy(resolve_model(model or DEFAULT_GQCNN), cfg, max_width_m, gripper)


register_policy("fc-gqcnn", "FC-GQ-CNN (Dex-Net 4.0): a GQ-CNN scored densely over positions, 8 angles and "
                "gripper depths in one pass", "a GQ-CNN (default: the shipped one); needs intrinsics")(_fc_gqcnn_policy)
