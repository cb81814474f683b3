"""Figure: what the FC-GQ-CNN sees — per frame, the best dense score at every position (over the
angle bins and the depth bins) and the planned grasps.

    python scripts/figure_fc_gqcnn.py --data runs/gq-heaps-test --frames 3 --out docs/figures/fc-gqcnn.png
    python scripts/figure_fc_gqcnn.py --primesense ../shared/data/gqcnn --out docs/figures/fc-gqcnn-primesense.png
"""
from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from grasplab.policies import load_policy  # noqa: E402
from grasplab.viz.figures import depth_picture, draw_grasp_rectangles, finish_panels  # noqa: E402


def frames_from(args):
    if args.primesense:
        from grasplab.imaging import read_frame
        base = Path(args.primesense)
        for k in range(args.frames):
            yield f"Primesense frame {k} (no mask)", read_frame(base / "primesense" / f"depth_{k}.npy",
                                                                intrinsics=base / "calib" / "primesense.intr")
    else:
        from grasplab.datasets.scene_sources import load_scenes
        scenes = [s for s in load_scenes(args.data, "jacquard", "stereo") if s.rectangles()][:args.frames]
        for s in scenes:
            yield f"{Path(str(s.stem)).name} (no mask)", s.frame(rgb=False, mask=False)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data")
    ap.add_argument("--primesense")
    ap.add_argument("--model")
    ap.add_argument("--frames", type=int, default=3)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    pol = load_policy("fc-gqcnn", **({"model": args.model} if args.model else {}))
    items = list(frames_from(args))
    fig, axes = plt.subplots(len(items), 2, figsize=(10, 4.6 * len(items)), dpi=80, squeeze=False)
    for row, (title, frame) in zip(axes, items):
        grasps = pol.plan(frame, max_grasps=5)
        dense = pol.last_dense
        on = dense["score"] >= 0                           # positions on the object (mask or above the table)
        cell = 6                                           # the map's bins, frame pixels
        h, w = frame.shape
        best = np.full((h // cell + 1, w // cell + 1), np.nan)
        bx = (dense["x_px"][on] // cell).astype(int)
        by = (dense["y_px"][on] // cell).astype(int)
        for x, y, q in zip(bx, by, dense["score"][on]):    # the best of every angle and depth that lands in a bin
            best[y, x] = q if np.isnan(best[y, x]) else max(best[y, x], q)
        ys, xs = np.nonzero(np.isfinite(best))
        xs, ys = xs * cell + cell / 2, ys * cell + cell / 2
        row[0].imshow(depth_picture(frame.depth_m), cmap="gray")
        draw_grasp_rectangles(row[0], [g.grasp for g in grasps[1:]], "deepskyblue", 0.9)
        draw_grasp_rectangles(row[0], [grasps[0].grasp], "deepskyblue", 2.2)
        row[0].set_title(f"{title}\ntop 5 grasps (best thick), score {grasps[0].score:.2f}, "
                         f"{pol.last_stats['dense_s'] * 1e3:.0f} ms dense", fontsize=8)
        row[1].imshow(depth_picture(frame.depth_m), cmap="gray")
        sc = row[1].imshow(best, cmap="jet", vmin=0, vmax=1, alpha=0.8, extent=(0, best.shape[1] * cell,
                                                                              best.shape[0] * cell, 0))
        fig.colorbar(sc, ax=row[1], fraction=0.046, pad=0.02)
        row[1].set_title(f"dense GQ-CNN score, best of {len(dense['angles_rad'])} angles × depths\n"
                         f"({pol.last_stats['grid']})", fontsize=8)
        for ax in row:                                     # the whole frame
            ax.set_xlim(0, w)
            ax.set_ylim(h, 0)
    finish_panels(fig, axes, args.out, f"FC-GQ-CNN: one dense pass over positions × {pol.fc_config.angle_bins} angles × gripper depths")
    print("wrote", args.out)


if __name__ == "__main__":
    main()
