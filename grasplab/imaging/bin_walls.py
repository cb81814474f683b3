"""Container walls in a depth frame: the thin, tall, long rims of a bin or tote around the objects.

Without an object mask every policy takes what stands above the fitted support plane for the
objects. In bin picking (Dex-Net 4.0's frames) the bin's walls stand above it too: a 1 cm wall
10 cm tall looks like the ideal thin object to an antipodal sampler or a GQ-CNN. Walls are found in
a top-down occupancy grid of the points seen well above the support (so that a wall's inner face,
which the camera sees in perspective, falls onto the wall's footprint), as the parts of it that
are thin (a square ``max_thickness_m`` wide does not fit), long, and outside the objects."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import NoGraspFoundError
from .table_plane import above_table, close_square, dilate_square, fit_table_plane, open_square

WALL_MIN_HEIGHT_M = 0.04      # a bin's wall stands at least this far above its floor
WALL_MAX_THICKNESS_M = 0.03   # walls and lips are thinner than this; graspable objects' tops mostly are not
WALL_MIN_LENGTH_M = 0.15      # a bin for picking is wider than this inside
CELL_M = 0.005                # the top-down grid's cell
MAX_LINES = 12                # lines tried: a bin's four walls, a divider or two, their lips' second strips
BAND_CELLS = 2.5              # a wall's cells: within a line's own ±2 cells, and noise
COS_3DEG, SIN_3DEG = np.cos(np.deg2rad(3)), np.sin(np.deg2rad(3))


def plane_frame(plane_depth_m: np.ndarray, intrinsics) -> tuple[np.ndarray, float, np.ndarray]:
    """The fitted support plane in the camera frame: unit normal ``n`` (towards the camera), offset
    ``d`` (height of X above the plane = n·X − d) and two in-plane unit axes (2, 3)."""
    h, w = plane_depth_m.shape
    pts = _points(plane_depth_m, intrinsics, np.array([0, 0, h - 1, h - 1]), np.array([0, w - 1, 0, w - 1]))
    n = np.cross(pts[1] - pts[0], pts[2] - pts[0])
    n /= np.linalg.norm(n)
    if n[2] > 0:                                   # towards the camera (the camera looks along +z)
        n = -n
    d = float(n @ pts.mean(0))
    e1 = np.cross(n, [0.0, 1.0, 0.0])
    if np.linalg.norm(e1) < 0.1:                   # a camera looking along the table: another axis
        e1 = np.cross(n, [1.0, 0.0, 0.0])
    e1 /= np.linalg.norm(e1)
    return n, d, np.stack([e1, np.cross(n, e1)])


def bin_walls(depth_m: np.ndarray, intrinsics, plane_depth_m: np.ndarray, above: np.ndarray, *,
              min_height_m: float = WALL_MIN_HEIGHT_M, max_thickness_m: float = WALL_MAX_THICKNESS_M,
              min_length_m: float = WALL_MIN_LENGTH_M, margin_m: float = 0.005) -> np.ndarray:
    """The pixels of ``above`` (what stands above the support) that belong to a container's walls,
    within ``margin_m`` of them on the table (all False where there is none)."""
    walls = np.zeros(depth_m.shape, bool)
    if not above.any():
        return walls
    # every k-th pixel each way still puts a point in every cell the objects cover (the closing
    # fills what is left): a Jacquard-like frame (1.5 mm pixels) is read from a quarter of them
    px_m = float(plane_depth_m[plane_depth_m.shape[0] // 2, plane_depth_m.shape[1] // 2]) / intrinsics.fx
    k = max(1, int(0.8 * CELL_M / px_m))
    ys, xs = np.nonzero(above[::k, ::k])
    grid = _TopDown.of(depth_m, intrinsics, plane_depth_m, ys * k, xs * k, min_height_m, max_thickness_m)
    found = _wall_cells(grid, _thin_cells(grid, depth_m.shape, max_thickness_m, k), min_length_m)
    if found is None:
        return walls
    grow = int(np.ceil(margin_m / CELL_M))
    found = dilate_square(found, 2 * grow + 1)
    ys, xs = np.nonzero(above)
    walls[ys, xs] = found[grid.cells_of(depth_m, ys, xs)]
    return walls


@dataclass
class _TopDown:
    """The points seen above the support on a grid of ``CELL_M`` cells in its plane: each pixel's
    cell, and the cells where anything is seen (``occupied``) or something ``min_height_m`` up (``tall``)."""
    ys: np.ndarray
    xs: np.ndarray
    cells: np.ndarray
    occupied: np.ndarray
    tall: np.ndarray
    intrinsics: object
    plane: tuple                                         # normal, offset, in-plane axes (plane_frame)
    origin: np.ndarray                                   # the grid's corner on the plane (m)

    @classmethod
    def of(cls, depth_m, intrinsics, plane_depth_m, ys, xs, min_height_m: float, pad_m: float) -> "_TopDown":
        n, d, axes = plane = plane_frame(plane_depth_m, intrinsics)
        pts = _points(depth_m, intrinsics, ys, xs)
        height = pts @ n - d
        ab = pts @ axes.T                                    # (N, 2) on the support plane
        origin = ab.min(0) - 2 * pad_m                       # room for the square's opening
        cells = np.floor((ab - origin) / CELL_M).astype(np.int64)
        shape = tuple(cells.max(0) + int(np.ceil(2 * pad_m / CELL_M)) + 1)
        occupied, tall = np.zeros(shape, bool), np.zeros(shape, bool)
        occupied[cells[:, 0], cells[:, 1]] = True
        up = height >= min_height_m
        tall[cells[up, 0], cells[up, 1]] = True
        return cls(ys, xs, cells, close_square(occupied, 3), close_square(tall, 3),     # the gaps between seen points
                   intrinsics, plane, origin)

    def cells_of(self, depth_m, ys, xs) -> tuple[np.ndarray, np.ndarray]:
        """The grid cells (rows, columns) of pixels (clipped into the grid)."""
        ab = _points(depth_m, self.intrinsics, ys, xs) @ self.plane[2].T
        ij = np.floor((ab - self.origin) / CELL_M).astype(np.int64)
        return (np.clip(ij[:, 0], 0, self.occupied.shape[0] - 1), np.clip(ij[:, 1], 0, self.occupied.shape[1] - 1))


def _points(depth_m, intrinsics, ys, xs) -> np.ndarray:
    """(N, 3) camera-frame points of pixels."""
    z = depth_m[ys, xs].astype(np.float64)
    return np.c_[(xs - intrinsics.cx) * z / intrinsics.fx, (ys - intrinsics.cy) * z / intrinsics.fy, z]


def _thin_cells(grid: _TopDown, image_shape: tuple[int, int], max_thickness_m: float, stride: int = 1) -> np.ndarray:
    """Tall cells where no square ``max_thickness_m`` wide fits in the footprint of everything seen
    there (a round object's crest is thin at the top, its footprint is not), and not cut thin by
    the image's edge (an object running out of view)."""
    side = int(np.ceil(max_thickness_m / CELL_M)) | 1
    thin = grid.tall & ~open_square(grid.occupied, side)
    h, w = image_shape
    e = 2 + stride                                  # pixels from the edge
    edge = (grid.xs < e) | (grid.ys < e) | (grid.xs >= w - e) | (grid.ys >= h - e)
    if edge.any():
        cut = np.zeros(thin.shape, bool)
        cut[grid.cells[edge, 0], grid.cells[edge, 1]] = True
        thin &= ~dilate_square(cut, 2 * side + 1)
    return thin


def _wall_cells(grid: _TopDown, thin: np.ndarray, min_length_m: float) -> np.ndarray | None:
    """The grid cells of the walls found among the ``thin`` cells (None where there is none)."""
    lines, ij = [], np.argwhere(thin)
    for _ in range(MAX_LINES):                          # the straightest runs of thin cells, one by one
        line = _strongest_line(ij)
        if line is None or (line.on_mask.sum() < min_length_m / CELL_M and
                            not any(ln.unbroken_m >= min_length_m for ln in lines)):
            break                                       # too few cells left for an unbroken wall, and none yet
        lines.append(line)
        ij = ij[~line.on_mask]
    # a wall: a line whose thin cells run min_length_m unbroken; and, where objects lean on a
    # wall, a line parallel or square to one, whose thin cells span min_length_m a third full
    square_to = [ln.normal for ln in lines if ln.unbroken_m >= min_length_m]
    walls = [ln for ln in lines if ln.span_m >= min_length_m and ln.fill >= 1 / 3 and
             any(abs(ln.normal @ m) > COS_3DEG or abs(ln.normal @ m) < SIN_3DEG for m in square_to)]
    if not walls:
        return None
    tall = np.argwhere(grid.tall)
    bands = [tall[ln.band(tall)] for ln in walls]
    others = grid.occupied.copy()
    for b in bands:
        others[b[:, 0], b[:, 1]] = False
    oij = np.argwhere(others)
    walls = [ln for ln in walls if _one_side(oij @ ln.normal - ln.offset, BAND_CELLS)]   # the objects inside
    if not walls:
        return None
    if len(walls) >= 2:                                 # a bin: the walls an object lies along, too
        walls += _outermost_walls(walls, tall)
    # each wall runs on to the others (the corners, where objects lean into both)
    ends = np.concatenate([tall[ln.band(tall)] for ln in walls])
    found = np.zeros(thin.shape, bool)
    for ln in walls:
        t = ends @ ln.direction
        b = tall[ln.band(tall, t.min(), t.max())]
        found[b[:, 0], b[:, 1]] = True
    return found


def _outermost_walls(walls: list, tall_ij: np.ndarray, min_cover: float = 0.8) -> list:
    """A bin's walls that are not thin anywhere (an object lies along all of them): the outermost
    lines parallel or square to the first wall found whose band is tall along 80 % of the bin's
    extent that way. Walls already found are not returned again."""
    out = []
    first = walls[0].normal
    for normal in (first, np.array([-first[1], first[0]])):
        direction = np.array([-normal[1], normal[0]])
        d, t = tall_ij @ normal, tall_ij @ direction
        extent = t.max() - t.min() + 1
        for offset in (d.min() + 1.5, d.max() - 1.5):
            if any(abs(w.normal @ normal) > COS_3DEG and abs(w.offset * np.sign(w.normal @ normal) - offset) < 3
                   for w in walls):
                continue
            on = np.abs(d - offset) <= BAND_CELLS
            if len(np.unique(np.rint(t[on]))) >= min_cover * extent:
                out.append(_Line(normal, float(offset), on, 0.0, extent * CELL_M, 1.0, float(t.min()), float(t.max())))
    return out


@dataclass
class _Line:
    """A line of thin cells on the grid: unit normal and offset (cells), the cells on it, how long
    they run without a break over 2 cm and with none over 20 cm, and how full that span is."""
    normal: np.ndarray
    offset: float
    on_mask: np.ndarray
    unbroken_m: float
    span_m: float
    fill: float
    start: float
    stop: float

    @property
    def direction(self) -> np.ndarray:
        return np.array([-self.normal[1], self.normal[0]])

    def band(self, cells: np.ndarray, start: float | None = None, stop: float | None = None) -> np.ndarray:
        """Which of ``cells`` lie on the line's band, along its span (or from ``start`` to ``stop``)."""
        t = cells @ self.direction
        lo = self.start - 4 if start is None else start - 1
        hi = self.stop + 4 if stop is None else stop + 1
        return (np.abs(cells @ self.normal - self.offset) <= BAND_CELLS) & (t >= lo) & (t <= hi)


def _strongest_line(ij: np.ndarray) -> _Line | None:
    """The line through most of the cells ``ij`` (a Hough vote at 1° and 1 cell); None where fewer
    than 10 cells are left."""
    if len(ij) < 10:
        return None
    theta = np.deg2rad(np.arange(180))
    normals = np.stack([np.cos(theta), np.sin(theta)], 1)
    rho = np.rint(ij @ normals.T).astype(np.int64)                  # (N, 180)
    lo, width = rho.min(), rho.max() - rho.min() + 1
    votes = np.bincount((rho - lo + width * np.arange(180)).ravel(), minlength=180 * width)
    k, r = divmod(int(np.argmax(votes)), width)
    normal, offset = normals[k], float(r + lo)
    on = np.abs(ij @ normal - offset) <= 2.0
    for _ in range(2 if on.sum() >= 3 else 0):   # refitted to its cells: the vote's 1° is 1.5 cells off over 30 cm
        centre = ij[on].mean(0)
        normal = np.linalg.svd(ij[on] - centre, full_matrices=False)[2][1]
        offset = float(centre @ normal)
        on = np.abs(ij @ normal - offset) <= 2.0
    t = np.unique(np.rint(ij[on] @ [-normal[1], normal[0]]))
    unbroken = max(_runs(t, 0.02), key=lambda run: run[-1] - run[0])
    run = max(_runs(t, 0.2), key=len)
    span = run[-1] - run[0] + 1
    return _Line(normal, offset, on, (unbroken[-1] - unbroken[0] + 1) * CELL_M, span * CELL_M, len(run) / span,
                 float(run[0]), float(run[-1]))


def _runs(t: np.ndarray, max_gap_m: float) -> list[np.ndarray]:
    """Sorted positions ``t`` (cells) split where they leave a gap over ``max_gap_m``."""
    return np.split(t, np.nonzero(np.diff(t) > max_gap_m / CELL_M)[0] + 1)


def _one_side(signed: np.ndarray, band: float) -> bool:
    """Whether the cells at these signed distances from a line lie (90 %) on one side of it."""
    out = signed[np.abs(signed) > band]
    return out.size == 0 or max((out > 0).mean(), (out < 0).mean()) >= 0.9


def objects_above_table(depth_m: np.ndarray, min_height_m: float, plane_m: np.ndarray | None = None,
                        intrinsics=None, exclude_walls: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """The pixels a policy plans on without an object mask: those ``min_height_m`` above the
    fitted table, less a container's walls where the intrinsics give the metric scale (and
    ``exclude_walls``); and those walls (None where not looked for). Raises ``NoGraspFoundError``
    where nothing else is left."""
    plane = fit_table_plane(depth_m) if plane_m is None else plane_m
    above = above_table(depth_m, min_height_m, plane)
    if not above.any():
        raise NoGraspFoundError(f"nothing stands {min_height_m * 100:g} cm above the table in this depth image; "
                                f"pass an object mask, or lower the height threshold")
    if not exclude_walls or intrinsics is None:
        return above, None
    walls = bin_walls(depth_m, intrinsics, plane, above)
    above &= ~walls
    if not above.any():
        raise NoGraspFoundError("only a container's walls stand above its floor in this depth image (an empty "
                                "bin?); pass an object mask, or set exclude_walls=false if those are the objects")
    return above, walls


def across_walls(grasps: list, walls: np.ndarray | None) -> np.ndarray:
    """Which grasps' closing line (jaw to jaw, at their opening) crosses a wall's pixels: fingers
    astride a wall close on the wall, whatever lies beside it."""
    out = np.zeros(len(grasps), bool)
    if walls is None or not walls.any():
        return out
    h, w = walls.shape
    t = np.linspace(0.0, 1.0, 17)[:, None]
    for k, g in enumerate(grasps):
        a, b = g.endpoints_xy_px
        pts = a + t * (b - a)
        u = np.clip(np.rint(pts[:, 0]).astype(int), 0, w - 1)
        v = np.clip(np.rint(pts[:, 1]).astype(int), 0, h - 1)
        out[k] = walls[v, u].any()
    return out
