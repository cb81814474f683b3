"""Object sources named on the command line: ``procedural:N[:fam1,fam2]`` or ``meshes:DIR``.

A source expands to a list of :class:`ObjectSpec` — cheap descriptions that build their
object on demand, so that workers can build objects themselves from (source, index, seed).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError
from ..seeding import derive_int_seed
from .graspable import DEFAULT_DENSITY_KG_M3, GraspObject
from .mesh_files import load_mesh_object, list_mesh_files
from .procedural import FAMILIES, make_procedural_object


@dataclass(frozen=True)
class ObjectSpec:
    key: str                 # unique, filesystem-safe object id
    kind: str                # "procedural" or "mesh"
    family: str
    seed: int = 0
    path: str = ""
    scale: float = 1.0
    density_kg_m3: float = DEFAULT_DENSITY_KG_M3

    def build(self) -> GraspObject:
        if self.kind == "procedural":
            obj = make_procedural_object(self.family, self.seed, name=self.key)
        else:
            obj = load_mesh_object(self.path, scale=self.scale, density_kg_m3=self.density_kg_m3)
            obj.name = self.key
        return obj


def parse_object_source(spec: str, seed: int = 0, scale: float = 1.0) -> list[ObjectSpec]:
    """Expand a source string into object specs (deterministic for a seed)."""
    kind, _, rest = spec.partition(":")
    if kind == "procedural":
        count_s, _, fams_s = rest.partition(":")
        try:
            count = int(count_s)
        except ValueError:
            raise ConfigError(f"bad object source {spec!r}: expected procedural:N with N a whole number") from None
        if count <= 0:
            raise ConfigError(f"bad object source {spec!r}: N must be positive")
        families = [f for f in fams_s.split(",") if f] if fams_s else list(FAMILIES)
        unknown = [f for f in families if f not in FAMILIES]
        if unknown:
            raise ConfigError(f"unknown object families {unknown}; choose from {', '.join(FAMILIES)}")
        specs = []
        for i in range(count):
            fam = families[i % len(families)]   # round robin: every family appears once N ≥ #families
            specs.append(ObjectSpec(f"{fam}_{i:05d}", "procedural", fam, derive_int_seed(seed, "object", i)))
        return specs
    if kind == "meshes":
        if not rest:
            raise ConfigError(f"bad object source {spec!r}: expected meshes:DIR")
        files = list_mesh_files(rest)
        root = Path(rest)
        specs = []
        for p in files:
            key = str(p.relative_to(root).with_suffix("")).replace("/", "__").replace(" ", "_")
            specs.append(ObjectSpec(key, "mesh", "mesh", 0, str(p), scale))
        return specs
    raise ConfigError(f"bad object source {spec!r}: use procedural:N, procedural:N:fam1,fam2 or meshes:DIR")
