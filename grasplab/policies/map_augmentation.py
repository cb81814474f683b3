"""Test-time augmentation of per-pixel grasp maps over the square's symmetries.

The network sees the input turned by quarter turns and/or mirrored; each view's maps are
brought back to the input's frame and averaged. A view also turns the grasp angle: a mirror
maps θ to −θ (sin 2θ changes sign), a quarter turn maps θ to θ ± 90° (cos 2θ and sin 2θ change
sign), so the averaged cos 2θ / sin 2θ maps are those of the input's own angles. Costs one
network pass per view; quality and width maps are averaged as they are.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..errors import ConfigError

# (quarter turns, mirrored) for each number of views: 2 = mirror, 4 = quarter turns, 8 = all
VIEWS: dict[int, tuple[tuple[int, bool], ...]] = {
    1: ((0, False),),
    2: ((0, False), (0, True)),
    4: ((0, False), (1, False), (2, False), (3, False)),
    8: tuple((k, m) for m in (False, True) for k in range(4)),
}


def check_views(views: int) -> int:
    if views not in VIEWS:
        raise ConfigError(f"--views {views}: choose 1 (no augmentation), 2 (mirror), 4 (quarter turns) or 8 (both)")
    return views


def view_image(x: np.ndarray, turns: int, mirrored: bool) -> np.ndarray:
    """The view of an image (..., H, W): mirrored left–right first, then turned ``turns`` quarter
    turns (numpy's ``rot90`` direction)."""
    v = x[..., ::-1] if mirrored else x
    return np.rot90(v, turns, axes=(-2, -1))


def unview_maps(maps, turns: int, mirrored: bool) -> list[np.ndarray]:
    """A view's (quality, cos 2θ, sin 2θ, width) maps in the original image's frame and angles."""
    q, c, s, w = (np.rot90(m, -turns, axes=(-2, -1)) for m in maps)
    if mirrored:
        q, c, s, w = q[..., ::-1], c[..., ::-1], s[..., ::-1], w[..., ::-1]
    sign_c = -1.0 if turns % 2 else 1.0
    sign_s = sign_c * (-1.0 if mirrored else 1.0)
    return [q, sign_c * c, sign_s * s, w]


def augmented_grasp_maps(run: Callable[[np.ndarray], list[np.ndarray]], x: np.ndarray,
                         views: int = 1) -> list[np.ndarray]:
    """The averaged maps of ``run`` (a (1, C, H, W) input → four (H, W) maps) over ``views``
    symmetric views of the square input ``x``."""
    check_views(views)
    if views == 1:
        return list(run(x))
    if x.shape[-1] != x.shape[-2]:
        raise ConfigError(f"test-time augmentation turns the input by quarter turns and needs a square input, "
                          f"got {x.shape[-2]}×{x.shape[-1]}")
    total = None
    for turns, mirrored in VIEWS[views]:
        maps = unview_maps(run(np.ascontiguousarray(view_image(x, turns, mirrored))), turns, mirrored)
        total = maps if total is None else [a + b for a, b in zip(total, maps)]
    return [np.ascontiguousarray(m / views, dtype=np.float32) for m in total]
