"""Picking a working rendering backend: MuJoCo where a GL context can be made, else ray casting."""
from __future__ import annotations

import logging

from ...errors import ConfigError, RenderError
from .base import Renderer

log = logging.getLogger(__name__)


def make_renderer(name: str = "auto") -> Renderer:
    """``mujoco`` (OpenGL, EGL/OSMesa), ``raycast`` (trimesh + embree) or ``auto`` (MuJoCo
    if a GL context can be made, else ray casting)."""
    if name not in ("auto", "mujoco", "raycast"):
        raise ConfigError(f"unknown renderer {name!r}; choose auto, mujoco or raycast")
    if name in ("auto", "mujoco"):
        try:
            from .mujoco_renderer import MujocoRenderer
            return MujocoRenderer()
        except RenderError as e:
            if name == "mujoco":
                raise
            log.warning("MuJoCo rendering unavailable (%s); falling back to ray casting", e)
    from .raycast_renderer import RaycastRenderer
    return RaycastRenderer()
