"""The supporting plane of a tabletop frame: a robust plane fit to the depth image, and the
pixels that stand above it (the objects)."""
from __future__ import annotations

import numpy as np
import scipy.ndimage as ndi


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


def above_table(depth_m: np.ndarray, min_height_m: float) -> np.ndarray:
    """Pixels at least ``min_height_m`` above the fitted table plane, specks removed (may be empty)."""
    return ndi.binary_opening(depth_m < fit_table_plane(depth_m) - min_height_m, np.ones((3, 3), bool), iterations=2)
