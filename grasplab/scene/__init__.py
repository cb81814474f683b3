"""Scenes: stable poses, cameras, rendering and the depth noise model."""
from .cameras import CAMERA_PRESETS, CameraSamplerConfig, camera_preset, sample_camera
from .noise import NO_NOISE, DepthNoiseConfig, apply_depth_noise, gaussian_process_noise
from .rendering import Renderer, make_renderer
from .scene import Appearance, Observation, Scene, sample_appearance, sample_scene
from .stable_poses import StablePose, compute_stable_poses

__all__ = ["CAMERA_PRESETS", "CameraSamplerConfig", "camera_preset", "sample_camera", "NO_NOISE",
           "DepthNoiseConfig", "apply_depth_noise", "gaussian_process_noise", "Renderer", "make_renderer",
           "Appearance", "Observation", "Scene", "sample_appearance", "sample_scene", "StablePose",
           "compute_stable_poses"]
