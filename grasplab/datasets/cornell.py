"""Cornell Grasping Dataset: rectangle files and point-cloud → depth conversion.

``pcdXXXXcpos.txt`` / ``cneg.txt``: 4 lines per rectangle, each ``x y`` in image pixels; a
rectangle with a NaN corner is skipped. ``pcdXXXX.txt`` (PCD, ASCII) data lines hold
``x y z rgb index`` with x, y, z in millimetres; the pixel is (row, col) = divmod(index, 640)
and its depth is the Euclidean range √(x² + y² + z²) / 1000 in metres (as GG-CNN does), with
missing pixels inpainted.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import GrasplabError
from ..geometry import GraspRectangle
from ..imaging import inpaint_depth

CORNELL_SHAPE = (480, 640)


def read_cornell_rectangles(path: str | Path) -> list[GraspRectangle]:
    """Rectangles from a Cornell-format file; malformed content names the file and line."""
    path = Path(path)
    if not path.is_file():
        raise GrasplabError(f"{path}: rectangle file not found")
    points, lines = [], []
    for lineno, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split()
        try:
            if len(parts) != 2:
                raise ValueError(f"expected 2 numbers 'x y', got {len(parts)} fields")
            points.append((float(parts[0]), float(parts[1])))
        except ValueError as e:
            raise GrasplabError(f"{path}:{lineno}: malformed corner line {line.strip()!r} ({e})") from None
        lines.append(lineno)
    if len(points) % 4:
        raise GrasplabError(f"{path}: {len(points)} corner lines is not a multiple of 4 (4 per rectangle); "
                            f"the last complete rectangle ends at line {lines[len(points) // 4 * 4 - 1] if len(points) >= 4 else 0}")
    rects = []
    for k in range(0, len(points), 4):
        corners = np.array(points[k:k + 4])
        if np.isnan(corners).any():
            continue                       # Cornell marks unusable rectangles with NaN
        rects.append(GraspRectangle(corners))
    return rects


def cornell_pcd_to_depth(path: str | Path, shape: tuple[int, int] = CORNELL_SHAPE, inpaint: bool = True) -> np.ndarray:
    """Depth image in metres (range / 1000) from a Cornell ASCII point cloud."""
    path = Path(path)
    if not path.is_file():
        raise GrasplabError(f"{path}: point cloud not found")
    depth = np.zeros(shape, dtype=np.float64)
    h, w = shape
    in_data = False
    with path.open() as f:
        for lineno, line in enumerate(f, start=1):
            if not in_data:
                if line.startswith("DATA"):
                    if "ascii" not in line:
                        raise GrasplabError(f"{path}:{lineno}: only ASCII point clouds are supported ({line.strip()})")
                    in_data = True
                continue
            parts = line.split()
            if not parts:
                continue
            try:
                if len(parts) != 5:
                    raise ValueError(f"expected 5 fields 'x y z rgb index', got {len(parts)}")
                x, y, z = float(parts[0]), float(parts[1]), float(parts[2])
                index = int(float(parts[4]))
                row, col = divmod(index, w)
                if not (0 <= row < h):
                    raise ValueError(f"pixel index {index} outside a {w}×{h} image")
            except ValueError as e:
                raise GrasplabError(f"{path}:{lineno}: malformed point line {line.strip()!r} ({e})") from None
            depth[row, col] = np.sqrt(x * x + y * y + z * z) / 1000.0
    if not in_data:
        raise GrasplabError(f"{path}: no 'DATA ascii' header line; is this a PCD file?")
    if inpaint:
        depth = inpaint_depth(depth)
    return depth.astype(np.float32)


@dataclass(frozen=True)
class CornellScene:
    """A Cornell image: ``pcdXXXXr.png``, ``pcdXXXXd.tiff`` (or the point cloud), ``pcdXXXXcpos.txt``."""

    stem: Path           # <folder>/pcdXXXX
    object_id: str | None = None     # from the dataset's z.txt, where the folder has it

    def depth_m(self) -> np.ndarray:
        from ..imaging import read_depth_m
        tiff = Path(f"{self.stem}d.tiff")
        if tiff.is_file():
            return read_depth_m(tiff, units="m")
        return cornell_pcd_to_depth(Path(f"{self.stem}.txt"))

    def rgb(self) -> np.ndarray:
        from ..imaging import read_rgb
        return read_rgb(f"{self.stem}r.png")

    def mask(self) -> np.ndarray:
        raise GrasplabError(f"{self.stem}: Cornell has no object masks; use crop 'center' or 'resize'")

    def rectangles(self) -> list[GraspRectangle]:
        return read_cornell_rectangles(f"{self.stem}cpos.txt")

    def frame(self, rgb: bool = True, mask: bool = True):
        """The image as a camera frame (no mask or intrinsics: Cornell has neither)."""
        from ..imaging import Frame
        return Frame.from_images(self.depth_m(), rgb=self.rgb() if rgb else None, units="m", name=self.stem.name)


def read_cornell_object_ids(path: str | Path) -> dict[int, str]:
    """Cornell's image → object mapping (``z.txt``): one line per image, ``<image number>
    <object id> [description ...]``, whitespace-separated; image 100 is ``pcd0100``."""
    ids: dict[int, str] = {}
    for n, line in enumerate(Path(path).read_text().splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) < 2 or not fields[0].isdigit() or not fields[1].lstrip("-").isdigit():
            raise GrasplabError(f"{path}, line {n}: expected '<image number> <object id> [description]', "
                                f"got {line.strip()!r}")
        ids[int(fields[0])] = fields[1]
    return ids


def list_cornell_scenes(root: str | Path) -> list[CornellScene]:
    """Every ``pcdXXXXcpos.txt`` with an image beside it, in any sub-folder of ``root``; with
    object ids when the folder holds Cornell's ``z.txt`` (anywhere below ``root``)."""
    root = Path(root)
    if not root.is_dir():
        raise GrasplabError(f"{root}: Cornell folder not found")
    mapping = next(iter(sorted(root.rglob("z.txt"))), None)
    ids = read_cornell_object_ids(mapping) if mapping else {}
    scenes = []
    for pos in sorted(root.rglob("pcd*cpos.txt")):
        stem = Path(str(pos)[: -len("cpos.txt")])
        if not (Path(f"{stem}d.tiff").is_file() or Path(f"{stem}.txt").is_file()):
            raise GrasplabError(f"{pos}: no depth beside it (expected {stem.name}d.tiff or {stem.name}.txt)")
        number = int(stem.name[3:]) if stem.name[3:].isdigit() else -1
        if ids and number not in ids:
            raise GrasplabError(f"{mapping}: no line for image {number} ({stem.name}); the mapping must cover every image")
        scenes.append(CornellScene(stem, ids.get(number)))
    if not scenes:
        raise GrasplabError(f"{root}: no Cornell rectangle files (pcdXXXXcpos.txt) found")
    return scenes
