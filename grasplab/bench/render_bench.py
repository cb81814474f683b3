"""Render benchmark: milliseconds per depth and per RGB frame for each renderer.

Both renderers render the same scenes (one object per procedural family, resting in its
likeliest pose, seen by a Primesense-like 640×480 camera) in one run, so the ratio between
them is meaningful on a noisy machine. The first frame of each scene (model compilation,
acceleration structures) is excluded.
"""
from __future__ import annotations

import os
import time

import numpy as np

from ..errors import RenderError
from .machine import limit_to_cores, machine_info


def _scenes(width: int, height: int, seed: int):
    from ..objects import FAMILIES, make_procedural_object
    from ..scene import CameraSamplerConfig, compute_stable_poses, sample_scene
    cam = CameraSamplerConfig(width=width, height=height, focal_px=(525.0, 525.0),
                              cx=(width - 1) / 2, cy=(height - 1) / 2)
    rng = np.random.default_rng(seed)
    scenes = []
    for i, fam in enumerate(FAMILIES):
        obj = make_procedural_object(fam, seed + i)
        scenes.append(sample_scene(obj, compute_stable_poses(obj)[0], cam, rng))
    return scenes


def _time_frames(renderer, scenes, modalities, frames: int) -> np.ndarray:
    for s in scenes:                                  # warm-up: compile models, build BVHs
        renderer.render(s, modalities)
    times = np.empty(frames)
    for i in range(frames):
        s = scenes[i % len(scenes)]
        t0 = time.perf_counter()
        renderer.render(s, modalities)
        times[i] = time.perf_counter() - t0
    return times * 1000.0


def run_render_bench(frames: int = 200, width: int = 640, height: int = 480,
                     renderers: tuple[str, ...] = ("mujoco", "raycast"), cores: int | None = 1,
                     seed: int = 0) -> dict:
    cpus = limit_to_cores(cores)
    from ..scene import make_renderer
    scenes = _scenes(width, height, seed)
    rows = []
    for name in renderers:
        try:
            renderer = make_renderer(name)
        except RenderError as e:
            rows.append({"renderer": name, "error": str(e)})
            continue
        with renderer:
            for label, mods in (("depth", ("depth",)), ("rgb", ("rgb",)), ("depth+rgb+mask", ("depth", "rgb", "mask"))):
                n = frames if name == "mujoco" else max(frames // 5, 10)
                ms = _time_frames(renderer, scenes, mods, n)
                rows.append({"renderer": name, "output": label, "frames": n, "median_ms": float(np.median(ms)),
                             "p90_ms": float(np.percentile(ms, 90)), "fps": float(1000.0 / np.median(ms))})
    by = {(r["renderer"], r.get("output")): r for r in rows if "median_ms" in r}
    ratios = {}
    for out in ("depth", "rgb"):
        if ("mujoco", out) in by and ("raycast", out) in by:
            ratios[f"raycast/mujoco {out}"] = by[("raycast", out)]["median_ms"] / by[("mujoco", out)]["median_ms"]
    return {
        "benchmark": "render",
        "image": f"{width}x{height}",
        "cpus": cpus,
        "mujoco_gl": os.environ.get("MUJOCO_GL", ""),
        "llvmpipe_threads": os.environ.get("LP_NUM_THREADS", "default"),
        **machine_info(),
        "results": rows,
        "ratios": ratios,
    }
