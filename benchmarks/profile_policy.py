"""Where a policy's planning time goes: plain ms per frame, then the share of profiled time spent in
its main parts (cProfile inflates the total; compare shares, not milliseconds).

    python benchmarks/profile_policy.py gqcnn-cem runs/gq-test [--frames 12] [--no-masks]
"""
import argparse
import cProfile
import pstats
import time

import torch

from grasplab.datasets.scene_sources import load_scenes
from grasplab.models.gqcnn import ChannelLRN
from grasplab.policies import load_policy

# (file, function, first line or None); crops go through the network's channels-last copy (crop_logits)
PARTS = {"GQ-CNN on crops": ("fc_gqcnn.py", "crop_logits", None),
         "LRN layers": ("gqcnn.py", "forward", ChannelLRN.forward.__code__.co_firstlineno),
         "sampling crops": ("crops.py", "rotated_crops", None), "antipodal sampler": ("antipodal_depth.py", "sample_antipodal_grasps", None),
         "mixture fits": ("_base.py", "fit", None),
         "dense convolutions": ("fc_gqcnn.py", "conv_features", None),
         "dense layers at the positions": ("fc_gqcnn.py", "image_features_at", None),
         "crop refinement": ("fc_gqcnn_policy.py", "_refined", None), "rotating the views": ("fc_gqcnn_policy.py", "_fill_views", None),
         "table fit": ("table_plane.py", "fit_table_plane", None), "table mask": ("table_plane.py", "above_table", None)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("policy")
    ap.add_argument("data")
    ap.add_argument("--frames", type=int, default=12)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-masks", action="store_true", help="plan on what stands above the table")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    scenes = [s for s in load_scenes(args.data, "jacquard", "stereo") if s.rectangles()][:args.frames]
    frames = [s.frame(rgb=False, mask=not args.no_masks) for s in scenes]
    pol = load_policy(args.policy)
    pol.plan(frames[0])                                   # warm-up
    t = time.perf_counter()
    for f in frames:
        pol.plan(f, max_grasps=1)
    print(f"{args.policy}: {(time.perf_counter() - t) / len(frames) * 1e3:.1f} ms per frame (unprofiled)")
    prof = cProfile.Profile()
    prof.enable()
    for f in frames:
        pol.plan(f, max_grasps=1)
    prof.disable()
    st = pstats.Stats(prof)
    for name, (file, func, line) in PARTS.items():
        cum = sum(v[3] for (fn, ln, fu), v in st.stats.items()
                  if fn.endswith(file) and fu == func and (line is None or ln == line))
        if cum:
            print(f"  {name:30s} {100 * cum / st.total_tt:5.1f} % of profiled time")


if __name__ == "__main__":
    main()
