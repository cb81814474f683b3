"""The graspable object: a watertight mesh in metres, centred on its centre of mass."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import trimesh

#: Default density of household plastic objects, kg/m³ (uniform density is assumed).
DEFAULT_DENSITY_KG_M3 = 1000.0


def mesh_hash(mesh: trimesh.Trimesh) -> str:
    """A content hash of a mesh's vertices and faces (stable across processes)."""
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(mesh.vertices, dtype=np.float64).tobytes())
    h.update(np.ascontiguousarray(mesh.faces, dtype=np.int64).tobytes())
    return h.hexdigest()[:32]


@dataclass
class GraspObject:
    """A rigid object: mesh (object frame = centre of mass at the origin), family and density."""

    name: str
    mesh: trimesh.Trimesh
    family: str = "mesh"
    density_kg_m3: float = DEFAULT_DENSITY_KG_M3
    source: str = ""
    notes: list[str] = field(default_factory=list)

    @classmethod
    def from_mesh(cls, name: str, mesh: trimesh.Trimesh, family: str = "mesh",
                  density_kg_m3: float = DEFAULT_DENSITY_KG_M3, source: str = "",
                  notes: list[str] | None = None) -> "GraspObject":
        """Translate ``mesh`` so that its centre of mass (uniform density) is the origin."""
        mesh = mesh.copy()
        mesh.apply_translation(-mesh.center_mass)
        mesh.density = density_kg_m3
        return cls(name, mesh, family, density_kg_m3, source, list(notes or []))

    @property
    def volume_m3(self) -> float:
        return float(self.mesh.volume)

    @property
    def mass_kg(self) -> float:
        return float(self.mesh.volume * self.density_kg_m3)

    @property
    def center_of_mass_m(self) -> np.ndarray:
        return np.asarray(self.mesh.center_mass, dtype=np.float64)

    @property
    def inertia_kg_m2(self) -> np.ndarray:
        """Inertia tensor about the centre of mass, in the object frame."""
        m = self.mesh.copy()
        m.density = self.density_kg_m3
        return np.asarray(m.moment_inertia, dtype=np.float64)

    @property
    def extents_m(self) -> np.ndarray:
        return np.asarray(self.mesh.extents, dtype=np.float64)

    @property
    def hash(self) -> str:
        return mesh_hash(self.mesh)

    def summary(self) -> dict:
        return {"name": self.name, "family": self.family, "source": self.source,
                "extents_m": self.extents_m.round(4).tolist(), "mass_kg": round(self.mass_kg, 4),
                "vertices": int(len(self.mesh.vertices)), "faces": int(len(self.mesh.faces)),
                "watertight": bool(self.mesh.is_watertight), "notes": self.notes}
