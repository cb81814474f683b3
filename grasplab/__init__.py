"""grasplab: parallel-jaw grasp detection in depth and RGB-D images.

Data flows one way: objects → scene (poses, cameras, renders, noise) → grasps → labels →
datasets → models → policies → evaluation.
"""
from ._version import __version__

__all__ = ["__version__"]
