"""grasplab: parallel-jaw grasp detection in depth and RGB-D images.

Data flows one way: objects → scene (poses, cameras, renders, noise) → grasps → labels →
datasets → models → policies → evaluation.
"""
from ._gl import choose_gl_backend as _choose_gl_backend

# headless OpenGL for MuJoCo (EGL, else OSMesa) unless the user chose; must precede `import mujoco`
_choose_gl_backend()

from ._version import __version__  # noqa: E402

__all__ = ["__version__"]


def load_detector(name_or_path=None, views: int = 1, rerank=None):
    """A grasp detector: a pretrained model name (``grasplab models``), a model file (``.npz``
    or ``.onnx``), or the default pretrained model; ``rerank``: a crop re-ranker for it. See
    :func:`grasplab.policies.load_detector`."""
    from .policies.detector import load_detector as _load
    return _load(name_or_path, views=views, rerank=rerank)


__all__ += ["load_detector"]
