"""Dex-Net 2.0's grasping policies around a trained GQ-CNN (DESIGN B5).

* ``rank``: sample antipodal grasps from the depth image (``antipodal_depth``), score each with
  the GQ-CNN on its grasp-aligned crop, return them best first.
* ``cem``: the cross-entropy method — score 250 antipodal seeds, then 3 times fit a Gaussian
  mixture (scikit-learn's, ⌈0.4 × elite⌉ components, covariance regularisation 0.01) to the best
  25 % in standardised [p1x, p1y, p2x, p2y, depth] features, draw 50 grasps from it and score
  them. Draws off the mask, too near the border or wider than the gripper are dropped. gqcnn
  returns the best grasp of the last round; grasplab ranks every grasp it scored, so the first
  is never worse than the best of any round.

Without a mask, grasps are kept on the pixels standing ≥ 1 cm above the fitted table plane
(``object_min_height_m``; 0 turns it off): on noisy depth, Dex-Net's edge threshold also fires
on the table, and a GQ-CNN never trained on empty table crops cannot reject those grasps.

Crops follow the model's training data (``crop_px`` → ``out_px``, recorded in its metadata),
so a policy needs the same camera scale as the data the GQ-CNN was trained on.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import ConfigError, GrasplabError
from ..geometry import CameraIntrinsics, Grasp2D
from ..imaging import prepare_depth_m
from ..imaging.crops import rotated_crops
from .antipodal_depth import AntipodalDepthConfig, NoGraspFoundError, sample_antipodal_grasps
from .detector import DetectedGrasp

METHODS = ("rank", "cem")


@dataclass(frozen=True)
class CEMConfig:
    """gqcnn's ``dex-net_2.0.yaml`` values."""

    seed_samples: int = 250
    iterations: int = 3
    gmm_samples: int = 50
    refit_fraction: float = 0.25
    component_fraction: float = 0.4
    reg_covar: float = 0.01

    def __post_init__(self):
        if min(self.seed_samples, self.gmm_samples) < 1 or self.iterations < 0:
            raise ConfigError("CEM needs at least one seed and one mixture sample per round")
        if not 0 < self.refit_fraction <= 1 or not 0 < self.component_fraction <= 1:
            raise ConfigError("CEM refit and component fractions must lie in (0, 1]")


@dataclass(frozen=True)
class GQCNNPolicyConfig:
    method: str = "cem"
    num_candidates: int = 100            # rank: antipodal grasps scored
    # without a mask, grasps are kept on the pixels this far above the fitted table plane (noise
    # edges on the table otherwise fill the sampler's budget); 0: no mask, Dex-Net's sampler as is
    object_min_height_m: float = 0.01
    sampler: AntipodalDepthConfig = field(default_factory=AntipodalDepthConfig)
    cem: CEMConfig = field(default_factory=CEMConfig)

    def __post_init__(self):
        if self.method not in METHODS:
            raise ConfigError(f"unknown policy method {self.method!r}; choose from {', '.join(METHODS)}")
        if self.num_candidates < 1:
            raise ConfigError("the ranking policy needs at least one candidate")


class GQCNNPolicy:
    """A trained GQ-CNN with Dex-Net 2.0's sampling (``rank``) or cross-entropy (``cem``) policy."""

    def __init__(self, model_path: str | Path, config: GQCNNPolicyConfig = GQCNNPolicyConfig(),
                 max_width_m: float | None = None):
        import torch

        from ..models import load_model
        self._torch = torch
        self.path = Path(model_path)
        self.model = load_model(self.path, expect="gqcnn").eval()
        self.config = config
        data = self.model.metadata.get("dataset", {})
        self.crop_px = int(data.get("crop_px", 96))
        self.out_px = int(self.model.config["im_px"])
        if max_width_m is None:
            from ..grasps import load_gripper
            max_width_m = load_gripper(data.get("gripper", "yumi")).max_width_m
        self.max_width_m = float(max_width_m)
        self.last_stats: dict = {}      # the last plan's time spent sampling and number of grasps scored

    def score(self, depth_m: np.ndarray, grasps: list[Grasp2D]) -> np.ndarray:
        """GQ-CNN success probabilities of grasps in a hole-free depth image (metres)."""
        if not grasps:
            return np.zeros(0)
        c = np.array([g.center_xy_px for g in grasps])
        crops = rotated_crops(depth_m, c, np.array([g.angle_rad for g in grasps]), self.crop_px, self.out_px)
        depth = np.array([g.depth_m for g in grasps], dtype=np.float32)
        t = self._torch
        return self.model.predict_proba(t.from_numpy(crops[:, None]), t.from_numpy(depth)).numpy().astype(np.float64)

    def plan(self, depth, intrinsics: CameraIntrinsics, mask: np.ndarray | None = None, seed: int = 0,
             units: str = "auto", max_grasps: int = 10) -> list[DetectedGrasp]:
        """Ranked grasps (best first) for one frame; each with its 3-D centre (camera frame), width
        in metres and axis. Raises ``NoGraspFoundError`` when no antipodal candidate exists."""
        if intrinsics is None:
            raise GrasplabError("a GQ-CNN policy needs the camera intrinsics (the gripper's opening in pixels "
                                "and the grasps in metres depend on them); pass --intrinsics FILE.intr")
        d = prepare_depth_m(depth, units=units).depth_m.astype(np.float64)
        if d.shape != (intrinsics.height, intrinsics.width):
            raise GrasplabError(f"the depth image is {d.shape[1]}×{d.shape[0]} but the intrinsics are for "
                                f"{intrinsics.width}×{intrinsics.height}")
        if mask is None and self.config.object_min_height_m > 0:
            mask = objects_above_table(d, self.config.object_min_height_m)
        rng = np.random.default_rng(seed)
        self.last_stats = {"sampling_s": 0.0, "grasps_scored": 0}
        if self.config.method == "rank":
            grasps = self._sample(d, intrinsics, self.config.num_candidates, rng, mask)
            q = self._score(d, grasps)
        else:
            grasps, q = self._cem(d, intrinsics, mask, rng)
        out = []
        for k in np.argsort(-q, kind="stable")[:max_grasps]:
            g = grasps[k]
            g3 = g.to_3d(intrinsics)
            out.append(DetectedGrasp(g, float(q[k]), g3.center_m, g3.width_m, g3.axis))
        return out

    def _cem(self, d: np.ndarray, intr: CameraIntrinsics, mask, rng) -> tuple[list[Grasp2D], np.ndarray]:
        from sklearn.mixture import GaussianMixture
        cem = self.config.cem
        grasps = self._sample(d, intr, cem.seed_samples, rng, mask)
        q = self._score(d, grasps)
        seen, seen_q = list(grasps), list(q)
        for _ in range(cem.iterations):
            n_elite = max(1, math.ceil(cem.refit_fraction * len(grasps)))
            elite = [grasps[k] for k in np.argsort(-q, kind="stable")[:n_elite]]
            x = _features(elite)
            mu, sd = x.mean(0), x.std(0)
            sd[sd < 1e-6] = 1.0
            k = max(1, min(math.ceil(cem.component_fraction * n_elite), n_elite))
            gmm = GaussianMixture(k, reg_covar=cem.reg_covar, random_state=int(rng.integers(2 ** 31)))
            gmm.fit((x - mu) / sd)
            draws = gmm.sample(cem.gmm_samples)[0] * sd + mu
            grasps = [g for g in (_from_features(f, elite[0].jaw_px) for f in draws)
                      if self._usable(g, d, intr, mask)]
            if not grasps:
                break
            q = self._score(d, grasps)
            seen += grasps
            seen_q += list(q)
        if not seen:
            raise NoGraspFoundError("the cross-entropy method found no usable grasp")
        return seen, np.array(seen_q)

    def _sample(self, d, intr, n: int, rng, mask) -> list[Grasp2D]:
        t = time.perf_counter()
        try:
            return sample_antipodal_grasps(d, intr, self.max_width_m, n, rng, self.config.sampler, mask)
        finally:
            self.last_stats["sampling_s"] += time.perf_counter() - t

    def _score(self, d, grasps: list[Grasp2D]) -> np.ndarray:
        self.last_stats["grasps_scored"] += len(grasps)
        return self.score(d, grasps)

    def _usable(self, g: Grasp2D, d: np.ndarray, intr: CameraIntrinsics, mask) -> bool:
        h, w = d.shape
        m = self.config.sampler.min_dist_from_boundary_px
        x, y = g.center_xy_px
        if not (m <= x <= w - 1 - m and m <= y <= h - 1 - m) or not g.depth_m > 0:
            return False
        if g.width_px * g.depth_m / intr.fx > self.max_width_m:
            return False
        return mask is None or bool(mask[int(round(y)), int(round(x))])


def objects_above_table(depth_m: np.ndarray, min_height_m: float) -> np.ndarray:
    """Pixels at least ``min_height_m`` above the fitted table plane, specks removed; raises
    ``NoGraspFoundError`` when nothing stands on the table."""
    from scipy import ndimage

    from ..datasets.grasp_map_dataset import fit_table_plane
    mask = ndimage.binary_opening(depth_m < fit_table_plane(depth_m) - min_height_m, np.ones((3, 3), bool), iterations=2)
    if not mask.any():
        raise NoGraspFoundError(f"nothing stands {min_height_m * 100:g} cm above the table in this depth image; "
                                f"pass an object mask, or lower the height threshold")
    return mask


def _features(grasps: list[Grasp2D]) -> np.ndarray:
    """[p1x, p1y, p2x, p2y, depth] per grasp (p1 the endpoint on the left: angles lie in [−π/2, π/2))."""
    return np.array([[*g.endpoints_xy_px.ravel(), g.depth_m] for g in grasps])


def _from_features(f: np.ndarray, jaw_px: float) -> Grasp2D:
    p, q = f[:2], f[2:4]
    v = q - p
    return Grasp2D(tuple((p + q) / 2), float(np.arctan2(-v[1], v[0])), float(np.hypot(*v)), jaw_px, float(f[4]))


def load_gqcnn_policy(model: str | Path, method: str = "cem", max_width_m: float | None = None) -> GQCNNPolicy:
    """A GQ-CNN policy from a model file (``grasplab train gqcnn``) or a pretrained name."""
    from ..models.pretrained import resolve_model
    return GQCNNPolicy(resolve_model(model), GQCNNPolicyConfig(method=method), max_width_m)
