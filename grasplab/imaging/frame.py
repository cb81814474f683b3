"""``Frame``: one camera observation as every policy takes it.

Depth in metres with no holes (the pixels that had none are remembered in ``holes``), and
optionally an RGB image, an object mask, the camera intrinsics and the camera's pose in the
world. ``Frame.from_images`` is the door for raw sensor data: it checks shapes, tells metres
from millimetres, inpaints holes and refuses what cannot be used, with a message that says
how to fix it. Training datasets, ``predict``, ``evaluate``, the demo and the grasp trials all
hand policies a ``Frame``.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..errors import CameraError, DepthImageError, DepthShapeError, GrasplabError
from ..geometry import CameraIntrinsics, RigidTransform
from .depth_checks import DepthUnits, check_frame_size, prepare_depth_m


@dataclass(frozen=True, eq=False)
class Frame:
    depth_m: np.ndarray                                 # H×W float64, metres, every pixel valid
    rgb: np.ndarray | None = None                       # H×W×3 uint8
    mask: np.ndarray | None = None                      # H×W bool: the object(s) to grasp
    intrinsics: CameraIntrinsics | None = None          # pinhole model of this camera (metric scale)
    T_world_camera: RigidTransform | None = None        # camera → world (3-D grasps in the world)
    holes: np.ndarray | None = None                     # H×W bool: pixels the sensor missed (inpainted)
    name: str = ""                                      # where it came from, for messages and reports

    def __post_init__(self):
        where = f"{self.name}: " if self.name else ""
        check_frame_size(self.name or "depth image", self.depth_m)
        d = np.asarray(self.depth_m, dtype=np.float64)
        if d.ndim != 2:
            raise DepthImageError(f"{where}depth must be an H×W array in metres, got shape {d.shape}")
        if not np.isfinite(d).all() or (d <= 0).any():
            raise DepthImageError(f"{where}depth has holes (NaN, zero or negative pixels); build the frame with "
                                  f"Frame.from_images(...), which checks the units and inpaints them")
        object.__setattr__(self, "depth_m", d)
        shape = d.shape
        if self.rgb is not None:
            rgb = np.asarray(self.rgb)
            if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.shape[:2] != shape:
                raise GrasplabError(f"{where}RGB image of shape {rgb.shape} does not match the {shape[1]}×{shape[0]} "
                                    f"depth image; pass an H×W×3 colour image of the same camera")
            object.__setattr__(self, "rgb", rgb)
        if self.mask is not None:
            try:
                m = np.asarray(self.mask)
            except ValueError:
                raise GrasplabError(f"{where}the mask is not an H×W array (ragged nested lists?); pass a numpy "
                                    f"array of booleans of the depth image's shape") from None
            if m.dtype.kind not in "biuf":
                raise GrasplabError(f"{where}the mask holds {m.dtype} values; pass booleans (or 0/1 numbers)")
            if m.dtype.kind == "f" and not np.isfinite(m).all():
                raise GrasplabError(f"{where}the mask holds NaN or infinite values; pass booleans (or 0/1 numbers)")
            if m.shape != shape:
                raise GrasplabError(f"{where}mask of shape {m.shape} does not match the depth image {shape}")
            m = m.astype(bool)
            if not m.any():
                raise GrasplabError(f"{where}the object mask is empty (no pixel set): nothing could be grasped on it; "
                                    f"pass a mask that covers the object, or no mask")
            object.__setattr__(self, "mask", m)
        if self.intrinsics is not None and not isinstance(self.intrinsics, CameraIntrinsics):
            raise CameraError(f"{where}intrinsics must be a CameraIntrinsics (e.g. CameraIntrinsics.from_file(path) "
                              f"or CameraIntrinsics(fx, fy, cx, cy, width, height)), got {type(self.intrinsics).__name__}")
        if self.intrinsics is not None and self.intrinsics.shape != shape:
            raise CameraError(f"{where}intrinsics are for {self.intrinsics.width}×{self.intrinsics.height} images, "
                              f"the depth image is {shape[1]}×{shape[0]}; pass the intrinsics of this camera")
        if self.T_world_camera is not None and self.intrinsics is not None \
                and self.T_world_camera.from_frame != self.intrinsics.frame:
            raise CameraError(f"{where}the camera pose maps frame {self.T_world_camera.from_frame!r}, the intrinsics "
                              f"are of frame {self.intrinsics.frame!r}")
        if self.holes is not None:
            h = np.asarray(self.holes, dtype=bool)
            if h.shape != shape:
                raise GrasplabError(f"{where}hole mask of shape {h.shape} does not match the depth image {shape}")
            object.__setattr__(self, "holes", h)

    @classmethod
    def from_images(cls, depth, rgb: np.ndarray | None = None, mask: np.ndarray | None = None,
                    intrinsics: CameraIntrinsics | None = None, T_world_camera: RigidTransform | None = None,
                    units: DepthUnits = "auto", max_hole_fraction: float = 0.5, name: str = "") -> "Frame":
        """A frame from raw images: depth in metres or millimetres (``units="auto"`` tells them
        apart), holes (NaN, 0, negative) inpainted from their nearest valid pixel."""
        check_frame_size(name or "depth image", depth)
        prep = prepare_depth_m(depth, units=units, inpaint="nearest", max_hole_fraction=max_hole_fraction,
                               name=name or "depth image")
        return cls(prep.depth_m, rgb, mask, intrinsics, T_world_camera, prep.holes, name)

    @property
    def shape(self) -> tuple[int, int]:
        return self.depth_m.shape

    def with_mask(self, mask: np.ndarray | None) -> "Frame":
        """The same frame with another object mask (``None``: none)."""
        return replace(self, mask=mask)


def read_frame(depth: str | Path, rgb: str | Path | None = None, mask: str | Path | None = None,
               intrinsics: str | Path | None = None, units: DepthUnits = "auto") -> Frame:
    """A frame from files: depth (TIFF, NPY, 16-bit PNG), colour PNG/JPEG, mask PNG and
    intrinsics (``.intr`` or grasplab JSON)."""
    from .image_io import read_depth_raw, read_mask, read_rgb
    raw = read_depth_raw(depth)
    shape = raw.shape[:2]
    rgb_image = read_rgb(rgb) if rgb else None
    if rgb_image is not None and rgb_image.shape[:2] != shape:
        raise DepthShapeError(f"{rgb}: a {rgb_image.shape[1]}×{rgb_image.shape[0]} colour image does not match the "
                              f"{shape[1]}×{shape[0]} depth image {Path(depth).name}; pass both of the same camera")
    mask_image = read_mask(mask) if mask else None
    if mask_image is not None:
        if mask_image.shape != shape:
            raise DepthShapeError(f"{mask}: a {mask_image.shape[1]}×{mask_image.shape[0]} mask does not match the "
                                  f"{shape[1]}×{shape[0]} depth image {Path(depth).name}; pass the mask of this frame")
        if not mask_image.any():
            raise DepthImageError(f"{mask}: the mask is empty (no pixel set), so no grasp could lie on it; pass a "
                                  f"mask that covers the object, or leave --mask out")
    cam = CameraIntrinsics.from_file(intrinsics) if intrinsics else None
    if cam is not None and cam.shape != shape:
        raise CameraError(f"{intrinsics}: intrinsics for {cam.width}×{cam.height} images, but {Path(depth).name} "
                          f"is {shape[1]}×{shape[0]}; pass the intrinsics of this image size")
    return Frame.from_images(raw, rgb=rgb_image, mask=mask_image, intrinsics=cam, units=units, name=Path(depth).name)
