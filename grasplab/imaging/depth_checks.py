"""Hygiene for real depth images: shape, holes, units (m vs mm) and inpainting.

Real sensors return zeros, NaNs or negative values where they saw nothing, and many tools
save millimetres as uint16. Every policy runs depth through :func:`prepare_depth_m`
first, so a bad image fails with a message that says what was wrong and what to do.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.ndimage as ndi
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from ..errors import DepthHolesError, DepthImageError, DepthShapeError, DepthUnitsError

DepthUnits = Literal["auto", "m", "mm"]

#: Plausible working range of a grasping depth camera, in metres.
MIN_PLAUSIBLE_DEPTH_M = 0.05
MAX_PLAUSIBLE_DEPTH_M = 20.0

MAX_FRAME_PIXELS = 4096 * 4096        # larger frames are refused before anything is allocated (README: limits)


def check_frame_size(name, shape: tuple) -> None:
    """Refuse an image whose pixel count exceeds ``MAX_FRAME_PIXELS`` (before it is decoded or copied);
    ``shape`` may also be the image itself."""
    if not isinstance(shape, tuple):
        try:
            shape = np.shape(shape)
        except ValueError:
            raise DepthShapeError(f"{name}: not an H×W array (ragged nested lists?); pass a numpy array") from None
    h, w = (tuple(shape) + (1, 1))[:2]
    if h * w > MAX_FRAME_PIXELS:
        raise DepthImageError(f"{name}: a {h}×{w} image has {h * w / 1e6:.0f} million pixels, more than the "
                              f"{MAX_FRAME_PIXELS / 1e6:.1f} million grasplab reads; downscale it (depth cameras give "
                              f"0.3–2 million) or crop it to the workspace")


def as_depth_array(depth, name: str = "depth image") -> np.ndarray:
    """Return ``depth`` as a float64 H×W array (accepts H×W×1); refuse other shapes."""
    arr = np.asarray(depth)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.ndim != 2:
        raise DepthShapeError(f"{name} must be H×W or H×W×1, got shape {arr.shape}; "
                              "pass a single-channel depth image (not RGB, not a batch)")
    if arr.shape[0] < 8 or arr.shape[1] < 8:
        raise DepthShapeError(f"{name} of shape {arr.shape} is too small to hold a scene")
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise DepthShapeError(f"{name} has dtype {arr.dtype}; expected float (metres) or integer (millimetres)")
    return arr.astype(np.float64)


def hole_mask(depth: np.ndarray) -> np.ndarray:
    """Pixels with no measurement: NaN, ±inf, zero or negative."""
    d = np.asarray(depth)
    with np.errstate(invalid="ignore"):
        return ~np.isfinite(d) | (d <= 0)


def detect_depth_units(depth: np.ndarray, name: str = "depth image") -> Literal["m", "mm"]:
    """Tell metres from millimetres by the median valid value (tables lie 0.05–20 m away)."""
    d = as_depth_array(depth, name)
    # a median decides between units a factor 1000 apart: a regular subsample of ~10⁴ pixels
    # is as good as all of them, at a fraction of the cost (camera-rate callers)
    step = max(1, int(np.sqrt(d.size / 10_000)))
    sample = d[::step, ::step]
    valid = sample[~hole_mask(sample)]
    if valid.size == 0:
        valid = d[~hole_mask(d)]
    if valid.size == 0:
        raise DepthHolesError(f"{name} has no valid pixels (all zero, negative or NaN)")
    med = float(np.median(valid))
    if MIN_PLAUSIBLE_DEPTH_M <= med <= MAX_PLAUSIBLE_DEPTH_M:
        return "m"
    if MIN_PLAUSIBLE_DEPTH_M * 1000 <= med <= MAX_PLAUSIBLE_DEPTH_M * 1000:
        return "mm"
    raise DepthUnitsError(f"{name}: median depth {med:g} is neither plausible metres "
                          f"({MIN_PLAUSIBLE_DEPTH_M}–{MAX_PLAUSIBLE_DEPTH_M}) nor millimetres; "
                          "check the file, or give the units and scale explicitly")


def depth_to_metres(depth, units: DepthUnits = "auto", name: str = "depth image") -> np.ndarray:
    """Convert to float64 metres; holes stay holes (NaN/≤0 are kept as they are)."""
    d = as_depth_array(depth, name)
    if units == "auto":
        units = detect_depth_units(d, name)
    if units == "mm":
        return d / 1000.0
    if units == "m":
        return d
    raise DepthUnitsError(f"unknown depth units {units!r}; use 'm', 'mm' or 'auto'")


def inpaint_depth(depth_m: np.ndarray, holes: np.ndarray | None = None,
                  method: Literal["laplace", "nearest"] = "laplace") -> np.ndarray:
    """Fill holes from their surroundings.

    ``laplace`` solves Laplace's equation over the holes with the valid pixels as boundary
    values (a smooth membrane, close to OpenCV's Navier–Stokes inpainting on depth);
    ``nearest`` copies the nearest valid pixel (fast, for camera-rate loops).
    """
    d = np.array(depth_m, dtype=np.float64)
    holes = hole_mask(d) if holes is None else np.asarray(holes, dtype=bool)
    if not holes.any():
        return d
    if holes.all():
        raise DepthHolesError("cannot inpaint a depth image with no valid pixels")
    idx = ndi.distance_transform_edt(holes, return_distances=False, return_indices=True)
    nearest = d[idx[0], idx[1]]
    if method == "nearest":
        return nearest
    if method != "laplace":
        raise ValueError(f"unknown inpainting method {method!r}; use 'laplace' or 'nearest'")
    h, w = d.shape
    hole_idx = np.flatnonzero(holes)
    n = hole_idx.size
    unknown_id = -np.ones(h * w, dtype=np.int64)
    unknown_id[hole_idx] = np.arange(n)
    rows, cols = np.divmod(hole_idx, w)
    flat = d.ravel()
    diag = np.zeros(n)
    rhs = np.zeros(n)
    ii, jj = [], []
    for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        r2, c2 = rows + dr, cols + dc
        inside = (r2 >= 0) & (r2 < h) & (c2 >= 0) & (c2 < w)
        diag += inside
        nb = np.where(inside, r2 * w + c2, 0)
        nb_unknown = inside & (unknown_id[nb] >= 0)
        nb_known = inside & ~nb_unknown
        rhs[nb_known] += flat[nb[nb_known]]
        ii.append(np.flatnonzero(nb_unknown))
        jj.append(unknown_id[nb[nb_unknown]])
    ii = np.concatenate(ii)
    jj = np.concatenate(jj)
    A = sp.csr_matrix((np.concatenate([diag, -np.ones(ii.size)]),
                       (np.concatenate([np.arange(n), ii]), np.concatenate([np.arange(n), jj]))), shape=(n, n))
    sol = spla.spsolve(A.tocsc(), rhs)
    out = d.ravel().copy()
    out[hole_idx] = sol
    return out.reshape(h, w)


@dataclass(frozen=True)
class PreparedDepth:
    depth_m: np.ndarray
    holes: np.ndarray
    units_detected: str

    @property
    def hole_fraction(self) -> float:
        return float(self.holes.mean())


def prepare_depth_m(depth, units: DepthUnits = "auto", max_hole_fraction: float = 0.5,
                    inpaint: Literal["laplace", "nearest", "none"] = "laplace",
                    name: str = "depth image") -> PreparedDepth:
    """Check, convert to metres and inpaint a real depth image; raise with a fix if unusable."""
    d = as_depth_array(depth, name)
    holes = hole_mask(d)
    frac = float(holes.mean())
    if frac >= 1.0:
        raise DepthHolesError(f"{name} has no valid pixels (all zero, negative or NaN); "
                              "is the sensor connected and the scene within its range?")
    if frac > max_hole_fraction:
        raise DepthHolesError(f"{name} has {frac:.0%} missing pixels (limit {max_hole_fraction:.0%}); "
                              "too few to inpaint reliably. Move the camera into range or raise max_hole_fraction")
    detected = detect_depth_units(d, name) if units == "auto" else units
    dm = depth_to_metres(d, detected, name)
    valid = dm[~holes]
    lo, hi = float(valid.min()), float(valid.max())
    if hi > MAX_PLAUSIBLE_DEPTH_M or lo < 0.01:
        raise DepthUnitsError(f"{name}: depths span {lo:g}–{hi:g} m after treating them as {detected!r}; "
                              "that is not a tabletop scene. Are the units right (m vs mm)?")
    if inpaint != "none":
        dm = inpaint_depth(dm, holes, method=inpaint)
    return PreparedDepth(dm.astype(np.float32), holes, detected)
