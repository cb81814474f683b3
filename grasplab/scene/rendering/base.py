"""The renderer interface every backend implements."""
from __future__ import annotations

import abc
from typing import Iterable

from ...errors import ConfigError
from ..scene import Observation, Scene

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


def finish_observation(scene: Scene, obs: Observation, modalities: set[str]) -> Observation:
    """What every backend does after drawing: a style's table texture on the RGB image (from the
    table pixels of the depth image, so the pattern lies on the plane in world metres)."""
    decor = scene.decor
    if decor is None or decor.texture is None or obs.rgb is None or "rgb" not in modalities:
        return obs
    from ..styles import apply_table_texture
    rgb = apply_table_texture(obs.rgb, obs.depth_m, scene.intrinsics, scene.T_world_camera,
                              scene.appearance.table_rgb, decor.texture)
    return Observation(obs.depth_m, rgb, obs.mask, obs.intrinsics, obs.T_world_camera)
