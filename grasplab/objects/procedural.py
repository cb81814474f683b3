"""Procedural object families: watertight meshes in metres, the same mesh for the same seed.

Sizes are drawn so that some widths of an object fit a 5–8.5 cm parallel-jaw gripper and
others do not. Non-convex families (extruded star polygons, L/T/U profiles, mallets,
bottles) are built with manifold3d so that every result is a closed 2-manifold.
"""
from __future__ import annotations

from typing import Callable

import manifold3d as mf
import numpy as np
import trimesh

from ..errors import ConfigError
from .graspable import GraspObject

_CIRCLE_SEGMENTS = 32


def _to_trimesh(manifold: "mf.Manifold") -> trimesh.Trimesh:
    m = manifold.to_mesh64()
    mesh = trimesh.Trimesh(np.asarray(m.vert_properties)[:, :3].astype(np.float64),
                           np.asarray(m.tri_verts, dtype=np.int64), process=True)
    return mesh


def _box(rng: np.random.Generator) -> trimesh.Trimesh:
    extents = rng.uniform(0.02, 0.12, size=3)
    return trimesh.creation.box(extents=extents)


def _cylinder(rng: np.random.Generator) -> trimesh.Trimesh:
    radius = rng.uniform(0.015, 0.05)
    height = rng.uniform(0.03, 0.18)
    return trimesh.creation.cylinder(radius=radius, height=height, sections=_CIRCLE_SEGMENTS)


def _capsule(rng: np.random.Generator) -> trimesh.Trimesh:
    radius = rng.uniform(0.012, 0.04)
    length = rng.uniform(0.03, 0.14)
    return trimesh.creation.capsule(height=length, radius=radius, count=[_CIRCLE_SEGMENTS, _CIRCLE_SEGMENTS])


def _ellipsoid(rng: np.random.Generator) -> trimesh.Trimesh:
    semi_axes = rng.uniform(0.015, 0.06, size=3)
    sphere = trimesh.creation.icosphere(subdivisions=3, radius=1.0)
    sphere.apply_scale(semi_axes)
    return sphere


def _star_polygon(rng: np.random.Generator) -> np.ndarray:
    n = int(rng.integers(5, 10))
    outer = rng.uniform(0.03, 0.07)
    # evenly spread, jittered angles keep the polygon simple (star-shaped around the origin)
    angles = np.linspace(0, 2 * np.pi, n, endpoint=False) + rng.uniform(-0.25, 0.25, n) * (2 * np.pi / n)
    radii = outer * rng.uniform(0.35, 1.0, n)
    return np.stack([radii * np.cos(angles), radii * np.sin(angles)], axis=1)


def _prism(rng: np.random.Generator) -> trimesh.Trimesh:
    """An extruded random star-shaped (generally non-convex) polygon."""
    poly = _star_polygon(rng)
    height = rng.uniform(0.02, 0.08)
    return _to_trimesh(mf.CrossSection([poly]).extrude(height))


def _rect(x0, y0, x1, y1) -> np.ndarray:
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float64)


def _profile(rng: np.random.Generator) -> trimesh.Trimesh:
    """An L, T or U cross-section extruded into a bar."""
    kind = ["L", "T", "U"][int(rng.integers(0, 3))]
    t = rng.uniform(0.012, 0.03)          # wall thickness
    a = rng.uniform(0.05, 0.12)           # arm lengths
    b = rng.uniform(0.05, 0.12)
    if kind == "L":
        parts = [_rect(0, 0, a, t), _rect(0, 0, t, b)]
    elif kind == "T":
        parts = [_rect(-a / 2, b - t, a / 2, b), _rect(-t / 2, 0, t / 2, b)]
    else:
        parts = [_rect(0, 0, a, t), _rect(0, 0, t, b), _rect(a - t, 0, a, b)]
    section = mf.CrossSection.batch_boolean([mf.CrossSection([p]) for p in parts], mf.OpType.Add)
    depth = rng.uniform(0.02, 0.06)
    return _to_trimesh(section.extrude(depth))


def _mallet(rng: np.random.Generator) -> trimesh.Trimesh:
    """A cylindrical handle with a box or cylinder head across one end."""
    r_handle = rng.uniform(0.008, 0.018)
    length = rng.uniform(0.10, 0.20)
    handle = mf.Manifold.cylinder(length, r_handle, r_handle, _CIRCLE_SEGMENTS)  # along +z
    head_len = rng.uniform(0.05, 0.10)
    head_w = rng.uniform(0.025, 0.05)
    if rng.random() < 0.5:
        head = mf.Manifold.cube([head_len, head_w, head_w], True)
    else:
        head = mf.Manifold.cylinder(head_len, head_w / 2, head_w / 2, _CIRCLE_SEGMENTS, True).rotate([0.0, 90.0, 0.0])
    head = head.translate([0.0, 0.0, length])
    return _to_trimesh(handle + head)


def _bottle(rng: np.random.Generator) -> trimesh.Trimesh:
    """A body of revolution: wide body, shoulder, narrow neck."""
    r_body = rng.uniform(0.02, 0.045)
    r_neck = rng.uniform(0.008, min(0.018, 0.6 * r_body))
    h_body = rng.uniform(0.06, 0.14)
    h_shoulder = rng.uniform(0.015, 0.04)
    h_neck = rng.uniform(0.015, 0.04)
    profile = np.array([[0.0, 0.0], [r_body, 0.0], [r_body, h_body], [r_neck, h_body + h_shoulder],
                        [r_neck, h_body + h_shoulder + h_neck], [0.0, h_body + h_shoulder + h_neck]])
    return _to_trimesh(mf.CrossSection([profile]).revolve(_CIRCLE_SEGMENTS))


FAMILIES: dict[str, Callable[[np.random.Generator], trimesh.Trimesh]] = {
    "box": _box,
    "cylinder": _cylinder,
    "capsule": _capsule,
    "ellipsoid": _ellipsoid,
    "prism": _prism,
    "profile": _profile,
    "mallet": _mallet,
    "bottle": _bottle,
}
NON_CONVEX_FAMILIES = ("prism", "profile", "mallet", "bottle")


def make_procedural_object(family: str, seed: int, name: str | None = None) -> GraspObject:
    """Generate one object of ``family`` from ``seed`` (deterministic)."""
    if family not in FAMILIES:
        raise ConfigError(f"unknown object family {family!r}; choose from {', '.join(FAMILIES)}")
    rng = np.random.default_rng(seed)
    mesh = FAMILIES[family](rng)
    if not mesh.is_watertight or mesh.volume <= 0:  # a bug in a family, never user input
        raise RuntimeError(f"procedural family {family} produced an invalid mesh for seed {seed}")
    return GraspObject.from_mesh(name or f"{family}_{seed}", mesh, family=family,
                                 source=f"procedural:{family}:seed={seed}")
