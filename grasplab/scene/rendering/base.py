"""The renderer interface and the factory that picks a working backend."""
from __future__ import annotations

import abc
import logging
from typing import Iterable

from ...errors import ConfigError, RenderError
from ..scene import Observation, Scene

log = logging.getLogger(__name__)

MODALITIES = ("depth", "rgb", "mask")


class Renderer(abc.ABC):
    """Renders a :class:`Scene` (object on an infinite table at z = 0) into an Observation."""

    name: str = "renderer"

    @abc.abstractmethod
    def render(self, scene: Scene, modalities: Iterable[str] = MODALITIES) -> Observation:
        """Depth is always produced; ``rgb`` and ``mask`` only when asked for."""

    def close(self) -> None:
        """Release GL contexts or other resources."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def check_modalities(modalities: Iterable[str]) -> set[str]:
    mods = set(modalities)
    unknown = mods - set(MODALITIES)
    if unknown:
        raise ConfigError(f"unknown render modalities {sorted(unknown)}; choose from {MODALITIES}")
    return mods


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
