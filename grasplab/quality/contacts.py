"""Closing parallel jaws on a mesh: where each jaw first touches the surface."""
from __future__ import annotations

import numpy as np
import trimesh


def close_jaws(mesh: trimesh.Trimesh, centers_m: np.ndarray, axes: np.ndarray, open_width_m: float,
               eps_m: float = 1e-6, return_tangents: bool = False):
    """Close jaws that start ``open_width_m`` apart, centred on each grasp, along its axis.

    Jaw 1 starts at centre − axis·w/2 and moves along +axis; jaw 2 starts at centre + axis·w/2
    and moves along −axis. Each stops at the first surface it meets. Returns contacts (N, 2, 3),
    outward normals (N, 2, 3) and a validity mask: both jaws touch, each touches a surface
    facing it (a jaw that starts inside the object means the object is too wide), and the two
    contacts are in order along the axis.
    """
    c = np.asarray(centers_m, dtype=np.float64)
    a = np.asarray(axes, dtype=np.float64)
    n = len(c)
    half = open_width_m / 2 + eps_m
    origins = np.concatenate([c - a * half, c + a * half])
    dirs = np.concatenate([a, -a])
    locs, ray_idx, tri_idx = mesh.ray.intersects_location(origins, dirs, multiple_hits=False)
    hit = np.zeros(2 * n, dtype=bool)
    points = np.zeros((2 * n, 3))
    normals = np.zeros((2 * n, 3))
    hit[ray_idx] = True
    points[ray_idx] = locs
    normals[ray_idx] = mesh.face_normals[tri_idx]
    tangents = np.zeros((2 * n, 3))
    if return_tangents:
        tri = mesh.triangles[tri_idx]
        edge = tri[:, 1] - tri[:, 0]
        edge -= np.einsum("ij,ij->i", edge, normals[ray_idx])[:, None] * normals[ray_idx]
        tangents[ray_idx] = edge / np.maximum(np.linalg.norm(edge, axis=1, keepdims=True), 1e-15)
    travel = np.einsum("ij,ij->i", points - origins, dirs)
    facing = np.einsum("ij,ij->i", normals, dirs) < 0          # the jaw meets an outside surface
    ok = hit & facing & (travel <= 2 * half + eps_m)
    valid = ok[:n] & ok[n:]
    # jaw 1's contact must not lie beyond jaw 2's along the axis
    s1 = np.einsum("ij,ij->i", points[:n] - c, a)
    s2 = np.einsum("ij,ij->i", points[n:] - c, a)
    valid &= s1 <= s2 + eps_m
    contacts = np.stack([points[:n], points[n:]], axis=1)
    normals_out = np.stack([normals[:n], normals[n:]], axis=1)
    if return_tangents:
        return contacts, normals_out, valid, np.stack([tangents[:n], tangents[n:]], axis=1)
    return contacts, normals_out, valid
