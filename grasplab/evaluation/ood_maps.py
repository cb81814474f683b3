"""Quality maps of several grasp networks on out-of-distribution frames (no labels needed),
as in Mahajan et al.'s figures 4–6: the Jacquard samples, real Primesense frames, or any
folder of ``depth_N`` images with optional ``color_N.png`` and ``segmask_N.png`` beside them."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import ConfigError


def load_ood_frames(folder: str | Path, depth_kind: str = "stereo", limit: int = 4) -> tuple[str, list[dict]]:
    """(name, frames) from a Jacquard folder or a folder of ``depth_N.*`` [+ ``color_N.png``,
    ``segmask_N.png``] files; each frame a dict with ``title``, ``depth`` (m), ``rgb``, ``mask``."""
    from ..datasets.frame_folder import list_frames
    folder = Path(folder)
    if not folder.is_dir():
        raise ConfigError(f"--ood {folder}: not a folder")
    frames = list_frames(folder)[:limit]
    if frames:
        return folder.name, [{"title": f.depth_path.stem, "depth": f.depth_m(),
                              "rgb": f.rgb() if f.color_path.is_file() else None,
                              "mask": f.mask() if f.mask_path.is_file() else None} for f in frames]
    from ..datasets.scene_sources import load_scenes
    scenes = load_scenes(folder, "jacquard", depth_kind)
    if not scenes:
        raise ConfigError(f"--ood {folder}: neither depth_N.* frames nor Jacquard scenes found")
    # one frame per object first, so a few frames show different objects
    by_object: dict = {}
    for s in scenes:
        by_object.setdefault(getattr(s, "object_id", s), s)
    picked = list(by_object.values())[:limit]
    return f"{folder.name} ({depth_kind})", [{"title": Path(str(getattr(s, "stem", "scene"))).name[:24],
                                              "depth": s.depth_m(), "rgb": s.rgb(), "mask": None} for s in picked]


def quality_map_panels(model_paths: dict[str, Path], frames: list[dict]) -> list[dict]:
    """Per frame: the first model's network input and every model's quality map and top grasp
    (planned as ``grasplab predict`` would, drawn in the network input's pixels)."""
    from ..errors import NoGraspFoundError
    from ..imaging import Frame
    from ..policies import GraspMapPolicy
    policies = {m: GraspMapPolicy(p) for m, p in model_paths.items()}
    panels = []
    for f in frames:
        frame = Frame.from_images(f["depth"], rgb=f["rgb"], mask=f["mask"], name=f["title"])
        maps, x_shown = [], None
        for m, pol in policies.items():
            inp = pol.prepare(frame)
            q = pol.grasp_maps(inp.x)[0]
            try:
                top = inp.window.grasp_to_output(pol.plan(frame, max_grasps=1)[0].grasp)
            except NoGraspFoundError:
                top = None
            maps.append((m, np.asarray(q), top))
            x_shown = inp.x if x_shown is None else x_shown
        panels.append({"title": f["title"], "input": x_shown, "maps": maps})
    return panels


def save_ood_figures(out: Path, models: dict[str, Path], caption: str, ood: list[tuple[str, list[dict]]]) -> list[Path]:
    """One figure per frame source (``out/figures/ood-<source>.png``), one column per model."""
    from ..viz.semisup_figures import save_quality_map_comparison
    paths = []
    for name, frames in ood:
        slug = "".join(ch if ch.isalnum() else "-" for ch in name).strip("-")
        paths.append(save_quality_map_comparison(quality_map_panels(models, frames),
                                                 out / "figures" / f"ood-{slug}.png",
                                                 title=f"{name}: quality maps and top grasps, {caption}"))
    return paths
