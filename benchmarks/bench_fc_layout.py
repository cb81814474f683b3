"""FC-GQ-CNN planning time with its dense convolutions in channels-last layout (as shipped) against
the crop network's own contiguous layers, in one process, interleaved frame by frame (these VMs
are noisy: compare the ratio). Also checks that both plan the same grasps. Prints a table.

    python benchmarks/bench_fc_layout.py --data runs/gq-heaps-test --no-masks [--frames 40 --repeats 3]

``--data``: grasplab scenes with intrinsics (a ``synth`` folder); the shipped GQ-CNN plans.
"""
from __future__ import annotations

import argparse
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--frames", type=int, default=40)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-masks", action="store_true", help="plan on what stands above the table")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    import torch
    from torch import nn

    from grasplab.bench.machine import limit_to_cores, machine_info
    from grasplab.datasets.scene_sources import load_scenes
    from grasplab.policies import load_policy
    limit_to_cores(args.threads)
    torch.set_num_threads(args.threads)
    scenes = [s for s in load_scenes(args.data, "jacquard", "stereo") if s.rectangles()][:args.frames]
    frames = [s.frame(rgb=False, mask=not args.no_masks) for s in scenes]
    # float32 both: this compares layouts only (bfloat16 is `grasplab bench policy --also SPEC`'s to compare)
    shipped, contiguous = load_policy("fc-gqcnn", dense_dtype="float32"), load_policy("fc-gqcnn", dense_dtype="float32")
    c = contiguous.dense.config
    layers = nn.Sequential(*list(contiguous.model.image_stream)[:-3]).eval()     # the crop network's own
    contiguous.dense._conv_features = lambda x: layers((x - c["im_mean"]) / c["im_std"])
    pols = {"contiguous": contiguous, "channels-last": shipped}
    times = {k: [] for k in pols}
    same = 0
    for p in pols.values():
        p.plan(frames[0], seed=0)                                  # warm-up
    for rep in range(args.repeats):
        for i, f in enumerate(frames):
            order = list(pols) if (i + rep) % 2 == 0 else list(pols)[::-1]
            plans = {}
            for name in order:
                t0 = time.perf_counter()
                plans[name] = pols[name].plan(f, seed=i)
                times[name].append(time.perf_counter() - t0)
            if rep == 0:
                a, b = ([(round(g.grasp.center_xy_px[0], 3), round(g.grasp.center_xy_px[1], 3),
                          round(g.grasp.angle_rad, 4), round(float(g.score), 4)) for g in plans[k]] for k in pols)
                same += a == b
    old, new = (np.array(times[k]) for k in pols)
    info = machine_info()
    print(f"{args.data}, {'no masks' if args.no_masks else 'masks'}, {len(frames)} frames × {args.repeats}, "
          f"{args.threads} threads, {info['machine']}, {info['date_utc']} UTC")
    print("| dense convolutions | median ms | p90 ms |")
    print("|---|---:|---:|")
    for name, t in (("contiguous", old), ("channels-last (shipped)", new)):
        print(f"| {name} | {1e3 * np.median(t):.1f} | {1e3 * np.percentile(t, 90):.1f} |")
    print(f"median per-frame ratio channels-last / contiguous: {np.median(new / old):.2f}; "
          f"same top-5 grasps (centre, angle, score) on {same} of {len(frames)} frames")


if __name__ == "__main__":
    main()
