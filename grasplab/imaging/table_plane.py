"""The supporting plane of a tabletop frame: a robust plane fit to the depth image, and the
pixels that stand above it (the objects)."""
from __future__ import annotations

import numpy as np


def fit_table_plane(depth_m: np.ndarray, iterations: int = 4, samples: int = 2500) -> np.ndarray:
    """The depth of the dominant plane (the table) at every pixel: least squares on a grid of
    pixels, refitted on the inliers (within 2.5 robust σ, at least 3 mm) each round, so objects
    standing on the table do not pull it."""
    h, w = depth_m.shape
    step = max(1, int(np.sqrt(h * w / samples)))
    sub = np.asarray(depth_m[::step, ::step], dtype=np.float64)
    z = sub.ravel()
    At = np.empty((3, z.size))                            # rows: x / w, y / h, 1
    At[0] = np.tile(np.arange(0, w, step) / w, sub.shape[0])
    At[1] = np.repeat(np.arange(0, h, step) / h, sub.shape[1])
    At[2] = 1.0
    keep = np.ones(z.size, bool)
    coef = np.array([0.0, 0.0, float(np.median(z))])
    for _ in range(iterations):
        if keep.sum() < 3:
            break
        wt = At * keep                        # the inliers' columns, without copying them out
        try:                                  # 3 unknowns on normalised coordinates: the normal equations are well posed
            coef = np.linalg.solve(wt @ At.T, wt @ z)
        except np.linalg.LinAlgError:         # inliers on one line: keep the previous plane
            break
        res = z - coef @ At
        inliers = res[keep]
        centre = _median(inliers)                     # the table's offset: it is most of the pixels
        sigma = 1.4826 * _median(np.abs(inliers - centre))
        keep = np.abs(res - centre) < max(2.5 * sigma, 0.003)
    return (coef[1] * np.arange(h) / h + coef[2])[:, None] + (coef[0] * np.arange(w) / w)[None, :]


def _median(a: np.ndarray) -> float:
    """``np.median`` of a 1-D float array (the same number) by one partition, without its
    generic machinery, which dominates at the table fit's ~2,500 samples."""
    n = a.size
    k = n // 2
    if n % 2:
        return float(np.partition(a, k)[k])
    p = np.partition(a, (k - 1, k))
    return float((p[k - 1] + p[k]) / 2)


def above_table(depth_m: np.ndarray, min_height_m: float, plane_m: np.ndarray | None = None) -> np.ndarray:
    """Pixels at least ``min_height_m`` above the fitted table plane (``plane_m``, when already
    fitted), specks removed (may be empty)."""
    plane = fit_table_plane(depth_m) if plane_m is None else plane_m
    return open_square(depth_m < plane - min_height_m, 5)


def open_square(mask: np.ndarray, side: int) -> np.ndarray:
    """Morphological opening by a ``side``×``side`` square, outside the image counted empty: the
    same pixels as ``binary_opening`` by a 3×3 square ``(side − 1) / 2`` times, as separable
    and/or of shifted copies (~0.5 ms on a 512² frame instead of ~4.5, BENCHMARKS.md)."""
    return _passes(np.asarray(mask, dtype=bool), side, (np.logical_and, np.logical_or))   # erosion, then dilation


def close_square(mask: np.ndarray, side: int) -> np.ndarray:
    """Morphological closing by a ``side``×``side`` square (dilation, then erosion; outside the
    image counted empty), by the same separable passes as ``open_square``."""
    return _passes(np.asarray(mask, dtype=bool), side, (np.logical_or, np.logical_and))


def dilate_square(mask: np.ndarray, side: int) -> np.ndarray:
    """Morphological dilation by a ``side``×``side`` square, by separable passes."""
    return _passes(np.asarray(mask, dtype=bool), side, (np.logical_or,))


def _passes(out: np.ndarray, side: int, combines) -> np.ndarray:
    for combine in combines:
        for axis in (0, 1):
            out = _square_pass(out, side, axis, combine)
    return out


def _square_pass(mask: np.ndarray, side: int, axis: int, combine) -> np.ndarray:
    """``combine`` (and: erode, or: dilate) of ``side`` copies of ``mask`` shifted along ``axis``, empty outside."""
    n = mask.shape[axis]
    pad = [(0, 0), (0, 0)]
    pad[axis] = (side // 2, side // 2)
    p = np.pad(mask, pad)
    shifted = (lambda k: p[k:k + n]) if axis == 0 else (lambda k: p[:, k:k + n])
    out = shifted(0).copy()
    for k in range(1, side):
        combine(out, shifted(k), out=out)
    return out
