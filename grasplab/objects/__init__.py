"""Objects: procedural families, user meshes with checks, mass properties, decomposition."""
from .decomposition import DecompositionParams, convex_decomposition
from .graspable import GraspObject, mesh_hash
from .mesh_files import MeshChecks, check_and_repair_mesh, list_mesh_files, load_mesh_object
from .procedural import FAMILIES, NON_CONVEX_FAMILIES, make_procedural_object
from .sources import ObjectSpec, parse_object_source

__all__ = ["GraspObject", "mesh_hash", "FAMILIES", "NON_CONVEX_FAMILIES", "make_procedural_object",
           "MeshChecks", "check_and_repair_mesh", "list_mesh_files", "load_mesh_object",
           "DecompositionParams", "convex_decomposition", "ObjectSpec", "parse_object_source"]
