"""Pinhole camera intrinsics: projection, deprojection and the autolab ``.intr`` format.

Pixel coordinates are (u = column, v = row) with pixel centres at integers, as in OpenCV
and in Dex-Net's ``.intr`` files (a centred 640×480 camera has cx = 319.5, cy = 239.5).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import CameraError


MIN_FOV_DEG, MAX_FOV_DEG = 1.0, 170.0      # plausible fields of view (telephoto to fisheye)


@dataclass(frozen=True)
class CameraIntrinsics:
    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int
    frame: str = "camera"

    def __post_init__(self):
        for name in ("fx", "fy"):
            v = getattr(self, name)
            if not np.isfinite(v) or v <= 0:
                raise CameraError(f"focal length {name}={v} must be a positive number of pixels")
        if int(self.width) <= 0 or int(self.height) <= 0:
            raise CameraError(f"image size {self.width}×{self.height} must be positive")
        if not (np.isfinite(self.cx) and np.isfinite(self.cy)):
            raise CameraError("principal point must be finite")
        object.__setattr__(self, "width", int(self.width))
        object.__setattr__(self, "height", int(self.height))
        # plausible cameras only: a focal length off by orders of magnitude (metres or mm instead of
        # pixels, a typo) would make every metric window absurd, or a filter run for hours
        for name, f, side in (("fx", self.fx, self.width), ("fy", self.fy, self.height)):
            fov_deg = float(np.degrees(2 * np.arctan(side / (2 * f))))
            if not MIN_FOV_DEG <= fov_deg <= MAX_FOV_DEG:
                raise CameraError(f"focal length {name}={f:g} px gives a {fov_deg:.3g}° field of view over "
                                  f"{side} px; a camera has {MIN_FOV_DEG:g}–{MAX_FOV_DEG:g}° (e.g. fx≈{side:.0f} px "
                                  f"for 53°): give the focal length in pixels, for this image size")
        if not 0.5 <= self.fx / self.fy <= 2.0:
            raise CameraError(f"fx={self.fx:g} and fy={self.fy:g} px differ by more than 2×; a camera's pixels "
                              f"are nearly square: check the intrinsics")
        for name, c, side in (("cx", self.cx, self.width), ("cy", self.cy, self.height)):
            if not -side <= c <= 2 * side:
                raise CameraError(f"principal point {name}={c:g} px lies far outside the {self.width}×{self.height} "
                                  f"image (it is normally near the centre, {side / 2:g}): check the intrinsics and "
                                  f"that they belong to this image size")

    @property
    def K(self) -> np.ndarray:
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])

    @property
    def shape(self) -> tuple[int, int]:
        return (self.height, self.width)

    # --- projection -----------------------------------------------------------------------
    def project(self, points_cam_m: np.ndarray) -> np.ndarray:
        """Project camera-frame points (..., 3) to pixel coordinates (..., 2) as (u, v)."""
        p = np.asarray(points_cam_m, dtype=np.float64)
        z = p[..., 2]
        if np.any(z <= 0):
            raise CameraError("cannot project points at or behind the camera (z <= 0)")
        u = self.fx * p[..., 0] / z + self.cx
        v = self.fy * p[..., 1] / z + self.cy
        return np.stack([u, v], axis=-1)

    def deproject_pixels(self, uv_px: np.ndarray, depth_m: np.ndarray) -> np.ndarray:
        """Camera-frame points (..., 3) for pixels (..., 2) as (u, v) with planar depth z."""
        uv = np.asarray(uv_px, dtype=np.float64)
        z = np.asarray(depth_m, dtype=np.float64)
        x = (uv[..., 0] - self.cx) * z / self.fx
        y = (uv[..., 1] - self.cy) * z / self.fy
        return np.stack([x, y, z], axis=-1)

    def deproject(self, depth_m: np.ndarray) -> np.ndarray:
        """Point cloud (H, W, 3) in the camera frame from a planar depth image (H, W)."""
        depth = np.asarray(depth_m)
        if depth.shape != self.shape:
            raise CameraError(f"depth image shape {depth.shape} does not match intrinsics {self.shape}")
        v, u = np.indices(self.shape, dtype=np.float64)
        return self.deproject_pixels(np.stack([u, v], axis=-1), depth)

    def points_to_depth(self, points_cam_m: np.ndarray) -> np.ndarray:
        """Z-buffer a camera-frame point cloud (N, 3) into a planar depth image (0 = no point).

        Each point lands in the pixel whose centre is nearest its projection; the nearest
        point wins where several land in one pixel.
        """
        p = np.asarray(points_cam_m, dtype=np.float64).reshape(-1, 3)
        p = p[np.isfinite(p).all(axis=1) & (p[:, 2] > 0)]
        depth = np.zeros(self.shape, dtype=np.float64)
        if len(p) == 0:
            return depth
        uv = np.rint(self.project(p)).astype(np.int64)
        inside = (uv[:, 0] >= 0) & (uv[:, 0] < self.width) & (uv[:, 1] >= 0) & (uv[:, 1] < self.height)
        uv, z = uv[inside], p[inside, 2]
        order = np.argsort(-z)                      # far first, so near points overwrite
        depth[uv[order, 1], uv[order, 0]] = z[order]
        return depth

    def ray_directions(self) -> np.ndarray:
        """Unnormalised ray directions (H, W, 3) with z = 1, one per pixel centre."""
        v, u = np.indices(self.shape, dtype=np.float64)
        return np.stack([(u - self.cx) / self.fx, (v - self.cy) / self.fy, np.ones(self.shape)], axis=-1)

    # --- derived intrinsics ---------------------------------------------------------------
    def resized(self, scale: float) -> "CameraIntrinsics":
        """Intrinsics of the image resized by ``scale`` (pixel-centre convention kept)."""
        w, h = int(round(self.width * scale)), int(round(self.height * scale))
        sx, sy = w / self.width, h / self.height
        return CameraIntrinsics(self.fx * sx, self.fy * sy, (self.cx + 0.5) * sx - 0.5,
                                (self.cy + 0.5) * sy - 0.5, w, h, self.frame)

    def cropped(self, top: int, left: int, height: int, width: int) -> "CameraIntrinsics":
        return CameraIntrinsics(self.fx, self.fy, self.cx - left, self.cy - top, width, height, self.frame)

    # --- files ------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"fx": self.fx, "fy": self.fy, "cx": self.cx, "cy": self.cy,
                "width": self.width, "height": self.height, "frame": self.frame}

    @classmethod
    def from_dict(cls, d: dict) -> "CameraIntrinsics":
        return cls(float(d["fx"]), float(d["fy"]), float(d["cx"]), float(d["cy"]),
                   int(d["width"]), int(d["height"]), d.get("frame", "camera"))

    def to_intr_json(self) -> str:
        """The autolab_core / gqcnn ``.intr`` JSON text."""
        return json.dumps({"_cy": self.cy, "_cx": self.cx, "_fy": self.fy, "_height": self.height,
                           "_fx": self.fx, "_width": self.width, "_skew": 0.0, "_K": 0,
                           "_frame": self.frame})

    @classmethod
    def from_file(cls, path: str | Path) -> "CameraIntrinsics":
        """Read an autolab ``.intr`` file or grasplab's own JSON (``fx``, ``fy``, ...)."""
        path = Path(path)
        if not path.is_file():
            raise CameraError(f"{path}: intrinsics file not found")
        try:
            d = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise CameraError(f"{path}: not a JSON intrinsics file ({e})") from None
        if isinstance(d, dict) and "intrinsics" in d and isinstance(d["intrinsics"], dict):
            d = d["intrinsics"]
        if not isinstance(d, dict):
            raise CameraError(f"{path}: holds a JSON {type(d).__name__}, not an object of intrinsics; expected "
                              "_fx,_fy,_cx,_cy,_width,_height (autolab .intr) or fx,fy,cx,cy,width,height")
        try:
            if "_fx" in d:
                if float(d.get("_skew", 0.0)) != 0.0:
                    raise CameraError(f"skewed intrinsics (skew={d['_skew']}) are not supported")
                return cls(float(d["_fx"]), float(d["_fy"]), float(d["_cx"]), float(d["_cy"]),
                           int(d["_width"]), int(d["_height"]), d.get("_frame", "camera"))
            return cls.from_dict(d)
        except CameraError as e:
            raise CameraError(f"{path}: {e}") from None
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise CameraError(f"{path}: missing or invalid intrinsics field {e}; expected "
                              "_fx,_fy,_cx,_cy,_width,_height (autolab .intr) or fx,fy,cx,cy,width,height") from None


PRIMESENSE = CameraIntrinsics(525.0, 525.0, 319.5, 239.5, 640, 480, "primesense_overhead")
"""The Primesense Carmine intrinsics of Dex-Net 2.0's examples (DESIGN B4)."""
