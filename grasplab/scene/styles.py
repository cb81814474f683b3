"""Scene styles: how much a rendered table scene looks like a real bench photo.

``plain`` is grasplab's default (one uniformly coloured object on a uniform table, one light).
The other styles add, each drawn per view from the view's random state:

- a **textured table**: a procedural pattern (wood grain, tiles, printed stripes, blotches) fixed
  to the table plane in world metres, so it foreshortens with the camera like a real surface;
- **distractors**: up to four primitive objects (boxes, cylinders, ellipsoids) resting on the
  table, at least ``DISTRACTOR_CLEARANCE_M`` beyond the object's footprint so that no grasp of
  the object could touch them (its labels stay exact); they show in RGB and depth, not in the
  object mask;
- **lighting changes**: a light from up to 70° off vertical, dim to bright, warm to cool.

``cornell`` combines all three (Cornell-like bench scenes, and a start for sim-to-real work).
Styles change only appearance and far-away geometry, so the same object, pose and camera give
the same grasp labels in every style.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ..errors import ConfigError

MAX_DISTRACTORS = 4
# beyond the object's bounding circle: half of the widest supported opening (8.5 cm) plus a
# finger's width and a margin, so a jaw closing on the object never reaches a distractor
DISTRACTOR_CLEARANCE_M = 0.06
TEXTURES = ("grain", "tiles", "stripes", "blotches")


@dataclass(frozen=True)
class SceneStyle:
    textured_table: bool = False
    distractors: tuple[int, int] = (0, 0)      # how many, drawn uniformly from this range
    varied_lighting: bool = False


STYLES: dict[str, SceneStyle] = {
    "plain": SceneStyle(),
    "textured": SceneStyle(textured_table=True),
    "distractors": SceneStyle(distractors=(1, 3)),
    "lighting": SceneStyle(varied_lighting=True),
    "cornell": SceneStyle(textured_table=True, distractors=(0, 3), varied_lighting=True),
}


def scene_style(name: str) -> SceneStyle:
    if name not in STYLES:
        raise ConfigError(f"unknown scene style {name!r}; choose from {', '.join(STYLES)}")
    return STYLES[name]


@dataclass(frozen=True)
class Distractor:
    """A primitive resting on the table: MuJoCo geom ``kind`` (box, cylinder, ellipsoid) with its
    half-sizes (MuJoCo's ``size``), pose in the world and colour."""
    kind: str
    size_m: tuple[float, ...]
    position_m: tuple[float, float, float]
    quat_wxyz: tuple[float, float, float, float]
    rgb: tuple[float, float, float]


@dataclass(frozen=True)
class TableTexture:
    kind: str
    rgb_a: tuple[float, float, float]
    rgb_b: tuple[float, float, float]
    period_m: float
    angle_rad: float
    seed: int


@dataclass(frozen=True)
class Decor:
    """What a style added to one view (stored in the view's sidecar)."""
    distractors: tuple[Distractor, ...] = ()
    texture: TableTexture | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def _quat_z(yaw: float) -> np.ndarray:
    return np.array([np.cos(yaw / 2), 0.0, 0.0, np.sin(yaw / 2)])


def _quat_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    w1, x1, y1, z1 = a
    w2, x2, y2, z2 = b
    return np.array([w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2, w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
                     w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2, w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2])


def _distractor(rng: np.random.Generator, centre_xy: np.ndarray, clear_radius_m: float) -> Distractor:
    kind = str(rng.choice(["box", "cylinder", "ellipsoid"]))
    yaw = rng.uniform(0, 2 * np.pi)
    q = _quat_z(yaw)
    if kind == "box":
        size = rng.uniform(0.01, 0.04, 3)
        height = size[2]
    elif kind == "cylinder":
        r, half = rng.uniform(0.01, 0.03), rng.uniform(0.01, 0.05)
        size = np.array([r, half])
        if rng.random() < 0.5:                     # lying on its side
            q = _quat_mul(q, np.array([np.cos(np.pi / 4), np.sin(np.pi / 4), 0.0, 0.0]))
            height = r
        else:
            height = half
    else:
        size = rng.uniform(0.01, 0.035, 3)
        height = size[2]
    footprint = float(np.max(size))
    r = clear_radius_m + footprint + rng.uniform(0.0, 0.08)
    a = rng.uniform(0, 2 * np.pi)
    pos = (float(centre_xy[0] + r * np.cos(a)), float(centre_xy[1] + r * np.sin(a)), float(height))
    return Distractor(kind, tuple(float(s) for s in size), pos, tuple(float(v) for v in q),
                      tuple(float(c) for c in rng.uniform(0.1, 0.95, 3)))


def sample_decor(style: SceneStyle, rng: np.random.Generator, object_centre_xy: np.ndarray,
                 object_radius_m: float) -> tuple[Decor, dict]:
    """A view's decor and the appearance changes it brings (``Appearance`` field overrides)."""
    appearance: dict = {}
    if style.varied_lighting:
        polar = rng.uniform(0.0, np.deg2rad(70))
        az = rng.uniform(0, 2 * np.pi)
        appearance["light_dir"] = tuple(-np.array([np.sin(polar) * np.cos(az), np.sin(polar) * np.sin(az),
                                                   np.cos(polar)]))
        appearance["diffuse"] = float(rng.uniform(0.25, 1.0))
        appearance["ambient"] = float(rng.uniform(0.05, 0.4))
        warmth = rng.uniform(-1, 1)                # warm (tungsten) to cool (daylight / LED)
        appearance["light_rgb"] = (float(1 + 0.15 * warmth), 1.0, float(1 - 0.15 * warmth))
    texture = None
    if style.textured_table:
        base = rng.uniform(0.25, 0.9, 3)
        texture = TableTexture(str(rng.choice(TEXTURES)), tuple(float(v) for v in base),
                               tuple(float(v) for v in np.clip(base * rng.uniform(0.4, 1.3, 3), 0.05, 1.0)),
                               float(rng.uniform(0.01, 0.08)), float(rng.uniform(0, np.pi)),
                               int(rng.integers(2 ** 31)))
    lo, hi = style.distractors
    n = int(rng.integers(lo, hi + 1)) if hi > 0 else 0
    clear = object_radius_m + DISTRACTOR_CLEARANCE_M
    distractors = tuple(_distractor(rng, np.asarray(object_centre_xy), clear) for _ in range(min(n, MAX_DISTRACTORS)))
    return Decor(distractors, texture), appearance


def texture_rgb(texture: TableTexture, xy_m: np.ndarray) -> np.ndarray:
    """The table's colour (N, 3) in [0, 1] at world points ``xy_m`` (N, 2)."""
    c, s = np.cos(texture.angle_rad), np.sin(texture.angle_rad)
    u = (xy_m[:, 0] * c + xy_m[:, 1] * s) / texture.period_m
    v = (-xy_m[:, 0] * s + xy_m[:, 1] * c) / texture.period_m
    rng = np.random.default_rng(texture.seed)
    if texture.kind == "grain":               # rings bent by a slow wobble
        k = rng.uniform(0.5, 2.0, 3)
        t = 0.5 + 0.5 * np.sin(2 * np.pi * (u + 0.6 * np.sin(k[0] * v) + 0.3 * np.sin(k[1] * v + k[2] * u)))
        t = t ** 3
    elif texture.kind == "tiles":             # square tiles with dark grout lines
        fu, fv = u - np.floor(u), v - np.floor(v)
        t = ((np.floor(u) + np.floor(v)) % 2) * 0.6 + 0.2
        t = np.where((fu < 0.05) | (fv < 0.05), 1.0, t)
    elif texture.kind == "stripes":           # printed stripes of two widths
        t = (np.sin(2 * np.pi * u) > 0.3).astype(float) + 0.5 * (np.sin(2 * np.pi * 3.1 * v) > 0.8)
        t = np.clip(t, 0, 1)
    else:                                     # blotches: a few random low-frequency waves
        t = np.zeros(len(u))
        for _ in range(6):
            f = rng.normal(0, 1.0, 2)
            t += np.sin(2 * np.pi * (f[0] * u + f[1] * v) + rng.uniform(0, 2 * np.pi))
        t = 0.5 + 0.5 * np.tanh(t / 2)
    a, b = np.asarray(texture.rgb_a), np.asarray(texture.rgb_b)
    return (1 - t)[:, None] * a + t[:, None] * b


def apply_table_texture(rgb: np.ndarray, depth_m: np.ndarray, intrinsics, T_world_camera, table_rgb,
                        texture: TableTexture, table_tolerance_m: float = 0.0015) -> np.ndarray:
    """RGB with the table's pixels (those whose perfect depth lies on the plane z = 0) recoloured by
    ``texture``, keeping the rendered shading: a table pixel rendered as colour × shade becomes
    texture colour × shade."""
    h, w = depth_m.shape
    rays = intrinsics.ray_directions().reshape(-1, 3)
    pts_c = rays * depth_m.reshape(-1, 1)
    pts_w = T_world_camera.apply(pts_c)
    table = (depth_m.reshape(-1) > 0) & (np.abs(pts_w[:, 2]) < table_tolerance_m)
    out = rgb.reshape(-1, 3).astype(np.float32)
    if table.any():
        ratio = texture_rgb(texture, pts_w[table, :2]) / np.maximum(np.asarray(table_rgb, dtype=np.float64), 1e-3)
        out[table] = out[table] * ratio
    return np.clip(out, 0, 255).round().astype(np.uint8).reshape(h, w, 3)
