"""Camera sampling: poses on a spherical cap above the object and intrinsics (DESIGN B4)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError
from ..geometry import CameraIntrinsics, RigidTransform


@dataclass(frozen=True)
class CameraSamplerConfig:
    """Ranges are sampled uniformly. Defaults are Dex-Net 2.0's (600×600, f 520–530 px,
    principal point 299.5, 0.65–0.75 m away, 0.1–5° from vertical)."""

    width: int = 600
    height: int = 600
    focal_px: tuple[float, float] = (520.0, 530.0)
    cx: float = 299.5
    cy: float = 299.5
    radius_m: tuple[float, float] = (0.65, 0.75)
    polar_deg: tuple[float, float] = (0.1, 5.0)
    azimuth_deg: tuple[float, float] = (0.0, 360.0)
    roll_deg: tuple[float, float] = (0.0, 360.0)      # grasplab default: any image rotation
    target_jitter_m: float = 0.0                      # camera aims within ± this of the object

    def __post_init__(self):
        for name in ("focal_px", "radius_m", "polar_deg", "azimuth_deg", "roll_deg"):
            lo, hi = getattr(self, name)
            if hi < lo:
                raise ConfigError(f"camera range {name}=({lo}, {hi}) has max < min")
        if self.focal_px[0] <= 0 or self.radius_m[0] <= 0:
            raise ConfigError("focal length and camera distance must be positive")
        if not 0 <= self.polar_deg[0] and self.polar_deg[1] < 90:
            raise ConfigError("camera polar angle must lie in [0, 90) degrees from vertical")


CAMERA_PRESETS: dict[str, CameraSamplerConfig] = {
    "dexnet2": CameraSamplerConfig(),
    "primesense": CameraSamplerConfig(width=640, height=480, focal_px=(525.0, 525.0), cx=319.5, cy=239.5),
    # Jacquard's view at half resolution: its 1024² images put 1 cm of jaw at ~13.3 px at the
    # 1.5 m table (f ≈ 2000 px), and their table depth spans 1.43–1.57 m top to bottom, a tilt
    # of ~10° from vertical. Here 512² with f = 1000 px covers the same field of view.
    "jacquard": CameraSamplerConfig(width=512, height=512, focal_px=(950.0, 1050.0), cx=255.5, cy=255.5,
                                    radius_m=(1.4, 1.6), polar_deg=(0.0, 12.0), target_jitter_m=0.02),
    # Photoneo PhoXi S as in gqcnn's examples (its phoxi.intr: 516×386, f 552.5 px, and the full
    # 1032×772 resolution at f 1105 px); the 0.75–0.85 m working distance is assumed, not published
    "phoxi": CameraSamplerConfig(width=516, height=386, focal_px=(552.5, 552.5), cx=255.5, cy=191.75,
                                 radius_m=(0.75, 0.85)),
    "phoxi-full": CameraSamplerConfig(width=1032, height=772, focal_px=(1105.0, 1105.0), cx=515.5, cy=385.5,
                                      radius_m=(0.75, 0.85)),
}


def camera_preset(name: str) -> CameraSamplerConfig:
    if name not in CAMERA_PRESETS:
        raise ConfigError(f"unknown camera preset {name!r}; choose from {', '.join(CAMERA_PRESETS)}")
    return CAMERA_PRESETS[name]


def sample_camera(rng: np.random.Generator, config: CameraSamplerConfig,
                  target_m=(0.0, 0.0, 0.0)) -> tuple[CameraIntrinsics, RigidTransform]:
    """Sample intrinsics and an OpenCV camera pose ``T_world_camera`` looking at the target."""
    f = rng.uniform(*config.focal_px)
    intr = CameraIntrinsics(f, f, config.cx, config.cy, config.width, config.height, "camera")
    r = rng.uniform(*config.radius_m)
    polar = np.deg2rad(rng.uniform(*config.polar_deg))
    az = np.deg2rad(rng.uniform(*config.azimuth_deg))
    roll = np.deg2rad(rng.uniform(*config.roll_deg))
    target = np.asarray(target_m, dtype=np.float64) + np.r_[rng.uniform(-1, 1, 2) * config.target_jitter_m, 0.0]
    eye = target + r * np.array([np.sin(polar) * np.cos(az), np.sin(polar) * np.sin(az), np.cos(polar)])
    T = RigidTransform.look_at(eye, target, up_hint=(np.cos(az), np.sin(az), 0.0), roll_rad=roll,
                               from_frame="camera", to_frame="world")
    return intr, T
