"""From per-pixel grasp maps (quality, cos 2θ, sin 2θ, width) to ranked image grasps.

GG-CNN's decoding (DESIGN B2): Gaussian smoothing (σ = 2 px on quality and angle, σ = 1 px on
width), angle = ½·atan2(sin 2θ, cos 2θ), width = map × 150 px, grasps at local maxima of the
quality map at least ``min_distance_px`` apart and above ``threshold``. Borders repeat the edge
pixel, as in the reference (scikit-image's ``gaussian``), and the peaks are those of
scikit-image's ``peak_local_max`` (checked against it in the tests and ``bench detect``). grasplab smooths the
cos 2θ / sin 2θ maps before taking the angle (smoothing the angle itself, as GG-CNN does, mixes
angles across the ±π/2 wrap); ``smooth_angle="angle"`` gives GG-CNN's behaviour.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.ndimage as ndi

from ..datasets.ggcnn_targets import WIDTH_SCALE_PX
from ..geometry import Grasp2D, angle_from_double_rad


@dataclass(frozen=True)
class MapDecodingConfig:
    quality_sigma_px: float = 2.0
    angle_sigma_px: float = 2.0
    width_sigma_px: float = 1.0
    min_distance_px: int = 20
    threshold: float = 0.2
    max_grasps: int = 10
    exclude_border: bool = True              # like scikit-image's peak_local_max default
    smooth_angle: Literal["vector", "angle"] = "vector"
    jaw_fraction: float = 0.5                # jaw size = fraction × opening (GG-CNN)


def local_maxima(q: np.ndarray, min_distance_px: int, threshold: float, max_peaks: int,
                 exclude_border: bool = True) -> np.ndarray:
    """Peaks (N, 2) as (row, col), highest first: pixels equal to the maximum of their
    (2·d + 1)² neighbourhood and above ``threshold``; later peaks closer than d to an earlier
    one (plateaus) are dropped."""
    d = int(min_distance_px)
    above = q > threshold
    if exclude_border and d > 0:
        above[:d] = above[-d:] = False
        above[:, :d] = above[:, -d:] = False
    if not above.any():
        return np.zeros((0, 2), dtype=np.int64)
    # only pixels above the threshold can be peaks: filter just their bounding box grown by d
    # (every neighbourhood that matters lies inside it), usually a small part of the map
    r_any, c_any = np.flatnonzero(above.any(1)), np.flatnonzero(above.any(0))
    r0, r1 = max(r_any[0] - d, 0), min(r_any[-1] + d + 1, q.shape[0])
    c0, c1 = max(c_any[0] - d, 0), min(c_any[-1] + d + 1, q.shape[1])
    sub = q[r0:r1, c0:c1]
    filtered = ndi.maximum_filter(sub, size=2 * d + 1, mode="nearest")
    rows, cols = np.nonzero((sub == filtered) & above[r0:r1, c0:c1])
    rows, cols = rows + r0, cols + c0
    order = np.argsort(-q[rows, cols], kind="stable")
    peaks: list[tuple[int, int]] = []
    for r, c in zip(rows[order], cols[order]):
        if all(max(abs(r - pr), abs(c - pc)) > d for pr, pc in peaks):
            peaks.append((int(r), int(c)))
            if len(peaks) >= max_peaks:
                break
    return np.array(peaks, dtype=np.int64).reshape(-1, 2)


@dataclass
class RankedGrasps:
    grasps: list[Grasp2D]
    qualities: np.ndarray            # smoothed quality at each grasp, descending

    def __len__(self) -> int:
        return len(self.grasps)


def decode_grasp_maps(quality: np.ndarray, cos2: np.ndarray, sin2: np.ndarray, width: np.ndarray,
                      config: MapDecodingConfig = MapDecodingConfig(),
                      depth_m: np.ndarray | None = None, allowed: np.ndarray | None = None) -> RankedGrasps:
    """Ranked grasps (best first); empty when no pixel passes the threshold. With ``depth_m``
    each grasp takes the depth at its centre; ``allowed`` (bool map) restricts the peaks to its
    pixels (the part of the input that shows the frame, or the object mask)."""
    q = smoothed_quality(quality, config.quality_sigma_px, config.threshold, config.min_distance_px)
    if allowed is not None:
        q = np.where(allowed, q, -np.inf)
    peaks = local_maxima(q, config.min_distance_px, config.threshold, config.max_grasps, config.exclude_border)
    return grasps_at(peaks, cos2, sin2, width, config, np.array([q[r, c] for r, c in peaks], dtype=np.float64),
                     depth_m)


def grasps_at(points_rc: np.ndarray, cos2: np.ndarray, sin2: np.ndarray, width: np.ndarray,
              config: MapDecodingConfig, qualities: np.ndarray, depth_m: np.ndarray | None = None) -> RankedGrasps:
    """A grasp at each (row, col) pixel with the decoder's smoothed angle and width there (in
    the order given, ``qualities`` kept)."""
    # angle and width are needed only at the points: smooth them there alone (the same values as
    # filtering the whole map, a fraction of the work)
    if config.smooth_angle == "vector":
        c = smoothed_at(cos2, points_rc, config.angle_sigma_px)
        s = smoothed_at(sin2, points_rc, config.angle_sigma_px)
        angles = angle_from_double_rad(c, s)
    else:                       # GG-CNN: the angle map itself blurred (angles only near the points)
        angles = smoothed_at(cos2, points_rc, config.angle_sigma_px, other=sin2,
                             combine=angle_from_double_rad)
    widths = smoothed_at(width, points_rc, config.width_sigma_px) * WIDTH_SCALE_PX
    grasps = []
    for (r, c), a, w in zip(points_rc, angles, widths):
        width_px = max(float(w), 0.0)
        z = float(depth_m[r, c]) if depth_m is not None else float("nan")
        grasps.append(Grasp2D((float(c), float(r)), float(a), width_px, config.jaw_fraction * width_px, z))
    return RankedGrasps(grasps, np.asarray(qualities, dtype=np.float64))


def smoothed_quality(quality: np.ndarray, sigma_px: float, threshold: float, min_distance_px: int,
                     truncate: float = 4.0) -> np.ndarray:
    """``gaussian_filter(quality, sigma, mode="nearest")`` wherever peak finding reads it, −inf elsewhere.

    A smoothed pixel is a weighted mean of the raw pixels within the kernel radius r, so it can
    pass ``threshold`` only within r of a raw pixel that does; peak finding then reads up to
    ``min_distance_px`` further. Only that box (grown by r more, so its filtered values are
    exact) is filtered: usually a few per cent of the map, for the same peaks and qualities.
    """
    raw = np.asarray(quality, dtype=np.float64)
    out = np.full(raw.shape, -np.inf)
    # a hair below the threshold: a mean of values at the threshold can round above it
    hot = raw > threshold - 1e-9 * max(1.0, abs(threshold))
    rows, cols = np.flatnonzero(hot.any(1)), np.flatnonzero(hot.any(0))
    if rows.size == 0:
        return out
    r = int(truncate * float(sigma_px) + 0.5)
    need = r + max(int(min_distance_px), 0)                 # the box peak finding may read
    h, w = raw.shape
    y0, y1 = max(rows[0] - need, 0), min(rows[-1] + need + 1, h)
    x0, x1 = max(cols[0] - need, 0), min(cols[-1] + need + 1, w)
    fy0, fy1 = max(y0 - r, 0), min(y1 + r, h)               # filter input: r more, or the image edge
    fx0, fx1 = max(x0 - r, 0), min(x1 + r, w)
    sub = ndi.gaussian_filter(raw[fy0:fy1, fx0:fx1], sigma_px, mode="nearest", truncate=truncate)
    out[y0:y1, x0:x1] = sub[y0 - fy0:y1 - fy0, x0 - fx0:x1 - fx0]
    return out


def smoothed_at(image: np.ndarray, points_rc: np.ndarray, sigma_px: float, truncate: float = 4.0,
                other: np.ndarray | None = None, combine=None) -> np.ndarray:
    """``gaussian_filter(image, sigma)`` evaluated only at the given (row, col) pixels.

    Uses the same separable kernel as ``scipy.ndimage.gaussian_filter(..., mode="nearest")``.
    With ``other`` and ``combine`` it smooths ``combine(image, other)`` (computed only on the
    patches around the points) instead of ``image``.
    """
    img = np.asarray(image, dtype=np.float64)
    if len(points_rc) == 0:
        return np.zeros(0)
    radius = int(truncate * sigma_px + 0.5)
    if radius == 0:                         # σ = 0 (or tiny): no smoothing, as gaussian_filter
        k = np.ones(1)
    else:
        k = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma_px) ** 2)
        k /= k.sum()
    pts = np.asarray(points_rc, dtype=np.int64).reshape(-1, 2)
    h, w = img.shape
    offs = np.arange(-radius, radius + 1)
    rows = np.clip(pts[:, :1] + offs, 0, h - 1)[:, :, None]      # 'nearest' borders: edge pixels repeat
    cols = np.clip(pts[:, 1:] + offs, 0, w - 1)[:, None, :]
    patch = img[rows, cols]                                     # (N, k, k)
    if combine is not None:
        patch = combine(patch, np.asarray(other, dtype=np.float64)[rows, cols])
    return np.einsum("i,nij,j->n", k, patch, k)
