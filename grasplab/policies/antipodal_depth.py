"""Antipodal grasp candidates sampled from a depth image (Dex-Net 2.0's image sampler, DESIGN B5).

Edges are where the smoothed, downsampled depth changes by more than ``depth_grad_thresh`` per
pixel; the image gradient there gives each edge pixel an in-plane outward normal (depth grows
away from an object standing on a table). Two edge pixels make an antipodal pair when the line
between them lies inside both friction cones (μ = 0.8: within atan μ of each outward normal,
pointing away from the other contact), and their distance in metres, at the closer contact's
depth, fits the gripper opening. Pairs are drawn at random, without two grasps closer than
``min_grasp_dist`` (pixels + ``angle_dist_weight`` × radians), centres far enough from the
border for the grasp-aligned crop; each gets ``depth_samples`` gripper depths uniform in
[surface + min offset, surface + max offset], the surface being the nearest depth between the
contacts. With an object mask, only edges near it are used and only grasps centred on it are kept.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError, GrasplabError, NoGraspFoundError
from ..geometry import CameraIntrinsics, Grasp2D, angle_difference_rad, segment_angle_rad
from ..presets import published


_DEXNET2 = published("policy", "sampler")     # the published values (grasplab/presets/dexnet2.json)

@dataclass(frozen=True)
class AntipodalDepthConfig:
    """Dex-Net 2.0's values (gqcnn's ``dex-net_2.0.yaml``)."""

    friction_coef: float = _DEXNET2["friction_coef"]
    depth_grad_thresh: float = _DEXNET2["depth_grad_thresh"]       # m per (downsampled) pixel
    depth_grad_sigma: float = _DEXNET2["depth_grad_sigma"]
    downsample: int = _DEXNET2["downsample"]
    max_rejection_samples: int = _DEXNET2["max_rejection_samples"]
    min_dist_from_boundary_px: int = _DEXNET2["min_dist_from_boundary_px"]     # a 96² crop's half side (its corners may reach past the image: edges repeat)
    min_grasp_dist: float = _DEXNET2["min_grasp_dist"]             # pixels + angle_dist_weight × radians
    angle_dist_weight: float = _DEXNET2["angle_dist_weight"]
    min_depth_offset_m: float = _DEXNET2["min_depth_offset_m"]
    max_depth_offset_m: float = _DEXNET2["max_depth_offset_m"]
    depth_samples: int = _DEXNET2["depth_samples"]
    max_edge_pixels: int = 2000             # a random subset of the edges when there are more
    mask_dilation_px: int = 6               # with a mask: only edges this close to it (contacts lie on its outline)

    def __post_init__(self):
        if self.friction_coef <= 0 or self.downsample < 1 or self.depth_samples < 1:
            raise ConfigError("friction coefficient, downsampling and depth samples must be positive")
        if not 0 <= self.min_depth_offset_m <= self.max_depth_offset_m:
            raise ConfigError("need 0 ≤ min depth offset ≤ max depth offset")


def edge_pixels(depth_m: np.ndarray, cfg: AntipodalDepthConfig) -> tuple[np.ndarray, np.ndarray]:
    """Edge pixels (K, 2) as (x, y) in full-image pixels and their outward unit normals (K, 2)."""
    from scipy import ndimage
    smooth = ndimage.gaussian_filter(depth_m.astype(np.float64), cfg.depth_grad_sigma)
    small = smooth[::cfg.downsample, ::cfg.downsample]
    gy, gx = np.gradient(small)
    mag = np.hypot(gx, gy)
    ys, xs = np.nonzero(mag > cfg.depth_grad_thresh)
    normals = np.stack([gx[ys, xs], gy[ys, xs]], 1) / mag[ys, xs, None]
    return np.stack([xs, ys], 1).astype(np.float64) * cfg.downsample, normals


def sample_antipodal_grasps(depth_m: np.ndarray, intrinsics: CameraIntrinsics, max_width_m: float, num_grasps: int,
                            rng: np.random.Generator, cfg: AntipodalDepthConfig = AntipodalDepthConfig(),
                            mask: np.ndarray | None = None, jaw_px: float = 0.0) -> list[Grasp2D]:
    """Up to ``num_grasps`` antipodal grasps (× ``depth_samples`` depths) from a hole-free depth
    image in metres; ``mask`` (optional) keeps only grasps whose centre lies on it. Raises
    ``NoGraspFoundError`` when the image has no antipodal pair that fits the gripper."""
    h, w = depth_m.shape
    if not np.all(np.isfinite(depth_m)) or np.any(depth_m <= 0):
        raise GrasplabError("the depth image has holes (NaN or ≤ 0); inpaint it first (grasplab.imaging.prepare_depth_m)")
    pts, normals = edge_pixels(depth_m, cfg)
    if mask is not None:
        if mask.shape != depth_m.shape:
            raise GrasplabError(f"mask shape {mask.shape} differs from the depth image's {depth_m.shape}")
        # contacts lie on the object's outline: spend the edge budget there, not on noise elsewhere
        from scipy import ndimage
        near = ndimage.binary_dilation(mask > 0, iterations=cfg.mask_dilation_px)
        on = near[pts[:, 1].astype(int), pts[:, 0].astype(int)]
        pts, normals = pts[on], normals[on]
    if len(pts) > cfg.max_edge_pixels:
        keep = rng.choice(len(pts), cfg.max_edge_pixels, replace=False)
        pts, normals = pts[keep], normals[keep]
    if len(pts) < 2:
        raise NoGraspFoundError("no depth edges in the image (a flat scene?): nothing to grasp; check the "
                                "depth units (metres) and that the objects are in view")
    ii, jj = _antipodal_pairs(pts, normals, depth_m, intrinsics.fx, max_width_m, cfg.friction_coef)
    centers = (pts[ii] + pts[jj]) / 2
    m = cfg.min_dist_from_boundary_px
    keep = (centers[:, 0] >= m) & (centers[:, 0] <= w - 1 - m) & (centers[:, 1] >= m) & (centers[:, 1] <= h - 1 - m)
    if mask is not None:
        cx, cy = centers[:, 0].round().astype(int).clip(0, w - 1), centers[:, 1].round().astype(int).clip(0, h - 1)
        keep &= mask[cy, cx] > 0
    ii, jj = ii[keep], jj[keep]
    if len(ii) == 0:
        raise NoGraspFoundError(f"no antipodal pair of depth edges fits the gripper's {max_width_m * 100:.1f} cm opening"
                                f"{' on the mask' if mask is not None else ''} away from the image border")
    chosen_c = np.zeros((num_grasps, 2))
    chosen_a = np.zeros(num_grasps)
    n_chosen = 0
    grasps: list[Grasp2D] = []
    for k in rng.permutation(len(ii))[:cfg.max_rejection_samples]:
        i, j = ii[k], jj[k]
        p, q = pts[i], pts[j]
        c = (p + q) / 2
        angle = float(segment_angle_rad(p, q))
        if n_chosen and np.min(np.hypot(*(chosen_c[:n_chosen] - c).T)
                               + cfg.angle_dist_weight * angle_difference_rad(angle, chosen_a[:n_chosen])) < cfg.min_grasp_dist:
            continue
        chosen_c[n_chosen], chosen_a[n_chosen] = c, angle
        n_chosen += 1
        surface = _min_depth_on_segment(depth_m, p, q)
        width_px = float(np.hypot(*(q - p)))
        for dz in rng.uniform(cfg.min_depth_offset_m, cfg.max_depth_offset_m, cfg.depth_samples):
            grasps.append(Grasp2D(tuple(c), angle, width_px, jaw_px, surface + float(dz)))
        if n_chosen >= num_grasps:
            break
    return grasps


def _antipodal_pairs(pts: np.ndarray, normals: np.ndarray, depth_m: np.ndarray, fx_px: float, max_width_m: float,
                     friction_coef: float, rows_per_block: int = 128) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (i < j, in row-major order) of edge pixels that grasp antipodally and fit the
    opening. With d = p_j − p_i from contact i to contact j, i's outward normal must point away
    from j (n_i · d ≤ −cos φ |d|) and j's away from i (n_j · d ≥ cos φ |d|); the test is symmetric.
    The dot products are matrix products (n_i · p_j − n_i · p_i) over blocks of ``rows_per_block``
    edges sorted by x, each against the edges after it that lie within the widest opening in x
    (the opening at the nearest edge's depth): the same pairs as testing all k²/2, the arrays in
    the CPU's caches, and on a heap's 2,000 edges a fraction of the work."""
    h, w = depth_m.shape
    k = len(pts)
    cos_cone = np.cos(np.arctan(friction_coef))
    z = depth_m[pts[:, 1].astype(int).clip(0, h - 1), pts[:, 0].astype(int).clip(0, w - 1)]
    reach_px = max_width_m * fx_px / z.min() if k else 0.0
    order = np.argsort(pts[:, 0], kind="stable")
    p, n, z = pts[order], normals[order], z[order]
    n_self = np.einsum("ik,ik->i", n, p)
    keys = []
    for s in range(0, k - 1, rows_per_block):
        e = min(k - 1, s + rows_per_block)
        cols = slice(s + 1, max(s + 1, int(np.searchsorted(p[:, 0], p[e - 1, 0] + reach_px, side="right"))))
        dist_px = np.hypot(p[None, cols, 0] - p[s:e, None, 0], p[None, cols, 1] - p[s:e, None, 1])
        bound = cos_cone * dist_px
        ok = n[s:e] @ p[cols].T - n_self[s:e, None] <= -bound              # n_a · (p_b − p_a)
        ok &= n_self[None, cols] - p[s:e] @ n[cols].T >= bound             # n_b · (p_b − p_a)
        ok &= dist_px > 0
        ok &= dist_px * np.minimum(z[s:e, None], z[None, cols]) / fx_px <= max_width_m
        ok &= np.arange(cols.start, cols.stop)[None, :] > np.arange(s, e)[:, None]
        ba, bb = np.nonzero(ok)
        oa, ob = order[ba + s], order[bb + cols.start]
        keys.append(np.minimum(oa, ob).astype(np.int64) * k + np.maximum(oa, ob))
    if not keys:
        return np.zeros(0, int), np.zeros(0, int)
    key = np.sort(np.concatenate(keys))                       # row-major, as the sampler's draws expect
    return key // k, key % k


def _min_depth_on_segment(depth_m: np.ndarray, p: np.ndarray, q: np.ndarray) -> float:
    """The nearest surface between two contacts (the object's top there)."""
    n = int(np.ceil(np.linalg.norm(q - p))) + 1
    t = np.linspace(0.0, 1.0, n)[:, None]
    xy = np.rint(p + t * (q - p)).astype(int)
    h, w = depth_m.shape
    return float(depth_m[xy[:, 1].clip(0, h - 1), xy[:, 0].clip(0, w - 1)].min())
