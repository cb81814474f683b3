"""Ferrari–Canny L1 epsilon quality: the radius of the largest origin-centred ball inside the
convex hull of the contact wrenches (0 when the origin is not strictly inside: no force closure).

Each contact's friction-cone wrenches lie in a 2-D affine plane of the 6-D wrench space, so
the inputs are highly degenerate: qhull's default facet merging is slow (≈1.2 ms) and its
unmerged mode usually fails, while joggled input (``QJ``, deterministic) is robust and twice
as fast, changing ε by ~1e-9. :func:`ferrari_canny_reference` enumerates every 6-point
hyperplane by brute force, independent of qhull, to check it.
"""
from __future__ import annotations

from itertools import combinations

import numpy as np
from scipy.spatial import ConvexHull, QhullError

_TOL = 1e-12


def _unique_rows(w: np.ndarray) -> np.ndarray:
    return np.unique(np.round(w, 12), axis=0)


def ferrari_canny(wrenches: np.ndarray) -> float:
    """ε for one wrench set (P, 6); 0 if the origin is outside or the set is degenerate.

    Duplicate wrenches (e.g. the torsional wrenches of exactly opposite contacts) need no
    removal: joggled qhull handles them.
    """
    w = np.asarray(wrenches, dtype=np.float64)
    if len(w) <= w.shape[1]:
        return 0.0
    # a flat set (e.g. point contacts cannot make torque about the grasp axis) has no interior;
    # check before joggling, which would give it a sliver of volume
    if np.linalg.matrix_rank(w - w.mean(axis=0), tol=1e-9 * max(np.abs(w).max(), 1e-300)) < w.shape[1]:
        return 0.0
    try:
        hull = ConvexHull(w, qhull_options="QJ")
    except QhullError:
        return 0.0                       # flat: the wrenches span fewer than 6 dimensions
    offsets = hull.equations[:, -1]      # n·x + b ≤ 0 inside, |n| = 1 → distance = −b
    if np.any(offsets >= -_TOL):
        return 0.0
    return float(-offsets.max())


def ferrari_canny_reference(wrenches: np.ndarray) -> float:
    """Slow, obviously-correct ε: enumerate hyperplanes through every d points; those with all
    points on one side are facets; ε is the smallest origin-to-facet distance if the origin is
    strictly inside every facet, else 0."""
    w = _unique_rows(np.asarray(wrenches, dtype=np.float64))
    p, d = w.shape
    if np.linalg.matrix_rank(w - w[0], tol=1e-9) < d:
        return 0.0
    scale = np.abs(w).max()
    idx = np.array(list(combinations(range(p), d)))
    pts = w[idx]                                            # (M, d, d)
    _, s, vt = np.linalg.svd(pts[:, 1:] - pts[:, :1])       # normal = null space of the differences
    general = s[:, -1] > 1e-10 * scale                      # the d points fix a unique hyperplane
    normals = vt[general, -1]
    b = -np.einsum("mj,mj->m", normals, pts[general, 0])
    side = w @ normals.T + b                                # (p, M')
    below = np.all(side <= 1e-9 * scale, axis=0)
    above = np.all(side >= -1e-9 * scale, axis=0)
    facet = below | above
    b = np.where(above, -b, b)[facet]                       # orient: points satisfy n·x + b ≤ 0
    if b.size == 0 or np.any(b >= -_TOL):
        return 0.0                                          # the origin is on or outside a facet
    return float(-b.max())
