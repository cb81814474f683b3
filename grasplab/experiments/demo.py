"""``grasplab demo``: fresh synthetic scenes → a policy → scored against the analytic labels, with a
table and figures. Offline, under a minute on two cores.

The scenes come from objects the pretrained models never saw (the ``demo`` preset: a seed of its
own), rendered like the models' training data; each scene's ground truth is the set of
collision-free grasps whose robust Ferrari–Canny quality passes the threshold. The policy plans
on the full frames the way a robot would call it (depth + intrinsics, no object mask, grasps no
wider than the gripper opens) through the same evaluation loop as ``grasplab evaluate``, and its
top grasp is scored with the rectangle metric.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import GrasplabError
from ..storage import atomic_write_json, run_metadata

PRESET = "demo"


@dataclass(frozen=True)
class DemoConfig:
    objects: int | None = None           # procedural objects (None: the preset's)
    model: str | None = None             # pretrained name or file; None: the default model
    rerank: str | None = None            # a crop re-ranker for the model (pretrained name or file)
    policy: str | None = None            # a registered policy name (default: the model's own; no model: auto)
    workers: int = 0                     # serial: no Ray start-up for a job this small


def run_demo(cfg: DemoConfig, out_dir: str | Path = "grasplab-demo", show_progress: bool = True) -> dict:
    from ..datasets.jacquard import list_jacquard_scenes
    from ..evaluation import evaluate_policy
    from ..geometry import Grasp2D
    from ..policies import load_policy
    from ..synth import SynthConfig, run_synth
    from ..viz.figures import save_grasp_scenes

    out = Path(out_dir)
    synth_cfg = SynthConfig.from_preset(PRESET, objects=None if cfg.objects is None else f"procedural:{cfg.objects}")
    # the robot's gripper bounds the widths; options not given are left to the policy
    options = {k: v for k, v in (("model", cfg.model), ("rerank", cfg.rerank)) if v is not None}
    policy = load_policy(cfg.policy, gripper=synth_cfg.gripper, **options)
    run_synth(synth_cfg, out / "scenes", workers=cfg.workers, show_progress=show_progress)
    try:
        scenes = list_jacquard_scenes(out / "scenes", depth_kind="stereo")
    except GrasplabError:
        raise GrasplabError(f"none of the demo objects ({synth_cfg.objects}) gave a grasp candidate, so no scene was "
                            f"rendered (see {out / 'scenes' / 'objects.json'}); run with more --objects") from None

    def info(sc) -> dict:
        side = sc.sidecar() or {}
        return {"family": side.get("object", {}).get("family", "?"), "candidates": len(side.get("candidates", []))}

    rep = evaluate_policy(policy, scenes, k=5, use_mask=False, figures=0, show_progress=show_progress,
                          scene_info=info)
    rows = rep.per_scene
    report = {**run_metadata({"demo": asdict(cfg), "synth_preset": PRESET, "policy": policy.describe()}),
              **{k: v for k, v in rep.to_dict().items() if k != "per_scene"},
              "scenes_without_labels": rep.skipped_no_truth, "scenes": rows,
              "objects_without_scenes": _objects_without_scenes(out / "scenes"),
              "unscored_scenes": _unscored(policy, scenes)}
    atomic_write_json(out / "demo.json", report)
    by_stem = {str(s.stem): s for s in scenes}
    panels = []
    for r in rows:
        sc = by_stem[r["scene"]]
        g = r["grasp"]
        top = [] if g is None else [Grasp2D(tuple(g["center_xy_px"]), g["angle_rad"], g["width_px"], g["jaw_px"])]
        panels.append({"title": f"{r['family']} {Path(r['scene']).name.split('_')[0]}: {'✓' if r['top1'] else '✗'}",
                       "image": sc.rgb(), "mask": sc.mask(), "positives": [x.to_grasp2d() for x in sc.rectangles()],
                       "predicted": top})
    if panels:
        model = policy.spec()["options"].get("model")
        save_grasp_scenes(panels, out / "grasps.png", cols=4,
                          title=f"{policy.name}{f' ({Path(model).stem})' if model else ''}: top grasp "
                                f"(blue) vs analytic positives (green); top-1 {rep.top1.correct}/{rep.top1.total}")
    return report


def _objects_without_scenes(folder: Path) -> dict[str, str]:
    """Objects the synthesis left out (no antipodal grasp fits the gripper, or a failure), and why."""
    import json
    try:
        rec = json.loads((folder / "objects.json").read_text())
    except (OSError, ValueError):
        return {}
    return {**rec.get("no_grasps", {}), **rec.get("failures", {})}


def _unscored(policy, scenes) -> list[dict]:
    """Scenes without an analytic positive (they cannot be scored), with the policy's top grasp:
    a confident grasp there is either a label gap or a mistake, and worth a look."""
    from ..errors import NoGraspFoundError
    from ..evaluation.evaluate_policy import policy_frame
    out = []
    for sc in scenes:
        if sc.rectangles():
            continue
        try:
            top = policy.plan(policy_frame(sc, policy, use_mask=False), max_grasps=1)[0]
            out.append({"scene": str(sc.stem), "score": top.score,
                        "width_m": None if top.pose is None else top.pose.width_m})
        except NoGraspFoundError as e:
            out.append({"scene": str(sc.stem), "score": None, "width_m": None, "no_grasp": str(e)})
    return out
