"""Renderers: MuJoCo (OpenGL) and ray casting (trimesh + embree), one interface."""
from .base import MODALITIES, Renderer
from .factory import make_renderer

__all__ = ["MODALITIES", "Renderer", "make_renderer"]
