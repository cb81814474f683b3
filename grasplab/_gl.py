"""Choose MuJoCo's headless OpenGL backend before MuJoCo is imported.

MuJoCo reads ``MUJOCO_GL`` when it is imported. Unless the user chose, grasplab picks EGL
where libEGL loads, else OSMesa where libOSMesa loads; where neither does, the renderer
factory falls back to ray casting.
"""
from __future__ import annotations

import ctypes
import os


def _loads(*names: str) -> bool:
    for name in names:
        try:
            ctypes.CDLL(name)
            return True
        except OSError:
            continue
    return False


def choose_gl_backend() -> str:
    if "MUJOCO_GL" in os.environ:
        return os.environ["MUJOCO_GL"]
    backend = "egl"
    if not _loads("libEGL.so.1", "libEGL.so") and _loads("libOSMesa.so.8", "libOSMesa.so.6", "libOSMesa.so"):
        backend = "osmesa"
    os.environ["MUJOCO_GL"] = backend
    return backend
