"""The FC-GQ-CNN's parts behind its 2026-12-07 speed-up, each against what it replaced, interleaved
(these VMs are noisy: compare within a row). Prints a table.

    python benchmarks/bench_fc_parts.py --data runs/gq-heaps-test [--frames 10 --repeats 30]

Rows: the convolution stack over 16 views of 160² in float32 vs bfloat16 (where the CPU has it);
one view's stack at a cached shape vs at ever-new shapes (the library prepares a kernel per shape);
the table mask's opening, ``binary_opening`` vs ``open_square``; and, on the data's frames without
masks, how much of the old rotated square the views' windows cover.
"""
from __future__ import annotations

import argparse
import time

import numpy as np


def _median_ms(fn, repeats: int) -> float:
    fn()
    t = []
    for _ in range(repeats):
        s = time.perf_counter()
        fn()
        t.append(time.perf_counter() - s)
    return 1e3 * float(np.median(t))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--frames", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=30)
    args = ap.parse_args()
    import scipy.ndimage as ndi
    import torch

    import grasplab.policies.fc_gqcnn_policy as fcp
    from grasplab.bench.machine import limit_to_cores, machine_info
    from grasplab.datasets.scene_sources import load_scenes
    from grasplab.imaging.table_plane import fit_table_plane, open_square
    from grasplab.models.fc_gqcnn import DenseGQCNN
    from grasplab.policies import load_policy
    limit_to_cores(2)
    torch.set_num_threads(2)
    pol = load_policy("fc-gqcnn", dense_dtype="float32")
    f32, b16 = pol.dense, DenseGQCNN(pol.model, torch.bfloat16)
    rng = torch.Generator().manual_seed(0)
    views = 1.5 + 0.01 * torch.randn(16, 1, 160, 160, generator=rng)
    rows = []
    with torch.inference_mode():
        a, b = [], []
        for _ in range(args.repeats):                                     # interleaved
            a.append(_median_ms(lambda: f32.conv_features(views), 1))
            b.append(_median_ms(lambda: b16.conv_features(views), 1))
        rows.append(("convolutions, 16 views of 160²", "float32", np.median(a), "bfloat16", np.median(b)))
        big = 1.5 + 0.01 * torch.randn(1, 1, 400, 400, generator=rng)
        cached, fresh, side = [], [], iter(range(100, 400, 4))
        for _ in range(min(args.repeats, 70)):
            cached.append(_median_ms(lambda: f32.conv_features(big[..., :132, :132]), 1))
            h = next(side, None)
            if h is None:
                break
            s = time.perf_counter()
            f32.conv_features(big[..., :h, :132])                        # a shape not seen before
            fresh.append(1e3 * (time.perf_counter() - s) * 132 / h)        # per 132² of area
        rows.append(("one view's convolutions, per 132²", "cached shape", np.median(cached), "new shape",
                     np.median(fresh)))
    scenes = [s for s in load_scenes(args.data, "jacquard", "stereo") if s.rectangles()][:args.frames]
    frames = [s.frame(rgb=False, mask=False) for s in scenes]
    masks = [f.depth_m < fit_table_plane(f.depth_m) - 0.01 for f in frames]
    old = np.median([_median_ms(lambda: ndi.binary_opening(m, np.ones((3, 3), bool), iterations=2), 5) for m in masks])
    new = np.median([_median_ms(lambda: open_square(m, 5), 5) for m in masks])
    same = all(np.array_equal(ndi.binary_opening(m, np.ones((3, 3), bool), iterations=2), open_square(m, 5))
               for m in masks)
    rows.append(("table mask opening", "binary_opening", old, "open_square", new))
    spans, real = [], fcp._span
    fcp._span = lambda idx, k, n: spans.append(real(idx, k, n) + (n,)) or spans[-1][:2]
    fractions = []
    try:
        for f in frames:
            spans.clear()
            pol.plan(f)
            s = np.array(spans).reshape(-1, 2, 3)                          # per view: rows, columns
            n = s[0, 0, 2]
            area = ((s[:, 0, 1] - s[:, 0, 0]) * (s[:, 1, 1] - s[:, 1, 0])).sum()
            fractions.append(area / (pol.fc_config.angle_bins * n * n))
    finally:
        fcp._span = real
    info = machine_info()
    print(f"{args.data}, {len(frames)} frames, {args.repeats} repeats, {info['machine']}, {info['date_utc']} UTC")
    print("| part | before | ms | after | ms | after / before |")
    print("|---|---|---:|---|---:|---:|")
    for part, n0, t0, n1, t1 in rows:
        print(f"| {part} | {n0} | {t0:.2f} | {n1} | {t1:.2f} | {t1 / t0:.2f} |")
    print(f"opening: the same pixels on {'all' if same else 'NOT all'} {len(masks)} frames; views' windows cover "
          f"{min(fractions):.0%}–{max(fractions):.0%} (median {np.median(fractions):.0%}) of the rotated squares "
          f"({pol.fc_config.angle_bins} views, no masks)")


if __name__ == "__main__":
    main()
