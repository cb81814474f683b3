"""Reading and writing depth, RGB and mask images (atomic writes, clear errors)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..errors import DepthImageError, GrasplabError
from ..storage import atomic_write
from .depth_checks import MAX_FRAME_PIXELS, DepthUnits, as_depth_array, check_frame_size, depth_to_metres


def _npy_header(path: Path) -> tuple[tuple, np.dtype]:
    """The shape and dtype a ``.npy`` file declares, read without loading its data."""
    try:
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, _, dtype = read(f)
    except Exception as e:          # numpy raises ValueError, SyntaxError, TokenError... for a broken header
        detail = f"{type(e).__name__}: {e}".splitlines()[0][:120] if str(e) else type(e).__name__
        raise DepthImageError(f"{path}: not a readable .npy array ({detail}); is the file empty, corrupt or "
                              f"truncated? Save depth with numpy.save") from None
    return shape, dtype


def _read_tiff(path: Path) -> np.ndarray:
    try:
        import tifffile
        with tifffile.TiffFile(path) as tif:
            check_frame_size(path, tif.pages[0].shape)
            return np.asarray(tif.asarray())
    except GrasplabError:
        raise
    except Exception:  # e.g. LZW without imagecodecs: Pillow decodes it
        with Image.open(path) as im:
            check_frame_size(path, im.size[::-1])
            return np.asarray(im)


def read_depth_raw(path: str | Path) -> np.ndarray:
    """Load a depth array from TIFF, NPY or 16-bit PNG without changing units."""
    path = Path(path)
    if not path.is_file():
        raise DepthImageError(f"{path}: depth file not found")
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            shape, dtype = _npy_header(path)
            check_frame_size(path, shape)
            if dtype.hasobject:
                raise DepthImageError(f"{path}: holds Python objects (pickled), not a depth array; save a numeric "
                                      f"array with numpy.save")
            arr = np.load(path, allow_pickle=False)
        elif suffix in (".tif", ".tiff"):
            arr = _read_tiff(path)
        elif suffix == ".png":
            with Image.open(path) as im:
                check_frame_size(path, im.size[::-1])
                if im.mode not in ("I;16", "I;16B", "I;16L", "I"):
                    raise DepthImageError(f"{path}: PNG mode {im.mode} holds no depth; depth PNGs must be "
                                          "16-bit single-channel (millimetres)")
                arr = np.asarray(im)
        else:
            raise DepthImageError(f"{path}: unsupported depth format {suffix!r}; use .tiff, .npy or 16-bit .png")
    except GrasplabError:
        raise
    except (OSError, ValueError, EOFError, UnidentifiedImageError, Image.DecompressionBombError) as e:
        raise DepthImageError(f"{path}: cannot read depth image ({type(e).__name__}: {e}); is the file corrupt or "
                              f"truncated?") from None
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
            h, w = im.size[::-1]
            if h * w > MAX_FRAME_PIXELS:
                raise GrasplabError(f"{path}: a {h}×{w} {what} image is larger than the {MAX_FRAME_PIXELS / 1e6:.1f} "
                                    f"million pixels grasplab reads; downscale it with its depth image")
            im.load()
            return im
    except (OSError, ValueError, EOFError, UnidentifiedImageError, Image.DecompressionBombError) as e:
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
