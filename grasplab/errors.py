"""Typed exceptions: every user-facing failure says what was wrong and how to fix it.

The CLI catches :class:`GrasplabError` and prints its message without a traceback.
"""
from __future__ import annotations


class GrasplabError(Exception):
    """Base class for errors caused by bad input or configuration (not by bugs)."""


class ConfigError(GrasplabError, ValueError):
    """A parameter or option has an invalid value."""


class MeshError(GrasplabError, ValueError):
    """A mesh file cannot be used as a graspable object."""

    def __init__(self, source: str, problem: str, fix: str = ""):
        self.source = source
        self.problem = problem
        msg = f"{source}: {problem}"
        if fix:
            msg += f" ({fix})"
        super().__init__(msg)


class DepthImageError(GrasplabError, ValueError):
    """A depth image cannot be used (wrong shape, units, too many holes, unreadable)."""


class DepthShapeError(DepthImageError):
    """The depth array does not have the shape H×W or H×W×1."""


class DepthUnitsError(DepthImageError):
    """The units of a depth image (metres or millimetres) are wrong or cannot be told."""


class DepthHolesError(DepthImageError):
    """A depth image has no valid pixels, or too few to be repaired by inpainting."""


class CameraError(GrasplabError, ValueError):
    """Camera intrinsics or poses are invalid or cannot be read."""


class StablePoseError(GrasplabError):
    """An object has no usable stable pose on the table."""


class SimulationError(GrasplabError, RuntimeError):
    """The physics engine cannot build or step a world (e.g. an object's collision parts)."""


class RenderError(GrasplabError, RuntimeError):
    """No renderer could produce an image (no GL context, missing packages)."""


class CheckpointError(GrasplabError, ValueError):
    """A training checkpoint in a run folder cannot be read safely (corrupt, foreign, or holding
    objects whose unpickling could run code)."""


class NoGraspFoundError(GrasplabError):
    """A policy found no grasp in a frame (nothing graspable, nothing in view, or every
    candidate off the mask, outside the frame or wider than the gripper); the message says why."""
