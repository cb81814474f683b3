"""Convex decomposition with coacd for simulation, cached on disk by mesh hash.

Physics engines collide convex pieces; coacd splits a non-convex mesh into a few
near-convex parts. It takes seconds per mesh, so results are cached under
``$GRASPLAB_CACHE_DIR/coacd`` (default ``~/.cache/grasplab/coacd``) keyed by the mesh's
content hash and the decomposition parameters.
"""
from __future__ import annotations

import hashlib
import io
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import trimesh

from ..storage import atomic_write_bytes, cache_root
from .graspable import mesh_hash


@dataclass(frozen=True)
class DecompositionParams:
    threshold: float = 0.05          # coacd concavity threshold (lower = more parts)
    max_convex_hull: int = -1        # -1: no limit
    preprocess_resolution: int = 50
    mcts_iterations: int = 100
    seed: int = 0


def cache_dir() -> Path:
    return cache_root() / "coacd"


def _cache_key(mesh: trimesh.Trimesh, params: DecompositionParams) -> str:
    p = hashlib.sha256(json.dumps(asdict(params), sort_keys=True).encode()).hexdigest()[:12]
    return f"{mesh_hash(mesh)}_{p}"


def _save(path: Path, parts: list[trimesh.Trimesh]) -> None:
    arrays = {}
    for i, part in enumerate(parts):
        arrays[f"v{i}"] = np.asarray(part.vertices, dtype=np.float64)
        arrays[f"f{i}"] = np.asarray(part.faces, dtype=np.int64)
    buf = io.BytesIO()
    np.savez_compressed(buf, n=np.array(len(parts)), **arrays)
    atomic_write_bytes(path, buf.getvalue())


def _load(path: Path) -> list[trimesh.Trimesh] | None:
    try:
        with np.load(path, allow_pickle=False) as z:
            return [trimesh.Trimesh(z[f"v{i}"], z[f"f{i}"], process=False) for i in range(int(z["n"]))]
    except (OSError, KeyError, ValueError):
        return None  # unreadable cache entry: recompute and overwrite


#: a part thinner than this fraction of the object's largest extent is a sliver (coacd leaves
#: some, flat to rounding): no volume to collide with, and MuJoCo refuses to hull it
MIN_PART_THICKNESS = 1e-4


def solid_parts(parts: list[trimesh.Trimesh], mesh: trimesh.Trimesh) -> list[trimesh.Trimesh]:
    """The parts with volume: slivers (fewer than 4 vertices, or thinner than
    ``MIN_PART_THICKNESS`` of the object along their thinnest principal axis) dropped; the
    object's convex hull if no part is left."""
    size = float(np.max(mesh.extents))
    keep = []
    for p in parts:
        v = np.asarray(p.vertices, dtype=np.float64)
        if len(v) < 4:
            continue
        c = v - v.mean(0)
        thinnest = np.linalg.svd(c, full_matrices=False)[2][-1]
        if np.ptp(c @ thinnest) >= MIN_PART_THICKNESS * size:
            keep.append(p)
    return keep or [mesh.convex_hull]


def convex_decomposition(mesh: trimesh.Trimesh, params: DecompositionParams = DecompositionParams(),
                         use_cache: bool = True) -> list[trimesh.Trimesh]:
    """Convex parts of ``mesh`` (a convex mesh comes back as its own hull), without slivers."""
    path = cache_dir() / f"{_cache_key(mesh, params)}.npz"
    if use_cache and path.is_file():
        parts = _load(path)
        if parts:
            return solid_parts(parts, mesh)
    if mesh.is_convex:
        parts = [mesh.convex_hull]
    else:
        import coacd
        coacd.set_log_level("error")
        result = coacd.run_coacd(coacd.Mesh(np.asarray(mesh.vertices), np.asarray(mesh.faces)),
                                 threshold=params.threshold, max_convex_hull=params.max_convex_hull,
                                 resolution=params.preprocess_resolution,
                                 mcts_iterations=params.mcts_iterations, seed=params.seed)
        parts = [trimesh.Trimesh(v, f).convex_hull for v, f in result]
    if use_cache:
        _save(path, parts)
    return solid_parts(parts, mesh)
