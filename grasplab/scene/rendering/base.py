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
