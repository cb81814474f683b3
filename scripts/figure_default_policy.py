"""Figure: the default policy (`auto`) beside the GG-CNN2 (`map`, the default before) on frames
without masks — held-out heaps seen by other cameras, and the real Primesense frames.

    python scripts/figure_default_policy.py --data runs/gq-heaps-primesense --data runs/gq-heaps-phoxi \\
        --primesense ../shared/data/gqcnn --frames 2 --out docs/figures/default-policy.png
"""
from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from grasplab.errors import NoGraspFoundError  # noqa: E402
from grasplab.policies import load_policy  # noqa: E402
from grasplab.viz.figures import depth_picture, draw_grasp_rectangles, finish_panels  # noqa: E402


def frames(args):
    from grasplab.datasets.scene_sources import load_scenes
    from grasplab.imaging import read_frame
    for folder in args.data:
        scenes = [s for s in load_scenes(folder, "jacquard", "stereo") if s.rectangles()][:args.frames]
        for s in scenes:
            yield f"{Path(folder).name}: {Path(str(s.stem)).name}", s.frame(rgb=False, mask=False)
    if args.primesense:
        base = Path(args.primesense)
        for k in range(args.frames):
            yield f"real Primesense frame {k}", read_frame(base / "primesense" / f"depth_{k}.npy",
                                                          intrinsics=base / "calib" / "primesense.intr")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", action="append", default=[])
    ap.add_argument("--primesense")
    ap.add_argument("--frames", type=int, default=2)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    policies = [("auto (the default)", load_policy()), ("map: GG-CNN2 (the default before)", load_policy("map"))]
    items = list(frames(args))
    fig, axes = plt.subplots(len(items), len(policies), figsize=(5 * len(policies), 4.2 * len(items)), dpi=72,
                             squeeze=False)
    for row, (title, frame) in zip(axes, items):
        for ax, (name, pol) in zip(row, policies):
            ax.imshow(depth_picture(frame.depth_m), cmap="gray")
            try:
                grasps = pol.plan(frame, max_grasps=3, seed=0)
            except NoGraspFoundError as e:
                grasps, name = [], f"{name}: no grasp ({str(e)[-60:]})"
            draw_grasp_rectangles(ax, [g.grasp for g in grasps[1:]], "deepskyblue", 0.9)
            draw_grasp_rectangles(ax, [g.grasp for g in grasps[:1]], "deepskyblue", 2.2)
            width = f", {grasps[0].width_m * 100:.1f} cm" if grasps and grasps[0].pose is not None else ""
            ax.set_title(f"{title}, no mask\n{name}: top 3 (best thick){width}", fontsize=8)
            h, w = frame.shape
            ax.set_xlim(0, w)
            ax.set_ylim(h, 0)
    finish_panels(fig, axes, args.out)
    from PIL import Image                                  # noisy depth: a palette keeps the file small
    Image.open(args.out).convert("RGB").quantize(colors=64).save(args.out, optimize=True)
    print("wrote", args.out)


if __name__ == "__main__":
    main()
