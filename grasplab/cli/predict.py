"""``grasplab predict``: ranked grasps for one camera frame, from any registered policy."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
import typer

from .common import CLEARANCE_HELP, GRIPPER_HELP, MODEL_HELP, POLICY_HELP, RERANK_HELP, VIEWS_HELP, console, make_policy


MAX_GRASPS = 1000


def predict(
    model: Optional[str] = typer.Option(None, help=MODEL_HELP),
    policy: Optional[str] = typer.Option(None, help=POLICY_HELP),
    depth: Path = typer.Option(..., help="Depth image: TIFF, NPY or 16-bit PNG (metres or millimetres)."),
    rgb: Optional[Path] = typer.Option(None, help="RGB image (for rgb/rgbd models)."),
    intrinsics: Optional[Path] = typer.Option(None, help="Camera intrinsics (.intr or grasplab JSON): grasps in "
                                              "metres, and the model's metric scale."),
    mask: Optional[Path] = typer.Option(None, help="Object mask PNG: every grasp is centred on it."),
    units: str = typer.Option("auto", help="Depth units: auto, m or mm."),
    max_grasps: int = typer.Option(5, help="How many grasps to return, best first (1–1000)."),
    gripper: Optional[str] = typer.Option(None, help=GRIPPER_HELP),
    clearance: bool = typer.Option(False, "--clearance", help=CLEARANCE_HELP),
    views: Optional[int] = typer.Option(None, help=VIEWS_HELP),
    rerank: Optional[str] = typer.Option(None, help=RERANK_HELP),
    seed: int = typer.Option(0, help="Seed of the policy's random choices (GQ-CNN sampling)."),
    out: Path = typer.Option(Path("grasplab-predict"), help="Folder for grasps.json and overlay.png."),
):
    """Ranked grasps for one camera frame: JSON (pixels; metres with intrinsics) and a PNG overlay."""
    from ..errors import NoGraspFoundError
    from ..imaging import read_frame
    from ..storage import atomic_write_json, run_metadata
    from ..viz.figures import frame_picture, plural, save_grasp_scenes
    from ..errors import ConfigError
    if not 1 <= max_grasps <= MAX_GRASPS:
        raise ConfigError(f"--max-grasps {max_grasps}: give 1 to {MAX_GRASPS}")
    pol = make_policy(policy, model, clearance=(gripper or "robotiq_2f85") if clearance else None,
                      views=views, rerank=rerank, gripper=gripper)   # a wrong model fails first
    if rgb is not None and not pol.needs_rgb:
        raise ConfigError(f"--rgb {rgb}: the {pol.name} policy{' (' + str(model) + ')' if model else ''} reads depth "
                          f"only, so the colour image would be ignored; leave --rgb out, or use an rgb/rgbd model")
    frame = read_frame(depth, rgb, mask, intrinsics, units)
    try:
        grasps, why = pol.plan(frame, max_grasps=max_grasps, seed=seed), None
    except NoGraspFoundError as e:
        grasps, why = [], str(e)
    payload = {**run_metadata({"policy": pol.describe(), "depth": str(depth), "rgb": str(rgb) if rgb else None,
                               "mask": str(mask) if mask else None, "units": units, "seed": seed}),
               "grasps": [g.to_dict() for g in grasps], **({"no_grasp": why} if why else {})}
    atomic_write_json(out / "grasps.json", payload)
    save_grasp_scenes([{"title": f"{depth.name}: {plural(len(grasps), 'grasp')} ({pol.name})",
                        "image": frame_picture(frame), "mask": frame.mask, "positives": [],
                        "predicted": [g.grasp for g in grasps[:1]], "predicted_others": [g.grasp for g in grasps[1:]],
                        "legend": "best grasp (blue, thick), the next ones (blue, thin)" if grasps else why}],
                      out / "overlay.png", cols=1, full_frame=True)
    if why:
        raise NoGraspFoundError(f"{why} (wrote {out / 'grasps.json'} and {out / 'overlay.png'})")
    for i, g in enumerate(grasps):
        extra = f", centre {np.round(g.center_m, 3).tolist()} m, width {g.width_m * 100:.1f} cm" if g.pose else ""
        hole = " [centre on a depth hole]" if g.on_hole else ""
        console.print(f"{i + 1}. score {g.score:.2f} at ({g.grasp.center_xy_px[0]:.0f}, {g.grasp.center_xy_px[1]:.0f}) "
                      f"px, angle {np.degrees(g.grasp.angle_rad):.0f}°, width {g.grasp.width_px:.0f} px{extra}{hole}")
    console.print(f"wrote {out / 'grasps.json'} and {out / 'overlay.png'}")
    if pol.name == "auto" and frame.intrinsics is None:
        console.print("note: without --intrinsics the default plans in pixels with the GG-CNN2; give the camera's "
                      "intrinsics (.intr or JSON) for the FC-GQ-CNN with the hand's clearance check, which lifted "
                      "far more objects from heaps in the simulated trials (README)", style="yellow")


def register(app: typer.Typer) -> None:
    app.command()(predict)
