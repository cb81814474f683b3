"""The render job: objects → stable poses → camera views → RGB, depth, mask, camera files.

Every view takes its random state from (seed, object key, view index), so the output does
not depend on the order or number of workers. Files are written atomically, and a view's
``camera.json`` is written last: a view whose camera file exists is finished, and running
the same command again resumes with the views that are not.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from ..errors import ConfigError, GrasplabError, MeshError, StablePoseError
from ..geometry import CameraIntrinsics, RigidTransform
from ..imaging import read_depth_m, read_mask, read_rgb, write_depth_tiff, write_png
from ..objects import ObjectSpec, make_procedural_object, parse_object_source
from ..scene import (Appearance, DepthNoiseConfig, Scene, apply_depth_noise, camera_preset, compute_stable_poses,
                     make_renderer, sample_scene)
from ..scene.styles import scene_style
from ..seeding import derive_int_seed, derive_rng
from ..storage import atomic_write_json, check_or_write_run_config
from ..viz import save_contact_sheet, save_image_grid

CONFIG_FILE = "render_config.json"


@dataclass(frozen=True)
class RenderJobConfig:
    objects: str = "procedural:8"
    views: int = 4                       # views per object; each picks a stable pose by probability
    seed: int = 0
    renderer: str = "auto"
    camera: str = "dexnet2"              # camera preset (see grasplab.scene.CAMERA_PRESETS)
    noise: DepthNoiseConfig = field(default_factory=DepthNoiseConfig)
    min_pose_probability: float = 0.02
    mesh_scale: float = 1.0
    contact_sheet_views: int = 12
    style: str = "plain"                 # scene style (``grasplab.scene.styles``)

    def __post_init__(self):
        if self.views <= 0:
            raise ConfigError("--views must be a positive number of views per object")
        if not (self.mesh_scale > 0 and self.mesh_scale < float("inf")):
            raise ConfigError(f"--scale {self.mesh_scale}: mesh scale must be a positive number (0.001 for meshes in mm)")
        if self.renderer not in ("auto", "mujoco", "raycast"):
            raise ConfigError(f"unknown renderer {self.renderer!r}; choose auto, mujoco or raycast")
        camera_preset(self.camera)
        scene_style(self.style)


@dataclass
class RenderJobResult:
    out_dir: Path
    views_written: int = 0
    views_skipped: int = 0
    repaired: dict = field(default_factory=dict)        # meshes repaired on loading, and how
    objects_ok: list[str] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)
    contact_sheet: Path | None = None
    renderer: str = ""


def view_stem(out_dir: Path, key: str, view: int) -> Path:
    return out_dir / "views" / key / f"v{view:03d}"


def _render_view(renderer, obj, poses, spec: ObjectSpec, view: int, config: RenderJobConfig, stem: Path) -> None:
    rng = derive_rng(config.seed, "view", spec.key, view)
    probs = np.array([p.probability for p in poses])
    pose = poses[int(rng.choice(len(poses), p=probs / probs.sum()))]
    scene = sample_scene(obj, pose, camera_preset(config.camera), rng, scene_style(config.style))
    obs = renderer.render(scene)
    noisy = apply_depth_noise(obs.depth_m, config.noise, rng)
    write_png(f"{stem}_rgb.png", obs.rgb)
    write_depth_tiff(f"{stem}_depth.tiff", noisy)
    write_depth_tiff(f"{stem}_depth_perfect.tiff", obs.depth_m)
    write_png(f"{stem}_mask.png", obs.mask)
    atomic_write_json(f"{stem}_camera.json", {
        "object": {"key": spec.key, "family": obj.family, "source": obj.source, "mesh_hash": obj.hash},
        "pose": {"index": pose.index, "probability": pose.probability},
        "intrinsics": scene.intrinsics.to_dict(),
        "T_world_camera": scene.T_world_camera.to_dict(),
        "T_world_obj": scene.T_world_obj.to_dict(),
        "appearance": asdict(scene.appearance),
        **({"style": config.style, "decor": scene.decor.to_dict() if scene.decor else None}
           if config.style != "plain" else {}),
        "renderer": renderer.name,
        "depth_units": "m",
        "files": {"rgb": f"{stem.name}_rgb.png", "depth": f"{stem.name}_depth.tiff",
                  "depth_perfect": f"{stem.name}_depth_perfect.tiff", "mask": f"{stem.name}_mask.png"},
    })


def _contact_sheet(out_dir: Path, keys: list[str], config: RenderJobConfig) -> Path | None:
    rows = []
    for view in range(config.views):          # first view of every object, then the second, ...
        for key in keys:
            stem = view_stem(out_dir, key, view)
            if len(rows) >= config.contact_sheet_views:
                break
            if Path(f"{stem}_camera.json").is_file():
                rows.append({"title": f"{key} v{view}", "rgb": read_rgb(f"{stem}_rgb.png"),
                             "depth_m": read_depth_m(f"{stem}_depth.tiff", units="m"),
                             "mask": read_mask(f"{stem}_mask.png")})
    if not rows:
        return None
    return save_contact_sheet(rows, out_dir / "contact_sheet.png",
                              title=f"grasplab render — {config.objects}, seed {config.seed} (noisy depth; cropped around the object)")


def run_render_job(config: RenderJobConfig, out_dir: str | Path, show_progress: bool = True) -> RenderJobResult:
    out_dir = Path(out_dir)
    specs = parse_object_source(config.objects, config.seed, config.mesh_scale)
    out_dir.mkdir(parents=True, exist_ok=True)
    check_or_write_run_config(out_dir, CONFIG_FILE, config, "render")
    result = RenderJobResult(out_dir)
    renderer = make_renderer(config.renderer)
    result.renderer = renderer.name
    columns = [TextColumn("[bold]render[/] {task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("views"), TimeRemainingColumn()]
    with renderer, Progress(*columns, disable=not show_progress, transient=False) as progress:
        task = progress.add_task("", total=len(specs) * config.views)
        for spec in specs:
            progress.update(task, description=spec.key)
            todo = [v for v in range(config.views) if not Path(f"{view_stem(out_dir, spec.key, v)}_camera.json").is_file()]
            result.views_skipped += config.views - len(todo)
            if not todo:
                result.objects_ok.append(spec.key)
                progress.advance(task, config.views)
                continue
            progress.advance(task, config.views - len(todo))
            try:
                obj = spec.build()
                poses = compute_stable_poses(obj, config.min_pose_probability)
            except (MeshError, StablePoseError) as e:
                result.failures[spec.key] = str(e)
                progress.console.print(f"[yellow]skipped[/] {spec.key}: {e}")
                progress.advance(task, len(todo))
                continue
            if obj.notes:
                result.repaired[spec.key] = list(obj.notes)
            for view in todo:
                _render_view(renderer, obj, poses, spec, view, config, view_stem(out_dir, spec.key, view))
                result.views_written += 1
                progress.advance(task)
            result.objects_ok.append(spec.key)
    atomic_write_json(out_dir / "objects.json", {"ok": result.objects_ok, "failures": result.failures,
                                                 "repaired": result.repaired})
    result.contact_sheet = _contact_sheet(out_dir, result.objects_ok, config)
    if not result.objects_ok:
        raise GrasplabError(f"no object could be rendered ({len(result.failures)} failed); see {out_dir / 'objects.json'}")
    return result


def preview_objects(family: str, count: int, seed: int, out_path: str | Path, renderer_name: str = "auto",
                    size_px: int = 320) -> Path:
    """Render ``count`` objects of ``family`` (or ``all``) resting in their likeliest pose."""
    from ..objects import FAMILIES
    families = list(FAMILIES) if family == "all" else [family]
    if family != "all" and family not in FAMILIES:
        raise ConfigError(f"unknown object family {family!r}; choose from all, {', '.join(FAMILIES)}")
    if count <= 0:
        raise ConfigError("--count must be positive")
    images = []
    with make_renderer(renderer_name) as renderer:
        for i in range(count):
            fam = families[i % len(families)]
            obj = make_procedural_object(fam, derive_int_seed(seed, "preview", i))
            pose = compute_stable_poses(obj)[0]
            T_world_obj = pose.placed()
            centre = T_world_obj.apply(np.zeros(3))
            dist = 2.2 * float(np.linalg.norm(obj.extents_m)) + 0.05
            eye = centre + dist * np.array([0.55, -0.55, 0.63])
            T_wc = RigidTransform.look_at(eye, centre, up_hint=(0, 0, 1), from_frame="camera", to_frame="world")
            intr = CameraIntrinsics(1.1 * size_px, 1.1 * size_px, (size_px - 1) / 2, (size_px - 1) / 2, size_px, size_px)
            app = Appearance(object_rgb=(0.85, 0.45, 0.2), table_rgb=(0.75, 0.75, 0.72), light_dir=(-0.3, 0.4, -0.85))
            obs = renderer.render(Scene(obj, T_world_obj, intr, T_wc, app), modalities=("rgb",))
            e = obj.extents_m * 100
            images.append((f"{obj.name}\n{e[0]:.1f}×{e[1]:.1f}×{e[2]:.1f} cm, {obj.mass_kg * 1000:.0f} g", obs.rgb))
    return save_image_grid(images, out_path, title=f"grasplab procedural objects: {family} (seed {seed})")
