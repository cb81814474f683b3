"""Grasp-map policies: a per-pixel network (GG-CNN, GG-CNN2, GR-ConvNet, the latent VQ-VAE /
flow grasp networks) reads the frame through ``imaging.network_input``, its quality, angle and
width maps are decoded into ranked grasps (optionally re-ranked by a crop classifier), and the
window maps them back to the frame.

Only the pixels of the input that show the frame (a metric window may run past its edges) and,
with an object mask, lie on the mask may hold a grasp: the decoder looks for peaks there alone.
A model saved as ONNX (``grasplab export onnx``) runs through onnxruntime with the same path.
"""
from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from ..errors import ConfigError, GrasplabError
from ..imaging import Frame, NetworkInput, PreprocessConfig, network_input
from .base import Candidates, GraspPolicy, gripper_width_m
from .map_augmentation import augmented_grasp_maps, check_views
from .map_decoding import MapDecodingConfig, decode_grasp_maps, smoothed_quality
from .registry import register_policy


class GraspMapPolicy(GraspPolicy):
    """A trained per-pixel model with its preprocessing and decoding; ``views`` > 1 averages the
    maps over mirrored and turned views of the input (one network pass each); ``rerank``: a
    crop re-ranker (pretrained name or file) that re-orders the decoded grasps."""

    score_meaning = ("the map model's Gaussian-smoothed quality at the grasp centre (regressed toward 1 where a "
                     "labelled grasp is centred), clipped to [0, 1]")
    score_meaning_reranked = ("crop classifier probability × (map quality + floor) ** power "
                              "(RerankConfig.score), clipped to [0, 1]")

    def __init__(self, model: str | Path | None = None, rerank: str | Path | None = None, views: int = 1,
                 gripper: str | None = None, max_width_m: float | None = None,
                 decoding: MapDecodingConfig | dict | None = None):
        import torch

        from ..models.pretrained import resolve_model
        self._torch = torch
        self.views = check_views(views)
        self.path = resolve_model(model)
        self._model_arg = None if model is None else str(model)
        self._gripper = gripper
        self.max_width_m = gripper_width_m(gripper, max_width_m)
        self.decoding = MapDecodingConfig(**decoding) if isinstance(decoding, dict) else (decoding or MapDecodingConfig())
        if self.path.suffix == ".onnx":                 # exported with `grasplab export onnx`
            from ..models.onnx_export import read_onnx_header
            header = read_onnx_header(self.path)
            import onnxruntime as ort
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = torch.get_num_threads()
            self._session = ort.InferenceSession(str(self.path), opts, providers=["CPUExecutionProvider"])
            self.model, self.net, self.architecture = None, None, header["architecture"]
            self.metadata = header.get("metadata", {})
        else:
            from ..models import load_map_model
            self._session = None
            self.model = load_map_model(self.path)
            self.net = self.model.for_inference()       # same maps, re-arranged for CPU speed
            self.architecture, self.metadata = self.model.architecture, self.model.metadata
        pre = self.metadata.get("preprocess", {})
        self.pre = PreprocessConfig.from_metadata(pre)
        self.px_per_m = float(pre["px_per_m"]) if pre.get("px_per_m") else None   # metric input scale
        self.needs_rgb = self.pre.needs_rgb
        self.reranker = None
        if rerank is not None:
            from .reranking import load_reranker
            if self.pre.inputs not in ("depth", "rgbd"):
                raise GrasplabError(f"{self.path.name} takes {self.pre.inputs} input; a crop re-ranker needs depth")
            self.reranker = load_reranker(rerank)
            self.reranker.check_map_preprocess(pre, self.path.name)
        self.name = "map-rerank" if self.reranker is not None else "map"
        if self.reranker is not None:
            self.score_meaning = self.score_meaning_reranked

    # --- the steps, also used by figures and benchmarks -----------------------------------
    def prepare(self, frame: Frame) -> NetworkInput:
        """The network input of ``frame`` and its window (the one preprocessing path)."""
        return network_input(frame, self.pre, self.px_per_m)

    def grasp_maps(self, x) -> list[np.ndarray]:
        """The quality, cos 2θ, sin 2θ and width maps for an input (C, S, S) or (1, C, S, S)
        (averaged over the policy's views)."""
        x = np.asarray(x, dtype=np.float32)
        x = x[None] if x.ndim == 3 else x
        if self.views == 1:
            return self._run(x)
        return augmented_grasp_maps(self._run, x, self.views)

    def _run(self, x: np.ndarray) -> list[np.ndarray]:
        if self._session is not None:
            return [m[0, 0] for m in self._session.run(None, {"image": np.ascontiguousarray(x)})]
        t = self._torch.from_numpy(np.ascontiguousarray(x)).contiguous(memory_format=self._torch.channels_last)
        with self._torch.no_grad():
            return [m[0, 0].numpy() for m in self.net(t)]

    def _candidates(self, frame: Frame, max_grasps: int, rng: np.random.Generator) -> Candidates:
        inp = self.prepare(frame)
        maps = self.grasp_maps(inp.x)
        allowed = inp.window.output_inside(frame.shape, frame.mask)
        # more than asked, so that enough remain after the width limit (the first ones are the same)
        dec = replace(self.decoding, max_grasps=max(3 * max_grasps, 1))
        allowed_arg = None if allowed.all() else allowed
        ranked = (decode_grasp_maps(*maps, dec, allowed=allowed_arg) if self.reranker is None
                  else self.reranker.rerank(inp.x[0], maps, dec, allowed_arg))
        reason = ""
        if not len(ranked):
            # the decoder thresholds the smoothed map away from the border: report that map's best
            smooth = smoothed_quality(maps[0], dec.quality_sigma_px, -np.inf, dec.min_distance_px)
            q = np.where(allowed & np.isfinite(smooth), smooth, -np.inf)
            where = "on the mask" if frame.mask is not None else "in the frame"
            reason = (f"no pixel of the smoothed quality map {where} passes the decoding threshold {dec.threshold:g} "
                      f"(highest there: {q.max():.3g})" if allowed.any() else f"no input pixel lies {where}")
            if self.px_per_m and frame.intrinsics is None:
                reason += (f"; without intrinsics the frame is cropped as the model's dataset was, not at its metric "
                           f"scale ({self.px_per_m:.0f} px per metre of the network input): objects may look too "
                           f"large or small to it — pass the camera intrinsics (--intrinsics)")
        return Candidates([inp.window.grasp_to_frame(g, float("nan")) for g in ranked.grasps], ranked.qualities,
                          reason)

    def spec(self) -> dict:
        return {"policy": self.name, "options": {
            "model": str(self.path), "rerank": None if self.reranker is None else str(self.reranker.path),
            "views": self.views, **({"gripper": self._gripper} if self._gripper else {"max_width_m": self.max_width_m}),
            "decoding": asdict(self.decoding)}}


register_policy("map", "a per-pixel grasp-map model: peaks of its quality map (optionally re-ranked: rerank=)",
                "GG-CNN, GG-CNN2, GR-ConvNet and latent (VQ-VAE / flow) grasp networks; ONNX exports")(GraspMapPolicy)


@register_policy("map-rerank", "a grasp-map model's peaks and object grid re-ranked by a crop classifier",
                 "a grasp-map model with a crop re-ranker trained for it (default: the shipped pair)")
def _map_rerank(model: str | Path | None = None, rerank: str | Path | None = None, views: int = 1,
                gripper: str | None = None, max_width_m: float | None = None,
                decoding: MapDecodingConfig | dict | None = None) -> GraspMapPolicy:
    from ..models.pretrained import DEFAULT, DEFAULT_RERANKER
    if rerank is None and model not in (None, DEFAULT):
        raise ConfigError(f"map-rerank needs a re-ranker trained for {model}; pass rerank= (`grasplab train reranker`)")
    return GraspMapPolicy(model, rerank or DEFAULT_RERANKER, views, gripper, max_width_m, decoding)


def load_detector(name_or_path: str | Path | None = None, views: int = 1,
                  rerank: str | Path | None = None) -> GraspMapPolicy:
    """The grasp-map policy for a model (pretrained name, ``.npz`` or ``.onnx`` file; default: the
    default pretrained model); ``rerank``: a crop re-ranker for it. ``load_policy`` is the
    general form."""
    return GraspMapPolicy(name_or_path, rerank, views)
