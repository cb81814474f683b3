"""grasplab: parallel-jaw grasp detection in depth and RGB-D images.

Data flows one way: objects → scene (poses, cameras, renders, noise) → grasps → labels →
datasets → models → policies → evaluation.
"""
import os as _os

# headless OpenGL for MuJoCo unless the user chose a backend (must precede `import mujoco`)
_os.environ.setdefault("MUJOCO_GL", "egl")

from ._version import __version__  # noqa: E402

__all__ = ["__version__"]
