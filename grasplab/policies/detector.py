"""A grasp detector for camera frames: depth (and RGB) in, ranked grasps in pixels and metres out.

Depth goes through grasplab's hygiene (units detected or given, holes inpainted, clear errors),
is cropped the way the model was trained (a centred square, or a square around the object
mask when one is given), run through the network, decoded into ranked grasps, and mapped back
to the full image. With camera intrinsics each grasp also gets its 3-D centre (camera frame),
width in metres and axis.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..datasets.grasp_map_dataset import PreprocessConfig, Window, choose_window, normalise_depth, normalise_rgb
from ..errors import GrasplabError
from ..geometry import CameraIntrinsics, Grasp2D
from ..imaging import prepare_depth_m
from ..models import load_map_model
from .map_augmentation import augmented_grasp_maps, check_views
from .map_decoding import MapDecodingConfig, decode_grasp_maps


@dataclass
class DetectedGrasp:
    grasp: Grasp2D                  # full-image pixels; depth_m = surface depth at the centre
    quality: float
    center_m: np.ndarray | None = None      # camera frame (with intrinsics)
    width_m: float | None = None
    axis: np.ndarray | None = None

    def to_dict(self) -> dict:
        g = self.grasp
        d = {"center_xy_px": [round(float(v), 2) for v in g.center_xy_px], "angle_rad": float(g.angle_rad),
             "width_px": float(g.width_px), "jaw_px": float(g.jaw_px), "depth_m": float(g.depth_m),
             "quality": float(self.quality)}
        if self.center_m is not None:
            d.update(center_m=self.center_m.round(5).tolist(), width_m=float(self.width_m),
                     axis=self.axis.round(5).tolist())
        return d


class GraspMapDetector:
    """Wraps a trained per-pixel model with its preprocessing and decoding. ``views`` > 1 averages
    the maps over mirrored and turned views of the input (test-time augmentation: one network
    pass per view)."""

    def __init__(self, model_path: str | Path, decoding: MapDecodingConfig = MapDecodingConfig(), views: int = 1,
                 reranker=None):
        import torch
        self._torch = torch
        self.views = check_views(views)
        self.path = Path(model_path)
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
            self._session = None
            self.model = load_map_model(self.path)
            self.net = self.model.for_inference()       # same maps, re-arranged for CPU speed
            self.architecture, self.metadata = self.model.architecture, self.model.metadata
        pre = self.metadata.get("preprocess", {})
        self.pre = PreprocessConfig.from_metadata(pre)
        self.px_per_m = float(pre["px_per_m"]) if pre.get("px_per_m") else None   # metric input scale
        self.decoding = decoding
        self.reranker = reranker            # a policies.CropReranker re-ordering the decoded grasps
        if reranker is not None:
            if self.pre.inputs not in ("depth", "rgbd"):
                raise GrasplabError(f"{self.path.name} takes {self.pre.inputs} input; a crop re-ranker needs depth")
            reranker.check_map_preprocess(pre, self.path.name)

    def preprocess(self, depth, rgb: np.ndarray | None = None, intrinsics: CameraIntrinsics | None = None,
                   mask: np.ndarray | None = None, units: str = "auto") -> tuple:
        """Depth hygiene, the crop window and the network input: ``(x, window, depth_m)``."""
        prep = prepare_depth_m(depth, units=units, inpaint="nearest")
        d = prep.depth_m.astype(np.float64)
        if self.pre.inputs in ("rgb", "rgbd") and rgb is None:
            raise GrasplabError(f"{self.path.name} takes {self.pre.inputs} input: pass an RGB image too")
        if rgb is not None and rgb.shape[:2] != d.shape:
            raise GrasplabError(f"RGB {rgb.shape[:2]} and depth {d.shape} images differ in size")
        if intrinsics is not None and intrinsics.shape != d.shape:
            raise GrasplabError(f"intrinsics are for {intrinsics.width}×{intrinsics.height} images, depth is "
                                f"{d.shape[1]}×{d.shape[0]}; pass the intrinsics of this camera")
        if mask is not None and mask.shape != d.shape:
            raise GrasplabError(f"mask {mask.shape} and depth {d.shape} images differ in size")
        win = self.window(d, intrinsics, mask)
        cfg = self.pre
        chans = []
        if cfg.inputs in ("depth", "rgbd"):
            # prepare_depth_m inpainted d, and resampling an image without holes makes none
            chans.append(normalise_depth(win.sample(d), cfg.depth_reference, holes_filled=True)[None])
        if cfg.inputs in ("rgb", "rgbd"):
            chans.append(np.moveaxis(normalise_rgb(win.sample(np.asarray(rgb, np.float64))), -1, 0))
        x = self._torch.from_numpy(np.concatenate(chans).astype(np.float32))[None].contiguous(
            memory_format=self._torch.channels_last)
        return x, win, d

    def window(self, depth_m: np.ndarray, intrinsics: CameraIntrinsics | None, mask: np.ndarray | None) -> Window:
        """The crop: at the model's metric scale when it has one and intrinsics are given
        (side = output × (f / depth) / model px-per-metre, around the mask or the image centre),
        else the model's own crop (a square around the mask when one is given)."""
        has_mask = mask is not None and bool(np.any(mask))
        if self.px_per_m and intrinsics is not None:
            sel = depth_m[mask > 0] if has_mask else depth_m
            src_px_per_m = intrinsics.fx / float(np.median(sel))
            side = self.pre.output_px * src_px_per_m / self.px_per_m
            if has_mask:
                rows, cols = np.nonzero(mask)
                cy, cx = (rows.min() + rows.max() + 1) / 2, (cols.min() + cols.max() + 1) / 2
            else:
                cy, cx = depth_m.shape[0] / 2, depth_m.shape[1] / 2
            return Window(cy - side / 2, cx - side / 2, side, self.pre.output_px)
        from dataclasses import replace
        cfg = self.pre
        if has_mask and cfg.crop != "object":
            cfg = replace(cfg, crop="mask")
        elif not has_mask and cfg.crop == "mask":
            cfg = replace(cfg, crop="center")
        return choose_window(depth_m.shape, cfg, mask if has_mask else None)

    def grasp_maps(self, x) -> list[np.ndarray]:
        """The network's quality, cos 2θ, sin 2θ and width maps for a preprocessed input
        (averaged over the detector's views)."""
        if self.views == 1:
            return self._run(x)
        return augmented_grasp_maps(lambda v: self._run(self._torch.from_numpy(v)), x.numpy(), self.views)

    def _run(self, x) -> list[np.ndarray]:
        if self._session is not None:
            return [m[0, 0] for m in self._session.run(None, {"image": x.contiguous().numpy()})]
        with self._torch.no_grad():
            return [m[0, 0].numpy() for m in self.net(x.contiguous(memory_format=self._torch.channels_last))]

    def detect(self, depth, rgb: np.ndarray | None = None, intrinsics: CameraIntrinsics | None = None,
               mask: np.ndarray | None = None, units: str = "auto", max_grasps: int | None = None,
               max_width_m: float | None = None) -> list[DetectedGrasp]:
        """Ranked grasps for one frame (best first); an empty list when none passes the threshold.
        ``max_width_m`` (with ``intrinsics``) drops grasps wider than the gripper opens."""
        if max_width_m is not None and intrinsics is None:
            raise GrasplabError("a maximum grasp width in metres needs the camera intrinsics; pass them too")
        x, win, d = self.preprocess(depth, rgb, intrinsics, mask, units)
        maps = self.grasp_maps(x)
        wanted = self.decoding.max_grasps if max_grasps is None else max_grasps
        # with a width limit, decode more peaks so that enough remain after the filter
        decode_n = wanted if max_width_m is None else 3 * wanted
        dec = self.decoding if decode_n == self.decoding.max_grasps else MapDecodingConfig(
            **{**self.decoding.__dict__, "max_grasps": decode_n})
        ranked = decode_grasp_maps(*maps, dec) if self.reranker is None else self.reranker.rerank(
            x[0, 0].numpy(), maps, dec)
        out = []
        for g, q in zip(ranked.grasps, ranked.qualities):
            # back to full-image pixels: inverse of the window mapping
            c = (np.array(g.center_xy_px) + 0.5) / win.scale - 0.5 + [win.left, win.top]
            col, row = np.clip(np.rint(c).astype(int), 0, [d.shape[1] - 1, d.shape[0] - 1])
            full = Grasp2D(tuple(c), g.angle_rad, g.width_px / win.scale, g.jaw_px / win.scale, float(d[row, col]))
            det = DetectedGrasp(full, float(q))
            if intrinsics is not None:
                g3 = full.to_3d(intrinsics)
                det.center_m, det.width_m, det.axis = g3.center_m, g3.width_m, g3.axis
                if max_width_m is not None and det.width_m > max_width_m:
                    continue
            out.append(det)
        return out[:wanted]


def load_detector(name_or_path: str | Path | None = None, views: int = 1,
                  rerank: str | Path | None = None) -> GraspMapDetector:
    """A detector from a pretrained model name (``grasplab models``), a model file (``.npz``, or
    ``.onnx`` from ``grasplab export onnx``, run by onnxruntime), or the default pretrained model;
    ``views``: test-time augmentation (1, 2, 4 or 8 network passes); ``rerank``: a crop
    re-ranker (pretrained name or file) that re-orders the grasps (``policies.reranking``)."""
    from ..models.pretrained import resolve_model
    from .reranking import load_reranker
    return GraspMapDetector(resolve_model(name_or_path), views=views,
                            reranker=None if rerank is None else load_reranker(rerank))
