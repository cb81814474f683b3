"""grasplab: parallel-jaw grasp detection in depth and RGB-D images.

Data flows one way: objects → scene (poses, cameras, renders, noise) → grasps → labels →
datasets → models → policies → evaluation → experiments. Every planner is a ``GraspPolicy``:
``load_policy(...)`` one, hand it a ``Frame``, get ranked grasps.
"""
from ._gl import choose_gl_backend as _choose_gl_backend

# headless OpenGL for MuJoCo (EGL, else OSMesa) unless the user chose; must precede `import mujoco`
_choose_gl_backend()

from ._version import __version__  # noqa: E402

__all__ = ["__version__", "Frame", "load_policy", "load_detector"]


def __getattr__(name: str):
    """``Frame``, ``load_policy`` and ``load_detector`` on first use (so ``import grasplab`` stays
    light: torch is imported only when a policy is loaded)."""
    if name == "Frame":
        from .imaging import Frame
        return Frame
    if name == "load_policy":
        from .policies.registry import load_policy
        return load_policy
    if name == "load_detector":
        from .policies.grasp_map_policy import load_detector
        return load_detector
    raise AttributeError(f"module 'grasplab' has no attribute {name!r}")
