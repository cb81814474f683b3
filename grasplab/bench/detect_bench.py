"""Detection benchmark: the whole path from a 300×300 depth frame to ranked grasps.

grasplab's grasp-map policy (``Frame.from_images``' depth hygiene, ``plan``: the crop, the
network in its inference form, peak-only map post-processing, the frame/mask gate) and the faithful GG-CNN reference pipeline (:mod:`.reference_ggcnn`) run on
the same frames, interleaved, in one process with the same thread count, so their ratio is
meaningful on a noisy machine. Each frame's grasps from both are compared; the run reports
whether they were identical (same peaks, angles and widths to 1e-4).
"""
from __future__ import annotations

import time

import numpy as np

from .machine import limit_to_cores, machine_info


def render_frames(n: int, side_px: int = 300, px_per_m: float | None = None, seed: int = 0) -> list[np.ndarray]:
    """Noisy depth frames (metres) of procedural objects, seen like the pretrained models' data
    and framed at the model's input scale (``px_per_m`` at the object), so the model's input is
    the frame itself."""
    from dataclasses import replace

    from ..objects import FAMILIES, make_procedural_object
    from ..scene import (
        DepthNoiseConfig,
        apply_depth_noise,
        camera_preset,
        compute_stable_poses,
        make_renderer,
        sample_scene,
    )
    base = camera_preset("jacquard")
    f = (px_per_m or 400.0) * float(np.mean(base.radius_m))
    cam = replace(base, width=side_px, height=side_px, focal_px=(0.97 * f, 1.03 * f),
                  cx=(side_px - 1) / 2, cy=(side_px - 1) / 2)
    rng = np.random.default_rng(seed)
    frames = []
    with make_renderer("auto") as renderer:
        for i in range(n):
            obj = make_procedural_object(list(FAMILIES)[i % len(FAMILIES)], seed + i)
            scene = sample_scene(obj, compute_stable_poses(obj)[0], cam, rng)
            frames.append(apply_depth_noise(renderer.render(scene, ("depth",)).depth_m, DepthNoiseConfig(), rng))
    return frames


def _same_grasps(a, b, tol: float = 1e-4) -> bool:
    if len(a) != len(b):
        return False
    for (ga, qa), (gb, qb) in zip(a, b):
        if tuple(ga.center_xy_px) != tuple(gb.center_xy_px):
            return False
        if abs(ga.angle_rad - gb.angle_rad) > tol or abs(ga.width_px - gb.width_px) > tol \
                or abs(qa - qb) > tol:
            return False
    return True


def _same_top_grasp(a, b, centre_px: float = 3.0, angle_deg: float = 10.0, width_fraction: float = 0.1) -> bool:
    """The first grasps agree within a few pixels, degrees and per cent of width (or both lists are empty)."""
    if not a or not b:
        return not a and not b
    from ..geometry import angle_difference_rad
    ga, gb = a[0][0], b[0][0]
    return (np.hypot(*np.subtract(ga.center_xy_px, gb.center_xy_px)) <= centre_px
            and np.rad2deg(angle_difference_rad(ga.angle_rad, gb.angle_rad)) <= angle_deg
            and abs(ga.width_px - gb.width_px) <= width_fraction * max(gb.width_px, 1e-9))


def run_detect_bench(model_path: str, frames: int = 200, distinct_frames: int = 20, threads: int = 2,
                     seed: int = 0, reference_model_path: str | None = None, rerank: str | None = None) -> dict:
    """Time grasplab's detector with ``model_path`` beside the GG-CNN reference pipeline running
    ``reference_model_path`` (default: the same model, so the grasps must be identical; a
    full GG-CNN when timing a cheaper student of it, so the top grasps are compared).
    ``rerank``: also time the default detector followed by this crop re-ranker."""
    cpus = limit_to_cores(threads)
    import torch
    torch.set_num_threads(threads)
    from dataclasses import replace

    from ..errors import NoGraspFoundError
    from ..imaging import Frame
    from ..policies.grasp_map_policy import GraspMapPolicy
    from ..policies.map_decoding import MapDecodingConfig, decode_grasp_maps
    from .reference_ggcnn import ReferenceGGCNNPipeline

    ggcnn_decoding = MapDecodingConfig(smooth_angle="angle")          # GG-CNN's angle blur, for identity
    det = GraspMapPolicy(model_path, decoding=ggcnn_decoding)
    det_default = GraspMapPolicy(model_path)
    det_rerank = None if rerank is None else GraspMapPolicy(model_path, rerank=rerank)
    for d in (det, det_default, det_rerank):   # frames come at the input scale: the crop is the whole frame
        if d is not None:
            d.pre = replace(d.pre, crop="resize")
    ref_model = det.model
    if reference_model_path is not None and str(reference_model_path) != str(model_path):
        from ..errors import ConfigError
        from ..imaging import PreprocessConfig
        from ..models import load_map_model
        ref_model = load_map_model(reference_model_path)

        def inputs(m):                  # the settings a model's input depends on (not its px_per_m)
            return PreprocessConfig.from_metadata(m.metadata.get("preprocess", {}))
        if inputs(ref_model) != inputs(det.model):
            raise ConfigError(f"{reference_model_path} and {model_path} preprocess depth differently; "
                              "compare models trained on the same inputs (a student and its teacher)")
    ref = ReferenceGGCNNPipeline(ref_model, max_grasps=ggcnn_decoding.max_grasps)
    images = render_frames(distinct_frames, det.pre.output_px, det.px_per_m, seed)

    def plan(policy, depth):
        """The whole path a user calls: raw depth → Frame (hygiene) → policy.plan."""
        try:
            return policy.plan(Frame.from_images(depth), max_grasps=ggcnn_decoding.max_grasps)
        except NoGraspFoundError:
            return []

    def fast(depth):
        x = det.prepare(Frame.from_images(depth)).x
        r = decode_grasp_maps(*det.grasp_maps(x), ggcnn_decoding)
        return list(zip(r.grasps, r.qualities))

    def reference(depth):
        return ref(torch.from_numpy(det.prepare(Frame.from_images(depth)).x[None]).contiguous())

    def fast_plan(depth):
        return plan(det, depth)

    def fast_default(depth):
        return plan(det_default, depth)

    def net_fast(x):
        with torch.no_grad():
            det.net(x)

    def net_ref(x):
        with torch.no_grad():
            ref.net(x)

    identical, same_top = [], []
    for f in images:                                   # warm-up and the identity check
        a, b = fast(f), reference(f)
        identical.append(_same_grasps(a, b))
        same_top.append(_same_top_grasp(a, b))
        fast_default(f)
    xs = [torch.from_numpy(det.prepare(Frame.from_images(f)).x[None]).contiguous(memory_format=torch.channels_last)
          for f in images]
    pipelines = {"grasplab": (fast_plan, images), "grasplab (default decoding)": (fast_default, images),
                 "reference GG-CNN": (reference, images),
                 "grasplab network only": (net_fast, xs), "reference network only": (net_ref, [x.contiguous() for x in xs])}
    if det_rerank is not None:
        pipelines["grasplab + re-ranker (default decoding)"] = (lambda depth: plan(det_rerank, depth), images)
    times = {k: np.empty(frames) for k in pipelines}
    for i in range(frames):                            # interleaved: each frame through every pipeline
        for name, (fn, inputs) in pipelines.items():
            t0 = time.perf_counter()
            fn(inputs[i % len(inputs)])
            times[name][i] = time.perf_counter() - t0
    rows = [{"pipeline": k, "frames": frames, "median_ms": float(np.median(v) * 1e3),
             "p90_ms": float(np.percentile(v, 90) * 1e3), "fps": float(1.0 / np.median(v))} for k, v in times.items()]
    med = {r["pipeline"]: r["median_ms"] for r in rows}
    return {
        "benchmark": "detect", "model": str(model_path), "architecture": det.model.architecture,
        "reference_model": str(reference_model_path or model_path),
        "network_gflop": {"grasplab": network_gflop(det.model, det.pre.output_px),
                          "reference": network_gflop(ref_model, det.pre.output_px)},
        "input": f"{det.pre.output_px}x{det.pre.output_px} depth", "threads": threads, "cpus": cpus,
        "torch": torch.__version__, **machine_info(), "results": rows,
        **({"rerank": str(rerank)} if rerank is not None else {}),
        "speedup_vs_reference": med["reference GG-CNN"] / med["grasplab"],
        "network_speedup": med["reference network only"] / med["grasplab network only"],
        "identical_grasps": f"{sum(identical)}/{len(identical)} frames",
        "all_identical": all(identical),
        "same_top_grasp": f"{sum(same_top)}/{len(same_top)} frames (centre ≤ 3 px, angle ≤ 10°, width ≤ 10 %)",
    }


def network_gflop(model, side_px: int) -> float:
    """Multiply-adds × 2 of the model's convolutions on one side_px² input (counted by hooks)."""
    import torch
    total = [0]

    def hook(m, inp, out):
        if isinstance(m, torch.nn.ConvTranspose2d):     # every input pixel meets the whole kernel
            total[0] += 2 * inp[0].numel() * m.out_channels * m.kernel_size[0] * m.kernel_size[1] // m.groups
        else:                                           # every output pixel meets one filter
            total[0] += 2 * out.numel() * m.weight[0].numel()
    hooks = [m.register_forward_hook(hook) for m in model.modules()
             if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))]
    try:
        with torch.no_grad():
            model.eval()(torch.zeros(1, model.config.get("input_channels", 1), side_px, side_px))
    finally:
        for h in hooks:
            h.remove()
    return total[0] / 1e9
