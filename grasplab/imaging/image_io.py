"""Reading and writing depth, RGB and mask images (atomic writes, clear errors)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..errors import DepthImageError, GrasplabError
from ..storage import atomic_write
from .depth_checks import DepthUnits, depth_to_metres, as_depth_array


def _read_tiff(path: Path) -> np.ndarray:
    try:
        import tifffile
        return np.asarray(tifffile.imread(path))
    except Exception:  # e.g. LZW without imagecodecs: Pillow decodes it
        with Image.open(path) as im:
            return np.asarray(im)


def read_depth_raw(path: str | Path) -> np.ndarray:
    """Load a depth array from TIFF, NPY or 16-bit PNG without changing units."""
    path = Path(path)
    if not path.is_file():
        raise DepthImageError(f"{path}: depth file not found")
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            arr = np.load(path, allow_pickle=False)
        elif suffix in (".tif", ".tiff"):
            arr = _read_tiff(path)
        elif suffix == ".png":
            with Image.open(path) as im:
                if im.mode not in ("I;16", "I;16B", "I;16L", "I"):
                    raise DepthImageError(f"{path}: PNG mode {im.mode} holds no depth; depth PNGs must be "
                                          "16-bit single-channel (millimetres)")
                arr = np.asarray(im)
        else:
            raise DepthImageError(f"{path}: unsupported depth format {suffix!r}; use .tiff, .npy or 16-bit .png")
    except GrasplabError:
        raise
    except (OSError, ValueError, UnidentifiedImageError) as e:
        raise DepthImageError(f"{path}: cannot read depth image ({e}); is the file corrupt or truncated?") from None
    return as_depth_array(arr, name=str(path))


def read_depth_m(path: str | Path, units: DepthUnits = "auto") -> np.ndarray:
    """Load a depth image in metres (float32); ``units='auto'`` tells m from mm."""
    raw = read_depth_raw(path)
    return depth_to_metres(raw, units, name=str(path)).astype(np.float32)


def write_depth_tiff(path: str | Path, depth_m: np.ndarray) -> Path:
    """Write float32 metres as a single-page TIFF, atomically."""
    import tifffile
    arr = np.ascontiguousarray(depth_m, dtype=np.float32)
    return atomic_write(path, lambda p: tifffile.imwrite(p, arr))


def write_png(path: str | Path, image: np.ndarray) -> Path:
    """Write an 8-bit RGB, grey or boolean mask image as PNG, atomically."""
    arr = np.asarray(image)
    if arr.dtype == bool:
        arr = arr.astype(np.uint8) * 255
    img = Image.fromarray(arr)
    return atomic_write(path, lambda p: img.save(p, format="PNG"))


def _read_image(path: str | Path, what: str) -> Image.Image:
    path = Path(path)
    if not path.is_file():
        raise GrasplabError(f"{path}: {what} image not found")
    try:
        with Image.open(path) as im:
            im.load()
            return im
    except (OSError, UnidentifiedImageError) as e:
        raise GrasplabError(f"{path}: cannot read {what} image ({e}); is the file corrupt?") from None


def read_rgb(path: str | Path) -> np.ndarray:
    """Load an 8-bit RGB image (H×W×3 uint8)."""
    return np.asarray(_read_image(path, "RGB").convert("RGB"))


def read_mask(path: str | Path) -> np.ndarray:
    """Load a segmentation mask as bool (any non-zero pixel is object)."""
    arr = np.asarray(_read_image(path, "mask"))
    if arr.ndim == 3:
        arr = arr[..., :3].max(axis=2)
    return arr > 0
