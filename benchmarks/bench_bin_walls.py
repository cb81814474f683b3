"""Heaps left in a bin (Dex-Net 4.0's real frames): where do the policies put their top grasp without
a mask, with the bin's walls taken out of the object region and without? Prints a table.

    MUJOCO_GL=egl python benchmarks/bench_bin_walls.py [--heaps 10 --objects procedural:40 --seed 1 --scale 1]
        [--figure docs/figures/bin-walls.png]

Each heap: 5 objects dropped by MuJoCo into a 30 cm bin whose walls are then sunk to 10 cm (1 cm
thick), seen by each camera preset with the trials' depth noise, planned without a mask. A grasp is
"on the bin" when its centre lies within 1.5 cm of a wall's inner face (on the wall, or a finger
over it); "on an object" when the rendered object index at its centre pixel is an object's. Also
the wall detection's time per frame (median), and how many frames of heaps *without* a bin it marks
any wall in (the same objects, the bin taken away). ``--figure``: each camera's first heap, the walls
found shaded red, `auto`'s top 3 grasps with the walls left out and without.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

BIN_INNER_M, BIN_WALL_M, BIN_KEPT_M = 0.30, 0.01, 0.10


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--heaps", type=int, default=10)
    ap.add_argument("--objects", default="procedural:40")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--scale", type=float, default=1.0, help="mesh scale (0.015 for pybullet's random URDF shapes)")
    ap.add_argument("--cameras", default="primesense,phoxi,jacquard")
    ap.add_argument("--figure", help="write a figure of each camera's first heap here (PNG)")
    args = ap.parse_args()
    import torch

    from grasplab.bench.machine import limit_to_cores, machine_info
    from grasplab.grasps import load_gripper
    from grasplab.imaging import Frame, above_table, bin_walls, fit_table_plane
    from grasplab.objects import parse_object_source
    from grasplab.policies import load_policy
    from grasplab.policies.registry import policy_from_spec
    from grasplab.errors import NoGraspFoundError
    from grasplab.scene import apply_depth_noise, camera_preset, sample_camera
    from grasplab.seeding import derive_rng
    from grasplab.sim import drop_heap
    from grasplab.trials.trial import TrialConfig
    limit_to_cores(2)
    torch.set_num_threads(2)

    auto = load_policy("auto")
    walls_kept = auto.metric.spec()                # what auto plans with on these frames, walls taken for objects
    for inner in walls_kept["options"]["policies"]:
        inner["options"]["policy"]["options"]["exclude_walls"] = False
    policies = {"auto": (auto, policy_from_spec(walls_kept)),
                "fc-gqcnn": (load_policy("fc-gqcnn"), load_policy("fc-gqcnn", exclude_walls=False)),
                "gqcnn-rank": (load_policy("gqcnn-rank"), load_policy("gqcnn-rank", exclude_walls=False))}
    specs = parse_object_source(args.objects, seed=args.seed, scale=args.scale)
    gripper = load_gripper("robotiq_2f85")
    noise = TrialConfig.from_preset("jacquard-like").noise
    counts = {(p, c, w): [0, 0, 0] for p in policies for c in args.cameras.split(",") for w in (True, False)}
    detect_ms, false_walls, frames, shown = [], 0, 0, []
    for cam in args.cameras.split(","):
        for h in range(args.heaps):
            rng = derive_rng(args.seed, "bin-walls", h)
            objects = [specs[i].build() for i in rng.choice(len(specs), 5, replace=False)]
            for kept in (True, False):
                world = drop_heap(objects, gripper, 0.5, derive_rng(args.seed, "drop", h), bin_m=BIN_INNER_M,
                                  keep_bin_m=BIN_KEPT_M if kept else None)
                crng = derive_rng(args.seed, "camera", cam, h)
                intr, T = sample_camera(crng, camera_preset(cam), target_m=(0.0, 0.0, 0.0))
                depth, _, index = world.render(intr, T, rgb=False)
                world.close()
                depth = apply_depth_noise(depth, noise, crng)
                plane = fit_table_plane(depth)
                above = above_table(depth, 0.01, plane)
                t0 = time.perf_counter()
                walls = bin_walls(depth, intr, plane, above)
                if kept:
                    detect_ms.append(1e3 * (time.perf_counter() - t0))
                else:
                    frames += 1
                    false_walls += bool(walls.any())
                    continue
                frame = Frame.from_images(depth, intrinsics=intr, T_world_camera=T)
                if args.figure and h == 0:
                    shown.append((cam, frame, walls, [_top(p, frame, 3) for p in policies["auto"]]))
                for name, pair in policies.items():
                    for exclude, pol in zip((True, False), pair):
                        c = counts[(name, cam, exclude)]
                        try:
                            g = pol.plan(frame, max_grasps=1, seed=h)[0]
                        except NoGraspFoundError:
                            c[2] += 1
                            continue
                        x, y = g.pose_world.center_m[:2]
                        c[0] += max(abs(x), abs(y)) > BIN_INNER_M / 2 - 0.015
                        u, v = (int(round(a)) for a in g.grasp.center_xy_px)
                        c[1] += bool(index[v, u] >= 0)
    print(machine_info())
    print(f"{args.heaps} heaps of 5 `{args.objects}` (seed {args.seed}) per camera, in a {BIN_INNER_M * 100:g} cm "
          f"bin with {BIN_KEPT_M * 100:g} cm walls, no masks\n")
    print("| policy | camera | top grasp on the bin, walls excluded | without | on an object, walls excluded | without "
          "| no grasp, excluded / without |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for name in policies:
        for cam in args.cameras.split(","):
            a, b = counts[(name, cam, True)], counts[(name, cam, False)]
            print(f"| {name} | {cam} | {a[0]}/{args.heaps} | {b[0]}/{args.heaps} | {a[1]}/{args.heaps} | "
                  f"{b[1]}/{args.heaps} | {a[2]} / {b[2]} |")
    if args.figure:
        _figure(shown, args.figure)
    print(f"\nwall detection: {np.median(detect_ms):.1f} ms median per bin frame; frames of the same heaps "
          f"without a bin with any wall marked: {false_walls} of {frames}")


def _top(policy, frame, n: int) -> list:
    from grasplab.errors import NoGraspFoundError
    try:
        return policy.plan(frame, max_grasps=n, seed=0)
    except NoGraspFoundError:
        return []


def _figure(shown: list, path: str) -> None:
    """Rows: cameras; columns: walls left out (shaded red) and not; `auto`'s top 3 (best thick)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from grasplab.viz.figures import PREDICTED, depth_picture, draw_grasp_rectangles, finish_panels
    fig, axes = plt.subplots(len(shown), 2, figsize=(10, 4.2 * len(shown)), dpi=72, squeeze=False)
    for row, (cam, frame, walls, tops) in zip(axes, shown):
        for ax, grasps, label in zip(row, tops, ("walls left out (red)", "walls taken for objects")):
            pic = depth_picture(frame.depth_m)
            if label.startswith("walls left"):
                pic[walls] = (0.5 * pic[walls] + [127, 0, 0]).astype(np.uint8)
            ax.imshow(pic)
            draw_grasp_rectangles(ax, [g.grasp for g in grasps[1:]], PREDICTED, 0.9)
            draw_grasp_rectangles(ax, [g.grasp for g in grasps[:1]], PREDICTED, 2.2)
            ax.set_title(f"{cam}, 5 objects in a bin, no mask\nauto, {label}: top 3 (best thick)", fontsize=8)
    finish_panels(fig, axes, path)
    from PIL import Image                                  # noisy depth: a palette keeps the file small
    Image.open(path).convert("RGB").quantize(colors=64).save(path, optimize=True)
    print("wrote", path)


if __name__ == "__main__":
    main()
