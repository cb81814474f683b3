"""Loading user meshes (OBJ, STL, PLY) as graspable objects, with checks and safe repairs.

Repairs go from the certain to the checked: trimesh's exact ones first (merging duplicate
vertices, dropping degenerate or duplicate faces, closing small holes, making the winding
consistent and outward); a mesh still open after them (slivers whose edges are shared by three
faces, self-intersections: the norm in scanned object sets such as YCB) goes to MeshFix
(``pymeshfix``), and its result is kept only if it has the original's shape: the same bounding
box, surface area within a few per cent, and the original surface within a fraction of a
millimetre of it. Anything else is refused with a message naming the file and the fix.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import trimesh

from ..errors import MeshError
from .graspable import DEFAULT_DENSITY_KG_M3, GraspObject

MESH_SUFFIXES = (".obj", ".stl", ".ply")


@dataclass(frozen=True)
class MeshChecks:
    """Limits a mesh must meet after scaling (metres)."""

    min_extent_m: float = 0.005
    max_extent_m: float = 1.0
    repair: bool = True
    # MeshFix's closed mesh is kept only if it keeps the original's shape:
    max_extent_change: float = 0.02          # bounding box, relative to the largest extent
    max_area_change: float = 0.05            # surface area, relative
    max_surface_gap_m: float = 0.001         # original surface points to the repaired one (95th percentile)
    max_new_surface: float = 0.02            # fraction of the repaired surface farther than that from the original


def _load_trimesh(path: Path) -> trimesh.Trimesh:
    try:
        loaded = trimesh.load(path, force="mesh", process=False)
    except Exception as e:  # trimesh raises many types for malformed files
        raise MeshError(str(path), f"cannot be parsed as {path.suffix} ({type(e).__name__}: {e})",
                        "is the file complete and really a mesh?") from None
    if not isinstance(loaded, trimesh.Trimesh) or len(loaded.faces) == 0:
        raise MeshError(str(path), "contains no triangles", "export the object as a triangle mesh")
    return loaded


def close_small_holes(mesh: trimesh.Trimesh, max_loop_edges: int = 32, max_radius_fraction: float = 0.1) -> int:
    """Close each small boundary loop with a fan of triangles around its centroid.

    A loop is small if it has at most ``max_loop_edges`` edges and no vertex farther from
    its centroid than ``max_radius_fraction`` of the mesh's largest extent. Returns the number
    of loops closed; larger loops are left open (they need a person, not a guess).
    """
    max_radius = max_radius_fraction * float(mesh.extents.max())
    edges = mesh.edges  # directed, one row per face corner
    boundary = trimesh.grouping.group_rows(mesh.edges_sorted, require_count=1)
    if len(boundary) == 0:
        return 0
    nxt = {int(a): int(b) for a, b in edges[boundary]}
    if len(nxt) != len(boundary):
        return 0  # a vertex starts two boundary edges: non-manifold, not safe to guess
    seen: set[int] = set()
    new_vertices, new_faces = [], []
    n_v = len(mesh.vertices)
    for start in list(nxt):
        if start in seen:
            continue
        loop = [start]
        seen.add(start)
        while nxt.get(loop[-1]) not in (None, start) and len(loop) <= max_loop_edges:
            loop.append(nxt[loop[-1]])
            seen.add(loop[-1])
        if nxt.get(loop[-1]) != start or len(loop) > max_loop_edges:
            continue
        centroid = mesh.vertices[loop].mean(axis=0)
        if np.linalg.norm(mesh.vertices[loop] - centroid, axis=1).max() > max_radius:
            continue
        c_idx = n_v + len(new_vertices)
        new_vertices.append(centroid)
        for a, b in zip(loop, loop[1:] + loop[:1]):
            new_faces.append([b, a, c_idx])  # reverse of the open edge a→b keeps the winding
    if not new_faces:
        return 0
    mesh.vertices = np.vstack([mesh.vertices, np.array(new_vertices)])
    mesh.faces = np.vstack([mesh.faces, np.array(new_faces)])
    return len(new_vertices)


def _union_of_closed_parts(mesh: trimesh.Trimesh, checks: MeshChecks) -> tuple[trimesh.Trimesh, str]:
    """A mesh made of closed parts that touch along edges (each edge then shared by four faces, so
    the whole is not watertight) becomes their exact boolean union (manifold3d); else unchanged."""
    parts = mesh.split(only_watertight=False)
    if len(parts) < 2 or not all(part.is_watertight for part in parts):
        return mesh, ""
    for part in parts:
        if part.volume < 0:
            part.invert()
    try:
        union = trimesh.boolean.union(parts, engine="manifold")
    except Exception:                   # manifold3d refuses some inputs: leave it to the next repair
        return mesh, ""
    if not (union.is_watertight and union.volume > 0) or \
            float(np.abs(union.extents - mesh.extents).max()) > checks.max_extent_change * float(mesh.extents.max()):
        return mesh, ""
    return union, f"joined {len(parts)} closed parts that shared edges (exact boolean union)"


def _unclosed_edges(mesh: trimesh.Trimesh) -> str:
    """Why a mesh is not closed, in edges: those on one face only (holes) and those shared by more
    than two faces (non-manifold, e.g. parts that touch along an edge)."""
    counts = np.unique(np.unique(mesh.edges_sorted, axis=0, return_inverse=True)[1], return_counts=True)[1]
    n_open, n_shared = int(np.sum(counts == 1)), int(np.sum(counts > 2))
    edges = lambda n: f"{n} edge{'' if n == 1 else 's'}"          # noqa: E731
    return f"{edges(n_open)} open" + (f", {edges(n_shared)} shared by more than two faces" if n_shared else "")


def _meshfix(mesh: trimesh.Trimesh, source: str, checks: MeshChecks) -> tuple[trimesh.Trimesh, str]:
    """MeshFix's closed, manifold version of ``mesh``, if it keeps the shape (else the mesh as it was)."""
    try:
        import pymeshfix
    except ImportError:                 # a dependency; only a broken install lacks it
        return mesh, "not repaired: pymeshfix is not installed"
    unclosed = _unclosed_edges(mesh)
    fix = pymeshfix.MeshFix(np.asarray(mesh.vertices, dtype=np.float64), np.asarray(mesh.faces, dtype=np.int32))
    fix.repair(joincomp=False, remove_smallest_components=False)
    fixed = trimesh.Trimesh(np.asarray(fix.points), np.asarray(fix.faces), process=True)
    if len(fixed.faces) < 4 or not fixed.is_watertight:
        return mesh, "MeshFix could not close it"
    scale = float(mesh.extents.max())
    extent = float(np.abs(fixed.extents - mesh.extents).max()) / scale
    area = abs(fixed.area - mesh.area) / mesh.area
    # both ways: the original surface must lie on the repaired one (nothing moved or dropped), and
    # the repaired one on the original (nothing invented: a filled hole is surface no one measured)
    _, gap, _ = trimesh.proximity.closest_point(fixed, trimesh.sample.sample_surface(mesh, 2000, seed=0)[0])
    _, new, _ = trimesh.proximity.closest_point(mesh, trimesh.sample.sample_surface(fixed, 2000, seed=1)[0])
    gap_m = float(np.percentile(gap, 95))
    invented = float(np.mean(new > checks.max_surface_gap_m))
    if extent > checks.max_extent_change or area > checks.max_area_change or gap_m > checks.max_surface_gap_m \
            or invented > checks.max_new_surface:
        raise MeshError(source, f"is not watertight ({unclosed}), and closing it would change its shape "
                                f"(bounding box by {extent:.1%}, area by {area:.1%}, surface moved up to "
                                f"{gap_m * 1000:.2f} mm, {invented:.1%} of the surface new)",
                        "close it in a mesh editor (e.g. Blender's 3D-Print toolbox) or re-export it as a solid")
    return fixed, (f"closed with MeshFix ({unclosed}; area changed {area:.2%}, surface moved ≤ "
                   f"{gap_m * 1000:.2f} mm, {invented:.1%} new)")


def check_and_repair_mesh(mesh: trimesh.Trimesh, source: str, scale: float = 1.0,
                          checks: MeshChecks = MeshChecks()) -> tuple[trimesh.Trimesh, list[str]]:
    """Scale, validate and (safely) repair a mesh; return it with a list of repairs made."""
    notes: list[str] = []
    if not np.isfinite(scale) or scale <= 0:
        raise MeshError(source, f"scale {scale} must be a positive number")
    mesh = mesh.copy()
    if not np.all(np.isfinite(mesh.vertices)):
        raise MeshError(source, "has NaN or infinite vertex coordinates", "fix the export")
    if scale != 1.0:
        mesh.apply_scale(scale)
    ext = float(mesh.extents.max())
    if ext > checks.max_extent_m:
        hint = ("it looks like millimetres: pass --scale 0.001" if ext * 1e-3 <= checks.max_extent_m
                and ext * 1e-3 >= checks.min_extent_m else "check its units and pass --scale")
        raise MeshError(source, f"is {ext:.4g} m across, larger than the {checks.max_extent_m} m limit", hint)
    if ext < checks.min_extent_m:
        raise MeshError(source, f"is only {ext:.3g} m across, smaller than the {checks.min_extent_m} m limit",
                        "check its units and pass --scale (e.g. 0.01 for centimetres written as metres)")
    if checks.repair:
        n_v, n_f = len(mesh.vertices), len(mesh.faces)
        mesh.merge_vertices(merge_tex=True, merge_norm=True)
        mesh.update_faces(mesh.nondegenerate_faces())
        mesh.update_faces(mesh.unique_faces())
        mesh.remove_unreferenced_vertices()
        if len(mesh.vertices) != n_v or len(mesh.faces) != n_f:
            notes.append(f"merged/dropped {n_v - len(mesh.vertices)} vertices and {n_f - len(mesh.faces)} "
                         "degenerate or duplicate faces")
        if len(mesh.faces) < 4:
            raise MeshError(source, "is degenerate: fewer than 4 non-degenerate faces remain")
        if not mesh.is_watertight:
            trimesh.repair.fill_holes(mesh)
            closed = close_small_holes(mesh) if not mesh.is_watertight else 0
            if mesh.is_watertight:
                notes.append(f"closed small holes ({closed} boundary loops fanned)" if closed else "closed small holes")
        if not mesh.is_watertight:
            mesh, note = _union_of_closed_parts(mesh, checks)
            if note:
                notes.append(note)
        if not mesh.is_watertight:
            mesh, note = _meshfix(mesh, source, checks)
            notes.append(note)
        if not mesh.is_winding_consistent or mesh.volume < 0:
            trimesh.repair.fix_normals(mesh)
            notes.append("made face winding consistent and outward")
    if not mesh.is_watertight:
        raise MeshError(source, f"is not watertight ({_unclosed_edges(mesh)})",
                        "close it in a mesh editor (e.g. Blender's 3D-Print toolbox) or re-export it as a solid")
    if not mesh.volume > 0:
        raise MeshError(source, f"encloses no positive volume ({mesh.volume:.3g} m³)", "is it flat or inside-out?")
    return mesh, notes


def load_mesh_object(path: str | Path, scale: float = 1.0, density_kg_m3: float = DEFAULT_DENSITY_KG_M3,
                     checks: MeshChecks = MeshChecks()) -> GraspObject:
    """Load one mesh file as a :class:`GraspObject` (centred on its centre of mass)."""
    path = Path(path)
    if not path.is_file():
        raise MeshError(str(path), "file not found")
    if path.suffix.lower() not in MESH_SUFFIXES:
        raise MeshError(str(path), f"unsupported mesh format {path.suffix!r}", f"use one of {', '.join(MESH_SUFFIXES)}")
    mesh, notes = check_and_repair_mesh(_load_trimesh(path), str(path), scale, checks)
    return GraspObject.from_mesh(path.stem, mesh, family="mesh", density_kg_m3=density_kg_m3,
                                 source=str(path.resolve()), notes=notes)


def list_mesh_files(folder: str | Path) -> list[Path]:
    folder = Path(folder)
    if not folder.is_dir():
        raise MeshError(str(folder), "mesh folder not found")
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in MESH_SUFFIXES)
    if not files:
        raise MeshError(str(folder), f"contains no mesh files ({', '.join(MESH_SUFFIXES)})")
    return files
