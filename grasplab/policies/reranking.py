"""Re-ranking a map model's grasps with a crop classifier (``models.CropQualityNet``).

The proposals: the map model's highest quality peaks (closer together than the decoder keeps)
and, optionally, every n-th pixel of the object (a grid over the pixels standing above the
table), each at the map's angle there turned by fixed offsets (a quality map is good "at some
angle", and where labelled grasps cross, its angle map averages them) and with the map's width.
The grid reaches the grasps the quality map does not peak on (on the tuning set, most of the
misses no peak can fix lie on mallets' heads and L/T/U profiles). The classifier scores a depth
crop aligned with each proposal; a proposal's score is the classifier's probability p times
``(q + quality_floor) ** quality_power`` with q the map's smoothed quality there, each position
keeps its best angle, and the positions come back best first. Everything happens in the map
model's input pixels, so the detector and the evaluation share it.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import scipy.ndimage as ndi

from ..errors import ConfigError
from ..geometry import Grasp2D
from ..imaging.crops import rotated_crops
from .map_decoding import MapDecodingConfig, RankedGrasps, decode_grasp_maps, grasps_at, smoothed_at

MIN_WIDTH_PX = 1.0          # proposals narrower than a pixel of the map's input are dropped

# how files written before the grid existed re-rank: peaks only, by p × q
_LEGACY = {"grid_stride_px": 0, "grid_min_height_m": 0.01, "quality_floor": 0.0, "quality_power": 1.0}


@dataclass(frozen=True)
class RerankConfig:
    peaks: int = 10                                   # quality peaks proposed
    min_distance_px: int = 5                          # between proposed peaks
    angle_offsets_deg: tuple[float, ...] = (0.0, 45.0, 90.0, 135.0)   # each position's angle turned by these
    grid_stride_px: int = 6                           # also every n-th object pixel (0: peaks only)
    grid_min_height_m: float = 0.01                   # object pixels: this high above the fitted table
    quality_floor: float = 0.02                       # score = p × (q + floor) ** power
    quality_power: float = 0.5

    def __post_init__(self):
        if self.peaks < 1 or self.min_distance_px < 0:
            raise ConfigError(f"re-ranking needs at least one peak and a distance ≥ 0, got {self.peaks}, "
                              f"{self.min_distance_px}")
        if not self.angle_offsets_deg:
            raise ConfigError("re-ranking needs at least one angle offset (0: the map's own angle)")
        if self.grid_stride_px < 0 or not self.grid_min_height_m > 0:
            raise ConfigError(f"the object grid needs a stride ≥ 0 (0: off) and a height > 0 m, got "
                              f"{self.grid_stride_px} px, {self.grid_min_height_m} m")
        if self.quality_floor < 0 or self.quality_power < 0:
            raise ConfigError(f"the score p × (q + floor) ** power needs floor and power ≥ 0, got "
                              f"{self.quality_floor}, {self.quality_power}")

    def to_metadata(self) -> dict:
        return {"peaks": self.peaks, "min_distance_px": self.min_distance_px,
                "angle_offsets_deg": list(self.angle_offsets_deg), "grid_stride_px": self.grid_stride_px,
                "grid_min_height_m": self.grid_min_height_m, "quality_floor": self.quality_floor,
                "quality_power": self.quality_power}

    @classmethod
    def from_metadata(cls, d: dict) -> "RerankConfig":
        """Settings saved by ``to_metadata``; files from before the grid re-rank as they did."""
        d = {**_LEGACY, **d}
        return cls(int(d["peaks"]), int(d["min_distance_px"]), tuple(float(a) for a in d["angle_offsets_deg"]),
                   int(d["grid_stride_px"]), float(d["grid_min_height_m"]), float(d["quality_floor"]),
                   float(d["quality_power"]))

    def score(self, probability: np.ndarray, quality: np.ndarray) -> np.ndarray:
        """A proposal's score from the classifier's probability and the map's smoothed quality."""
        return probability * (np.maximum(quality, 0.0) + self.quality_floor) ** self.quality_power


def object_grid_px(image: np.ndarray, stride_px: int, min_height_m: float) -> np.ndarray:
    """(N, 2) (row, col) pixels on a ``stride_px`` grid where ``image`` (depth relative to the
    table, metres: negative above it) shows the object ``min_height_m`` or more above the table,
    one pixel in from its outline (stereo noise at the edges)."""
    obj = ndi.binary_erosion(np.asarray(image) < -min_height_m)
    r, c = np.nonzero(obj[::stride_px, ::stride_px])
    return np.stack([r * stride_px, c * stride_px], axis=1)


def _grid_grasps(maps: list[np.ndarray], points_rc: np.ndarray, decoding: MapDecodingConfig) -> RankedGrasps:
    """A grasp at each grid pixel with the decoder's smoothed quality, angle and width there."""
    if len(points_rc) == 0:
        return RankedGrasps([], np.zeros(0))
    q = smoothed_at(maps[0], points_rc, decoding.quality_sigma_px)
    return grasps_at(points_rc, maps[1], maps[2], maps[3], decoding, q)


def propose_grasps(maps: list[np.ndarray], config: RerankConfig, decoding: MapDecodingConfig,
                   image: np.ndarray | None = None, allowed: np.ndarray | None = None) -> RankedGrasps:
    """The proposals: each decoded peak (with the decoder's smoothing and threshold) and, with
    ``config.grid_stride_px`` and ``image`` (the map model's input: depth relative to the
    table), each object grid pixel; each at its own angle turned by every offset, its width and
    quality kept; position by position, offsets in order. Positions narrower than
    ``MIN_WIDTH_PX`` (off the object, the width map is ~0) are left out: a rectangle of no
    width matches nothing. ``allowed`` (bool map) keeps only positions on its pixels."""
    peaks = decode_grasp_maps(*maps, replace(decoding, max_grasps=config.peaks,
                                             min_distance_px=config.min_distance_px), allowed=allowed)
    positions, qualities = list(peaks.grasps), list(peaks.qualities)
    if config.grid_stride_px:
        if image is None:
            raise ConfigError("grid proposals need the map model's input image; pass image=")
        points = object_grid_px(image, config.grid_stride_px, config.grid_min_height_m)
        if allowed is not None:
            points = points[allowed[points[:, 0], points[:, 1]]]
        grid = _grid_grasps(maps, points, decoding)
        positions += grid.grasps
        qualities += list(grid.qualities)
    grasps, out_q = [], []
    for g, q in zip(positions, qualities):
        if g.width_px < MIN_WIDTH_PX:               # no opening (the map says nothing there): never a grasp
            continue
        for off in config.angle_offsets_deg:
            grasps.append(Grasp2D(g.center_xy_px, g.angle_rad + np.deg2rad(off), g.width_px, g.jaw_px, g.depth_m))
            out_q.append(q)
    return RankedGrasps(grasps, np.asarray(out_q, dtype=np.float64))


def grasp_crops_m(image: np.ndarray, grasps: list[Grasp2D], crop_px: int, out_px: int) -> np.ndarray:
    """(N, 1, out, out) float32 crops of a depth image aligned with each grasp, relative to the
    depth at the grasp centre (what ``CropQualityNet`` takes)."""
    if not grasps:
        return np.zeros((0, 1, out_px, out_px), np.float32)
    centres = np.array([g.center_xy_px for g in grasps], dtype=np.float64)
    angles = np.array([g.angle_rad for g in grasps], dtype=np.float64)
    crops = rotated_crops(image, centres, angles, crop_px, out_px)
    at_centre = ndi.map_coordinates(np.asarray(image, np.float64), [centres[:, 1], centres[:, 0]], order=1,
                                    mode="nearest")
    return (crops - at_centre[:, None, None].astype(np.float32))[:, None]


class CropReranker:
    """A loaded ``CropQualityNet`` with its proposal settings: ``rerank(image, maps, decoding)``."""

    def __init__(self, model, config: RerankConfig | None = None):
        import torch
        self._torch = torch
        self.path = None
        # channels-last convolutions: about half the time of the default layout on a CPU
        self.model = model.eval().to(memory_format=torch.channels_last)
        meta = getattr(model, "metadata", {}) or {}
        self.config = config or (RerankConfig.from_metadata(meta["rerank"]) if "rerank" in meta else RerankConfig())
        self.map_preprocess = meta.get("map_preprocess")      # the map model's input it was trained on

    def check_map_preprocess(self, map_preprocess: dict, map_name: str) -> None:
        """Refuse a map model whose input differs from the one this classifier learned on
        (its crops would show another scale or depth reference), and, for the object grid, one
        whose input is not depth relative to the table."""
        if self.config.grid_stride_px and map_preprocess.get("depth_reference") != "table":
            raise ConfigError(f"the re-ranker's object grid reads heights above the table, but {map_name} takes "
                              f"depth relative to the {map_preprocess.get('depth_reference')}; use a map model "
                              f"trained with --depth-reference table, or a re-ranker trained with --grid-stride 0")
        if self.map_preprocess is None:
            return
        keys = ("inputs", "output_px", "crop", "depth_reference", "object_fraction", "center_crop_fraction",
                "mask_margin")
        diff = [k for k in keys if self.map_preprocess.get(k) != map_preprocess.get(k)]
        if diff:
            raise ConfigError(f"the re-ranker was trained on the input of another map model ({', '.join(diff)} "
                              f"differ from {map_name}'s); train one for {map_name} with `grasplab train reranker "
                              f"--model {map_name}`")

    def describe(self) -> dict:
        """What to record beside results: the classifier's file and proposal settings."""
        return {"path": None if self.path is None else str(self.path), "config": self.config.to_metadata()}

    def scores(self, image: np.ndarray, grasps: list[Grasp2D]) -> np.ndarray:
        """The classifier's probability for each grasp."""
        c = self.model.config
        x = self._torch.from_numpy(grasp_crops_m(image, grasps, c["crop_px"], c["out_px"]))
        x = x.contiguous(memory_format=self._torch.channels_last)
        with self._torch.inference_mode():
            return self._torch.sigmoid(self.model(x)).numpy().astype(np.float64)

    def rerank(self, image: np.ndarray, maps: list[np.ndarray], decoding: MapDecodingConfig,
               allowed: np.ndarray | None = None) -> RankedGrasps:
        """Each proposed position at its best-scored angle, sorted by ``config.score`` (the new
        quality); at most ``decoding.max_grasps``, a position dropped when a better one lies
        ``decoding.min_distance_px`` or closer (Chebyshev, as the decoder's peaks); ``image`` is
        the map model's (normalised depth) input; ``allowed`` restricts the positions."""
        props = propose_grasps(maps, self.config, decoding, image, allowed)
        if not len(props):
            return props
        score = self.config.score(self.scores(image, props.grasps), props.qualities)
        score = score.reshape(-1, len(self.config.angle_offsets_deg))
        best = score.argmax(axis=1) + np.arange(len(score)) * score.shape[1]     # per position: its best angle
        kept: list[int] = []
        for i in best[np.argsort(-score.max(axis=1), kind="stable")]:
            # as the decoder's peaks: the returned grasps at least decoding.min_distance_px apart
            c = np.asarray(props.grasps[i].center_xy_px)
            if all(np.max(np.abs(c - props.grasps[k].center_xy_px)) > decoding.min_distance_px for k in kept):
                kept.append(i)
                if len(kept) == decoding.max_grasps:
                    break
        return RankedGrasps([props.grasps[i] for i in kept], score.ravel()[kept])


def load_reranker(name_or_path) -> CropReranker:
    """A re-ranker from a pretrained name (``grasplab models``) or a ``crop_quality`` model file."""
    from ..models import load_model
    from ..models.pretrained import resolve_model
    path = resolve_model(name_or_path)
    r = CropReranker(load_model(path, expect="crop_quality"))
    r.path = path
    return r
