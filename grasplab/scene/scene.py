"""A scene: one object resting on a table, a camera, and the appearance of both."""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ..geometry import CameraIntrinsics, RigidTransform
from ..objects import GraspObject
from .cameras import CameraSamplerConfig, sample_camera
from .stable_poses import StablePose
from .styles import Decor, SceneStyle, sample_decor


@dataclass(frozen=True)
class Appearance:
    """Colours (linear RGB in [0, 1]) and a directional light for RGB renders."""

    object_rgb: tuple[float, float, float] = (0.8, 0.3, 0.2)
    table_rgb: tuple[float, float, float] = (0.6, 0.6, 0.6)
    light_dir: tuple[float, float, float] = (0.0, 0.0, -1.0)   # direction the light travels (world)
    diffuse: float = 0.7
    ambient: float = 0.3
    light_rgb: tuple[float, float, float] = (1.0, 1.0, 1.0)    # the light's colour (diffuse and ambient)


def sample_appearance(rng: np.random.Generator) -> Appearance:
    """Random object and table colours and a light from somewhere above."""
    polar = rng.uniform(0.0, np.deg2rad(50))
    az = rng.uniform(0, 2 * np.pi)
    d = -np.array([np.sin(polar) * np.cos(az), np.sin(polar) * np.sin(az), np.cos(polar)])
    return Appearance(tuple(rng.uniform(0.1, 0.95, 3)), tuple(rng.uniform(0.25, 0.85, 3)),
                      tuple(d), float(rng.uniform(0.45, 0.8)), float(rng.uniform(0.15, 0.35)))


@dataclass
class Scene:
    obj: GraspObject
    T_world_obj: RigidTransform
    intrinsics: CameraIntrinsics
    T_world_camera: RigidTransform
    appearance: Appearance = field(default_factory=Appearance)
    pose_index: int = 0
    decor: Decor | None = None          # a style's distractors and table texture (``styles``)

    @property
    def T_camera_world(self) -> RigidTransform:
        return self.T_world_camera.inverse()

    def with_camera(self, intrinsics: CameraIntrinsics, T_world_camera: RigidTransform) -> "Scene":
        return Scene(self.obj, self.T_world_obj, intrinsics, T_world_camera, self.appearance, self.pose_index,
                     self.decor)


@dataclass
class Observation:
    """What a camera sees: planar depth (float32 m; 0 = no return), RGB, object mask."""

    depth_m: np.ndarray
    rgb: np.ndarray | None
    mask: np.ndarray | None
    intrinsics: CameraIntrinsics
    T_world_camera: RigidTransform


def sample_scene(obj: GraspObject, pose: StablePose, camera: CameraSamplerConfig,
                 rng: np.random.Generator, style: SceneStyle | None = None) -> Scene:
    """Place ``obj`` in ``pose`` with a random yaw at the table origin, then sample a camera and,
    for a style other than plain, its decor (from a child of ``rng``: the object, pose and camera
    are those the plain style draws)."""
    T_world_obj = pose.placed(0.0, 0.0, rng.uniform(0, 2 * np.pi))
    com_world = T_world_obj.apply(obj.center_of_mass_m)
    intr, T_wc = sample_camera(rng, camera, target_m=(com_world[0], com_world[1], 0.0))
    appearance = sample_appearance(rng)
    decor = None
    if style is not None and style != SceneStyle():
        child = np.random.default_rng(int(rng.integers(2 ** 63)))
        xy = T_world_obj.apply(obj.mesh.vertices)[:, :2]
        radius = float(np.max(np.linalg.norm(xy - com_world[:2], axis=1)))
        decor, changes = sample_decor(style, child, com_world[:2], radius)
        appearance = replace(appearance, **changes)
    return Scene(obj, T_world_obj, intr, T_wc, appearance, pose.index, decor)
