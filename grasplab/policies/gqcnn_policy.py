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

Crops follow the model's training data (``crop_px`` → ``out_px``, recorded in its metadata).
Any camera: a model that records its ``training_camera`` (``imaging.camera_match``) gets each
crop stretched so its metric side lies in the training range (``crop_px`` × depth / fx), and the
frame's depths shifted so its table lies at a training distance; frames like the training data
are read unchanged. Older models without that record crop ``crop_px`` raw pixels. The gripper's
opening bounds the contacts' separation at their own depth (Dex-Net's sampler); the 3-D width
reported is taken at the planned gripper depth. Scores are the GQ-CNN's probability of success.
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from ..geometry import CameraIntrinsics, Grasp2D
from ..imaging import Frame, across_walls, objects_above_table
from ..imaging.camera_match import TrainingCamera, frame_table_depth_m
from ..imaging.table_plane import fit_table_plane
from ..imaging.crops import rotated_crops
from ..presets import published
from .antipodal_depth import AntipodalDepthConfig, sample_antipodal_grasps
from .base import Candidates, GraspPolicy, gripper_width_m
from .registry import register_policy

METHODS = ("rank", "cem")
CONV_DTYPES = ("auto", "float32", "bfloat16")


_DEXNET2_CEM = published("policy", "cem")      # the published values (grasplab/presets/dexnet2.json)

@dataclass(frozen=True)
class CEMConfig:
    """gqcnn's ``dex-net_2.0.yaml`` values."""

    seed_samples: int = _DEXNET2_CEM["seed_samples"]
    iterations: int = _DEXNET2_CEM["iterations"]
    gmm_samples: int = _DEXNET2_CEM["gmm_samples"]
    refit_fraction: float = _DEXNET2_CEM["refit_fraction"]
    component_fraction: float = _DEXNET2_CEM["component_fraction"]
    reg_covar: float = _DEXNET2_CEM["reg_covar"]

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
    # the GQ-CNN's convolutions' number type: "auto" is bfloat16 on CPUs that multiply it natively
    # (AVX-512 BF16, AMX; ~1.8× faster convolutions there), else float32; the dense layers stay
    # float32. float32 by default here: sampling dominates rank's time (bfloat16 saved ~6 %, same
    # top-1), and the cross-entropy method's refits amplify bfloat16's small score differences
    # (held-out heaps with masks 95.0 → 90.0 %, BENCHMARKS.md); the FC-GQ-CNN uses "auto"
    conv_dtype: str = "float32"
    # without a mask and with intrinsics, a bin's walls are not taken for objects (grasplab.imaging.bin_walls)
    exclude_walls: bool = True

    def __post_init__(self):
        check_conv_dtype(self.conv_dtype)
        if self.method not in METHODS:
            raise ConfigError(f"unknown policy method {self.method!r}; choose from {', '.join(METHODS)}")
        if self.num_candidates < 1:
            raise ConfigError("the ranking policy needs at least one candidate")
        if self.object_min_height_m < 0:
            raise ConfigError(f"the object height threshold must be ≥ 0 m (0: off), got {self.object_min_height_m}")


def check_conv_dtype(name: str) -> None:
    """A ``ConfigError`` unless ``name`` is one of ``CONV_DTYPES``."""
    if name not in CONV_DTYPES:
        raise ConfigError(f"the convolutions' number type must be one of {', '.join(CONV_DTYPES)}, got {name!r}")


class GQCNNPolicy(GraspPolicy):
    """A trained GQ-CNN with Dex-Net 2.0's sampling (``rank``) or cross-entropy (``cem``) policy."""

    requires_intrinsics = True
    plans_depth = True                 # the sampler's gripper depth below the surface
    score_meaning = "the GQ-CNN's probability that the grasp succeeds (robust quality above its training threshold)"

    def __init__(self, model_path: str | Path, config: GQCNNPolicyConfig = GQCNNPolicyConfig(),
                 max_width_m: float | None = None, gripper: str | None = None):
        import torch

        from ..models import load_model
        from ..models.fc_gqcnn import DenseGQCNN, fast_conv_dtype
        self._torch = torch
        self.path = Path(model_path)
        self.model = load_model(self.path, expect="gqcnn").eval()
        self.config = config
        # the network's layers in channels-last layout (and bfloat16 where fast), for crops and dense passes alike
        self.dense = DenseGQCNN(self.model, fast_conv_dtype() if config.conv_dtype == "auto"
                                else getattr(torch, config.conv_dtype))
        self.name = f"gqcnn-{config.method}"
        data = self.model.metadata.get("dataset", {})
        self.crop_px = int(data.get("crop_px", 96))
        self.out_px = int(self.model.config["im_px"])
        self._gripper = gripper
        width = gripper_width_m(gripper, max_width_m)
        if width is None:
            from ..grasps import load_gripper
            width = load_gripper(data.get("gripper", "yumi")).max_width_m
        # the sampler bounds the contacts' separation; the gate's bound (at the gripper depth) is off
        self.gripper_max_width_m = float(width)
        self.training_camera = TrainingCamera.from_dict(data.get("training_camera"))
        self.last_stats: dict = {}      # the last plan's time spent sampling and number of grasps scored

    def camera_fit(self, depth_m: np.ndarray, intrinsics: CameraIntrinsics | None,
                   table_depth_m: float | None = None) -> tuple[float | None, float]:
        """(focal length for metric crops or None, depth offset in m) that bring this frame to the
        training camera (``imaging.camera_match``); (None, 0) for models without that record.
        ``table_depth_m``: the frame's table depth at the principal point, if already known."""
        if self.training_camera is None or intrinsics is None:
            return None, 0.0
        table = frame_table_depth_m(depth_m, intrinsics) if table_depth_m is None else table_depth_m
        return intrinsics.fx, self.training_camera.depth_offset_m(table)

    def score(self, depth_m: np.ndarray, grasps: list[Grasp2D], fx_px: float | None = None,
              depth_offset_m: float = 0.0) -> np.ndarray:
        """GQ-CNN success probabilities of grasps in a hole-free depth image (metres); ``fx_px``
        and ``depth_offset_m`` (``camera_fit``) adapt the crops to another camera."""
        if not grasps:
            return np.zeros(0)
        c = np.array([g.center_xy_px for g in grasps])
        depth = np.array([g.depth_m for g in grasps], dtype=np.float32)
        scale = 1.0 if fx_px is None else self.training_camera.crop_scale(self.crop_px, fx_px, depth)
        crops = rotated_crops(depth_m, c, np.array([g.angle_rad for g in grasps]), self.crop_px, self.out_px,
                              crop_scale=scale)
        if depth_offset_m:
            crops += np.float32(depth_offset_m)
            depth = depth + np.float32(depth_offset_m)
        t = self._torch
        with t.no_grad():
            return self._crop_proba(t.from_numpy(crops[:, None]), t.from_numpy(depth)).numpy().astype(np.float64)

    def _crop_proba(self, crops_m, depth_m):
        """(B,) success probabilities of (B, 1, S, S) crops at their gripper depths (tensors), through
        the channels-last layers (``conv_dtype``): within ~0.002 of the float32 crop network."""
        return self.dense.crop_logits(crops_m, depth_m).sigmoid()

    def _candidates(self, frame: Frame, max_grasps: int, rng: np.random.Generator) -> Candidates:
        d, intr = frame.depth_m, frame.intrinsics
        mask, walls = frame.mask, None
        plane = None                                # the table, fitted once for the mask and the camera fit
        if mask is None and self.config.object_min_height_m > 0:
            plane = fit_table_plane(d)
            mask, walls = objects_above_table(d, self.config.object_min_height_m, plane, intr,
                                              self.config.exclude_walls)
        stats = {"sampling_s": 0.0, "grasps_scored": 0}
        table_m = None if plane is None or intr is None else frame_table_depth_m(d, intr, plane)
        self._fit = self.camera_fit(d, intr, table_m)
        if self.config.method == "rank":
            grasps = self._sample(d, intr, self.config.num_candidates, rng, mask, stats)
            q = self._score(d, grasps, stats)
        else:
            grasps, q = self._cem(d, intr, mask, rng, stats)
        astride = across_walls(grasps, walls)
        if astride.any():
            grasps, q = [g for g, a in zip(grasps, astride) if not a], np.asarray(q)[~astride]
        return Candidates(grasps, q, reason="every grasp closes across a bin's wall" if astride.any() and not grasps
                          else "", stats=stats)

    def _cem(self, d: np.ndarray, intr: CameraIntrinsics, mask, rng, stats) -> tuple[list[Grasp2D], np.ndarray]:
        from sklearn.mixture import GaussianMixture
        cem = self.config.cem
        grasps = self._sample(d, intr, cem.seed_samples, rng, mask, stats)
        q = self._score(d, grasps, stats)
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
            q = self._score(d, grasps, stats)
            seen += grasps
            seen_q += list(q)
        return seen, np.array(seen_q)

    def _sample(self, d, intr, n: int, rng, mask, stats) -> list[Grasp2D]:
        t = time.perf_counter()
        try:
            return sample_antipodal_grasps(d, intr, self.gripper_max_width_m, n, rng, self.config.sampler, mask)
        finally:
            stats["sampling_s"] += time.perf_counter() - t

    def _score(self, d, grasps: list[Grasp2D], stats) -> np.ndarray:
        stats["grasps_scored"] += len(grasps)
        return self.score(d, grasps, *self._fit)

    def _usable(self, g: Grasp2D, d: np.ndarray, intr: CameraIntrinsics, mask) -> bool:
        h, w = d.shape
        m = self.config.sampler.min_dist_from_boundary_px
        x, y = g.center_xy_px
        if not (m <= x <= w - 1 - m and m <= y <= h - 1 - m) or not g.depth_m > 0:
            return False
        if g.width_px * g.depth_m / intr.fx > self.gripper_max_width_m:
            return False
        return mask is None or bool(mask[int(round(y)), int(round(x))])

    def spec(self) -> dict:
        c = self.config
        return {"policy": self.name, "options": {
            "model": str(self.path), **({"gripper": self._gripper} if self._gripper
                                        else {"max_width_m": self.gripper_max_width_m}),
            "num_candidates": c.num_candidates, "object_min_height_m": c.object_min_height_m,
            "sampler": asdict(c.sampler), "cem": asdict(c.cem), "conv_dtype": c.conv_dtype,
            "exclude_walls": c.exclude_walls}}


def _features(grasps: list[Grasp2D]) -> np.ndarray:
    """[p1x, p1y, p2x, p2y, depth] per grasp (p1 the endpoint on the left: angles lie in [−π/2, π/2))."""
    return np.array([[*g.endpoints_xy_px.ravel(), g.depth_m] for g in grasps])


def _from_features(f: np.ndarray, jaw_px: float) -> Grasp2D:
    return Grasp2D.from_endpoints(f[:2], f[2:4], jaw_px, float(f[4]))


def _gqcnn_policy(method: str, model: str | Path | None = None, gripper: str | None = None,
                  max_width_m: float | None = None, num_candidates: int = GQCNNPolicyConfig.num_candidates,
                  object_min_height_m: float = GQCNNPolicyConfig.object_min_height_m, sampler: dict | None = None,
                  cem: dict | None = None, conv_dtype: str = GQCNNPolicyConfig.conv_dtype,
                  exclude_walls: bool = GQCNNPolicyConfig.exclude_walls) -> GQCNNPolicy:
    """A registered GQ-CNN policy from its options (``sampler``/``cem``: ``AntipodalDepthConfig`` /
    ``CEMConfig`` values as dicts)."""
    from ..models.pretrained import DEFAULT_GQCNN, resolve_model
    model = DEFAULT_GQCNN if model is None else model
    cfg = GQCNNPolicyConfig(method, num_candidates, object_min_height_m, AntipodalDepthConfig(**(sampler or {})),
                            CEMConfig(**(cem or {})), conv_dtype, bool(exclude_walls))
    return GQCNNPolicy(resolve_model(model), cfg, max_width_m, gripper)


register_policy("gqcnn-rank", "Dex-Net 2.0: antipodal grasps sampled from the depth image, ranked by a GQ-CNN",
                "a GQ-CNN (default: the shipped one; `grasplab train gqcnn`); needs intrinsics")(partial(_gqcnn_policy, "rank"))
register_policy("gqcnn-cem", "Dex-Net 2.0: the cross-entropy method over antipodal grasps with a GQ-CNN",
                "a GQ-CNN (default: the shipped one; `grasplab train gqcnn`); needs intrinsics")(partial(_gqcnn_policy, "cem"))
