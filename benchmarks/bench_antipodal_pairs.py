"""Dex-Net 2.0's antipodal sampler: its pair test over all k²/2 edge pairs in cache-sized blocks
(the form before 2026-12-07, kept here as the reference) against blocks of edges sorted by x, each
tested only against the edges within the gripper's reach in x (``antipodal_depth._antipodal_pairs``),
interleaved frame by frame on the same edges; checks that both give the same pairs in the same
order. Prints a table.

    python benchmarks/bench_antipodal_pairs.py --data runs/gq-heaps-test [--frames 40 --repeats 3]
"""
from __future__ import annotations

import argparse
import time

import numpy as np


def all_pairs(pts, normals, depth_m, fx_px, max_width_m, friction_coef, rows_per_block=128):
    """Every pair i < j tested, ``rows_per_block`` rows of the upper triangle at a time."""
    h, w = depth_m.shape
    k = len(pts)
    cos_cone = np.cos(np.arctan(friction_coef))
    z = depth_m[pts[:, 1].astype(int).clip(0, h - 1), pts[:, 0].astype(int).clip(0, w - 1)]
    np_self = np.einsum("ik,ik->i", normals, pts)
    ii, jj = [], []
    for s in range(0, k - 1, rows_per_block):
        e = min(k - 1, s + rows_per_block)
        cols = slice(s + 1, k)
        dist_px = np.hypot(pts[None, cols, 0] - pts[s:e, None, 0], pts[None, cols, 1] - pts[s:e, None, 1])
        bound = cos_cone * dist_px
        ok = normals[s:e] @ pts[cols].T - np_self[s:e, None] <= -bound
        ok &= np_self[None, cols] - pts[s:e] @ normals[cols].T >= bound
        ok &= dist_px > 0
        ok &= dist_px * np.minimum(z[s:e, None], z[None, cols]) / fx_px <= max_width_m
        ok &= np.arange(s + 1, k)[None, :] > np.arange(s, e)[:, None]
        bi, bj = np.nonzero(ok)
        ii.append(bi + s)
        jj.append(bj + s + 1)
    return (np.concatenate(ii), np.concatenate(jj)) if ii else (np.zeros(0, int), np.zeros(0, int))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--frames", type=int, default=40)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--masks", action="store_true", help="only the edges near the object masks (as with a mask)")
    args = ap.parse_args()
    from scipy import ndimage

    from grasplab.bench.machine import limit_to_cores, machine_info
    from grasplab.datasets.scene_sources import load_scenes
    from grasplab.policies.antipodal_depth import AntipodalDepthConfig, _antipodal_pairs, edge_pixels
    from grasplab.threads import blas_single_threaded
    limit_to_cores(2)
    cfg = AntipodalDepthConfig()
    inputs = []
    for i, s in enumerate(s for s in load_scenes(args.data, "jacquard", "stereo") if s.rectangles()):
        if i == args.frames:
            break
        f = s.frame(rgb=False, mask=args.masks)
        pts, normals = edge_pixels(f.depth_m, cfg)
        if f.mask is not None:
            near = ndimage.binary_dilation(f.mask > 0, iterations=cfg.mask_dilation_px)
            on = near[pts[:, 1].astype(int), pts[:, 0].astype(int)]
            pts, normals = pts[on], normals[on]
        if len(pts) > cfg.max_edge_pixels:
            keep = np.random.default_rng(i).choice(len(pts), cfg.max_edge_pixels, replace=False)
            pts, normals = pts[keep], normals[keep]
        inputs.append((pts, normals, f.depth_m, f.intrinsics.fx, 0.085, cfg.friction_coef))
    fns = {"all pairs, blocks": all_pairs, "x-sorted windows": _antipodal_pairs}
    times = {k: [] for k in fns}
    same = 0
    with blas_single_threaded():                      # as in GraspPolicy.plan
        for rep in range(args.repeats):
            for i, x in enumerate(inputs):
                out = {}
                for name in (list(fns) if (i + rep) % 2 == 0 else list(fns)[::-1]):
                    t = time.perf_counter()
                    out[name] = fns[name](*x)
                    times[name].append(time.perf_counter() - t)
                if rep == 0:
                    a, b = out.values()
                    same += np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    info = machine_info()
    edges = np.median([len(x[0]) for x in inputs])
    print(f"{args.data}, {'masks' if args.masks else 'no masks'}, {len(inputs)} frames × {args.repeats}, "
          f"median {edges:.0f} edge pixels, {info['machine']}, {info['date_utc']} UTC")
    print("| pair test | median ms | p90 ms |")
    print("|---|---:|---:|")
    for name, t in times.items():
        print(f"| {name} | {1e3 * np.median(t):.1f} | {1e3 * np.percentile(t, 90):.1f} |")
    old, new = (np.array(t) for t in times.values())
    print(f"median per-frame ratio x-sorted windows / all pairs: {np.median(new / old):.2f}; "
          f"the same pairs in the same order on {same} of {len(inputs)} frames")


if __name__ == "__main__":
    main()
