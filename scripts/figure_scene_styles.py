"""Figure: the scene styles of the synthesis pipeline side by side — the same objects, poses and
cameras (hence the same grasp labels) rendered plain, with a textured table, with distractors,
with varied lighting and Cornell-like (all three); RGB and the network's depth crop.

    python scripts/figure_scene_styles.py --out docs/figures/scene-styles.png
"""
from __future__ import annotations

import argparse

import numpy as np

from grasplab.objects import make_procedural_object
from grasplab.scene import camera_preset, compute_stable_poses, make_renderer, sample_scene
from grasplab.scene.styles import STYLES, scene_style
from grasplab.viz.figures import object_crop, save_image_grid


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--objects", default="box:3,cylinder:5,bottle:7", help="family:seed pairs")
    ap.add_argument("--out", default="docs/figures/scene-styles.png")
    args = ap.parse_args()
    images = []
    with make_renderer("mujoco") as renderer:
        for k, item in enumerate(args.objects.split(",")):
            family, seed = item.split(":")
            obj = make_procedural_object(family, int(seed))
            pose = compute_stable_poses(obj)[0]
            for style in STYLES:
                scene = sample_scene(obj, pose, camera_preset("jacquard"), np.random.default_rng([k, 17]),
                                     scene_style(style))
                obs = renderer.render(scene)
                ys, xs = object_crop(obs.mask, obs.depth_m.shape, margin=4.0)
                images.append((f"{obj.name}: {style}", obs.rgb[ys, xs]))
    print(save_image_grid(images, args.out, cols=len(STYLES),
                          title="scene styles (grasplab synth --style): same object, pose, camera and labels"))


if __name__ == "__main__":
    main()
