"""Re-ranking a map model's grasps with a crop classifier (``models.CropQualityNet``).

The map model proposes: its highest quality peaks (closer together than the decoder keeps),
each at its own angle and turned by fixed offsets (a quality map is good "at some angle", and
where labelled grasps cross, its angle map averages them). The classifier scores a depth crop
aligned with each proposal; a proposal's score is the classifier's probability times the map's
quality there, and the proposals come back best first. Everything happens in the map model's
input pixels, so the detector and the evaluation share it.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import scipy.ndimage as ndi

from ..errors import ConfigError
from ..geometry import Grasp2D
from ..imaging.crops import rotated_crops
from .map_decoding import MapDecodingConfig, RankedGrasps, decode_grasp_maps


@dataclass(frozen=True)
class RerankConfig:
    peaks: int = 10                                   # quality peaks proposed
    min_distance_px: int = 5                          # between proposed peaks
    angle_offsets_deg: tuple[float, ...] = (0.0, 45.0, 90.0, 135.0)   # each peak's angle turned by these

    def __post_init__(self):
        if self.peaks < 1 or self.min_distance_px < 0:
            raise ConfigError(f"re-ranking needs at least one peak and a distance ≥ 0, got {self.peaks}, "
                              f"{self.min_distance_px}")
        if not self.angle_offsets_deg:
            raise ConfigError("re-ranking needs at least one angle offset (0: the map's own angle)")

    def to_metadata(self) -> dict:
        return {"peaks": self.peaks, "min_distance_px": self.min_distance_px,
                "angle_offsets_deg": list(self.angle_offsets_deg)}

    @classmethod
    def from_metadata(cls, d: dict) -> "RerankConfig":
        return cls(int(d["peaks"]), int(d["min_distance_px"]), tuple(float(a) for a in d["angle_offsets_deg"]))


def propose_grasps(maps: list[np.ndarray], config: RerankConfig, decoding: MapDecodingConfig) -> RankedGrasps:
    """The proposals: each decoded peak (with the decoder's smoothing and threshold) at its own
    angle and at every offset, its width and quality kept; peak by peak, offsets in order."""
    peaks = decode_grasp_maps(*maps, replace(decoding, max_grasps=config.peaks,
                                             min_distance_px=config.min_distance_px))
    grasps, qualities = [], []
    for g, q in zip(peaks.grasps, peaks.qualities):
        for off in config.angle_offsets_deg:
            grasps.append(Grasp2D(g.center_xy_px, g.angle_rad + np.deg2rad(off), g.width_px, g.jaw_px, g.depth_m))
            qualities.append(q)
    return RankedGrasps(grasps, np.asarray(qualities, dtype=np.float64))


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
        self.model = model.eval()
        meta = getattr(model, "metadata", {}) or {}
        self.config = config or (RerankConfig.from_metadata(meta["rerank"]) if "rerank" in meta else RerankConfig())
        self.map_preprocess = meta.get("map_preprocess")      # the map model's input it was trained on

    def check_map_preprocess(self, map_preprocess: dict, map_name: str) -> None:
        """Refuse a map model whose input differs from the one this classifier learned on
        (its crops would show another scale or depth reference)."""
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
        with self._torch.no_grad():
            return self._torch.sigmoid(self.model(x)).numpy().astype(np.float64)

    def rerank(self, image: np.ndarray, maps: list[np.ndarray], decoding: MapDecodingConfig) -> RankedGrasps:
        """Each peak at its best-scored angle, sorted by classifier probability × map quality
        (the new quality), at most ``decoding.max_grasps``; ``image`` is the map model's
        (normalised depth) input."""
        props = propose_grasps(maps, self.config, decoding)
        if not len(props):
            return props
        score = (self.scores(image, props.grasps) * props.qualities).reshape(-1, len(self.config.angle_offsets_deg))
        best = score.argmax(axis=1) + np.arange(len(score)) * score.shape[1]     # per peak: its best angle
        order = best[np.argsort(-score.max(axis=1), kind="stable")][:decoding.max_grasps]
        return RankedGrasps([props.grasps[i] for i in order], score.ravel()[order])


def load_reranker(name_or_path) -> CropReranker:
    """A re-ranker from a pretrained name (``grasplab models``) or a ``crop_quality`` model file."""
    from ..models import load_model
    from ..models.pretrained import resolve_model
    path = resolve_model(name_or_path)
    r = CropReranker(load_model(path, expect="crop_quality"))
    r.path = path
    return r
