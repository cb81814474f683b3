"""``grasplab demo``: fresh synthetic scenes → the pretrained detector → scored against the
analytic labels, with a table and figures. Offline, under a minute on two cores.

The scenes come from objects the pretrained models never saw (a seed of their own), rendered
like the models' training data; each scene's ground truth is the set of collision-free
grasps whose robust Ferrari–Canny quality passes the threshold. The detector runs on the full
frames the way a robot would call it (depth + intrinsics, metres out) and is scored with the
rectangle metric on its top grasp.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .errors import GrasplabError
from .storage import atomic_write_json, run_metadata

DEMO_SEED = 20261122          # not a seed any pretrained model was trained or tested on
GRIPPER = "robotiq_2f85"      # labels the scenes and limits the detected widths


@dataclass(frozen=True)
class DemoConfig:
    objects: int = 8
    model: str | None = None             # pretrained name or file; None: the default model
    rerank: str | None = None            # a crop re-ranker for the model (pretrained name or file)
    seed: int = DEMO_SEED
    grasps_per_object: int = 200
    views_per_pose: int = 1
    max_poses: int = 2
    workers: int = 0                     # serial: no Ray start-up for a job this small


def run_demo(cfg: DemoConfig, out_dir: str | Path = "grasplab-demo", show_progress: bool = True) -> dict:
    from .datasets.jacquard import list_jacquard_scenes
    from .evaluation.rectangle_metric import RectangleMetric, accuracy_with_ci
    from .geometry import CameraIntrinsics
    from .grasps.gripper import load_gripper
    from .policies import load_detector
    from .quality import QualityConfig
    from .synth import SynthConfig, run_synth
    from .viz.figures import save_grasp_scenes

    out = Path(out_dir)
    det = load_detector(cfg.model, rerank=cfg.rerank)
    synth_cfg = SynthConfig(objects=f"procedural:{cfg.objects}", seed=cfg.seed, formats=("jacquard",),
                            views_per_pose=cfg.views_per_pose, max_poses=cfg.max_poses,
                            grasps_per_object=cfg.grasps_per_object, gripper=GRIPPER, camera="jacquard",
                            quality=QualityConfig(positive_threshold=0.001))
    run_synth(synth_cfg, out / "scenes", workers=cfg.workers, show_progress=show_progress)
    metric = RectangleMetric()
    rows, panels = [], []
    try:
        scenes = list_jacquard_scenes(out / "scenes", depth_kind="stereo")
    except GrasplabError:
        raise GrasplabError(f"none of the {cfg.objects} demo objects gave a grasp candidate, so no scene was rendered "
                            f"(see {out / 'scenes' / 'objects.json'}); run with more --objects") from None
    for sc in scenes:
        side = sc.sidecar() or {}
        truth = sc.rectangles()
        K = CameraIntrinsics.from_dict(side["intrinsics"]) if "intrinsics" in side else None
        # the robot's gripper opens so far: wider grasps are not offered
        grasps = det.detect(sc.depth_m(), intrinsics=K, max_grasps=5,
                            max_width_m=load_gripper(GRIPPER).max_width_m if K is not None else None)
        ranked = [g.grasp for g in grasps]
        row = {"scene": sc.stem.name, "family": side.get("object", {}).get("family", "?"),
               "positives": len(truth), "candidates": len(side.get("candidates", [])),
               "top1": bool(truth) and metric.top_k_correct(ranked, truth, 1),
               "top5": bool(truth) and metric.top_k_correct(ranked, truth, 5),
               "quality": grasps[0].quality if grasps else 0.0,
               "width_cm": round(grasps[0].width_m * 100, 2) if grasps and grasps[0].width_m else None,
               "grasp": grasps[0].to_dict() if grasps else None}
        rows.append(row)
        mark = "no labels" if not truth else ("✓" if row["top1"] else "✗")
        panels.append({"title": f"{row['family']} {sc.stem.name.split('_')[0]}: {mark}", "image": sc.rgb(),
                       "mask": sc.mask(), "positives": [r.to_grasp2d() for r in truth],
                       "predicted": ranked[:1]})
    scored = [r for r in rows if r["positives"]]
    top1 = accuracy_with_ci(sum(r["top1"] for r in scored), len(scored))
    top5 = accuracy_with_ci(sum(r["top5"] for r in scored), len(scored))
    report = {**run_metadata({"demo": cfg.__dict__, "model": str(det.path)}),
              "top1": {"accuracy": top1.value, "correct": top1.correct, "total": top1.total, "ci95": [top1.low, top1.high]},
              "top5": {"accuracy": top5.value, "correct": top5.correct, "total": top5.total, "ci95": [top5.low, top5.high]},
              "scenes_without_labels": len(rows) - len(scored), "scenes": rows}
    atomic_write_json(out / "demo.json", report)
    if panels:
        save_grasp_scenes(panels, out / "grasps.png", cols=4,
                          title=f"{det.path.stem}: top grasp (blue) vs analytic positives (green); "
                                f"top-1 {top1.correct}/{top1.total}")
    return report

