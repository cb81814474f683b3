"""One work unit of dataset synthesis: one stable pose of one object (the pose of that rank
among the object's likeliest) → antipodal candidates → collision and robust quality labels →
rendered views → GQ-CNN datapoints and Jacquard scenes.

A unit's randomness comes only from (global seed, object key, pose, ...), so its output does
not depend on which worker runs it or when. It writes its Jacquard views and then one
``units/<object>__p<rank>.npz`` (all its GQ-CNN datapoints) atomically; that file marks it
finished. An object with fewer poses than the rank writes an empty unit.
"""
from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..datasets.jacquard_layout import write_jacquard_view
from ..errors import GrasplabError, MeshError, StablePoseError
from ..geometry import Grasp2D, segment_angle_rad
from ..grasps import AntipodalConfig, CollisionChecker, CollisionConfig, load_gripper, sample_antipodal_grasps
from ..imaging.crops import rotated_crops
from ..objects import ObjectSpec
from ..presets import published
from ..quality import QualityConfig, QualityLabels, robust_quality
from ..scene import DepthNoiseConfig, apply_depth_noise, camera_preset, compute_stable_poses, sample_scene
from ..scene.styles import scene_style
from ..seeding import derive_int_seed, derive_rng
from ..storage import atomic_write_bytes

FORMATS = ("gqcnn", "jacquard")
MAX_HEAP_OBJECTS = 20


_DEXNET2 = published("synth")                 # the published recipe (grasplab/presets/dexnet2.json)

@dataclass(frozen=True)
class SynthConfig:
    objects: str = "procedural:8"
    seed: int = 0
    formats: tuple[str, ...] = FORMATS
    views_per_pose: int = 2
    max_poses: int = 3                       # likeliest stable poses per object
    min_pose_probability: float = 0.02
    grasps_per_object: int = 100             # candidates per object, shared among its poses
    gripper: str = _DEXNET2["gripper"]
    camera: str = _DEXNET2["camera"]
    renderer: str = "auto"
    mesh_scale: float = 1.0
    crop_px: int = _DEXNET2["crop_px"]
    crop_out_px: int = _DEXNET2["crop_out_px"]
    datapoints_per_file: int = 1000
    train_fraction: float = 0.8
    heaps: int = 0                           # clutter heaps (``heap_units``), besides or instead of singles
    heap_objects: tuple[int, int] = (1, 10)  # objects per heap, drawn uniformly from this range
    singles: bool = True                     # single objects in their stable poses
    style: str = "plain"                     # scene style (``grasplab.scene.styles``): textures, distractors, light
    labels: bool = True                      # False: render the views only (unlabelled frames, no grasps)
    noise: DepthNoiseConfig = field(default_factory=DepthNoiseConfig)
    antipodal: AntipodalConfig = field(default_factory=AntipodalConfig)
    quality: QualityConfig = field(default_factory=QualityConfig)
    collision: CollisionConfig = field(default_factory=CollisionConfig)

    def __post_init__(self):
        from ..errors import ConfigError
        bad = [f for f in self.formats if f not in FORMATS]
        if bad or not self.formats:
            raise ConfigError(f"unknown dataset formats {bad}; choose from {', '.join(FORMATS)}")
        for option, v in (("--views-per-pose", self.views_per_pose), ("--max-poses", self.max_poses),
                          ("--grasps", self.grasps_per_object)):
            if v <= 0:
                raise ConfigError(f"{option} {v}: must be a positive number")
        if not (np.isfinite(self.mesh_scale) and self.mesh_scale > 0):
            raise ConfigError(f"--scale {self.mesh_scale}: mesh scale must be a positive number (0.001 for meshes in mm)")
        if self.renderer not in ("auto", "mujoco", "raycast"):
            raise ConfigError(f"unknown renderer {self.renderer!r}; choose auto, mujoco or raycast")
        if not 0 < self.train_fraction < 1:
            raise ConfigError("train fraction must lie strictly between 0 and 1")
        lo, hi = self.heap_objects
        if self.heaps < 0 or not 1 <= lo <= hi <= MAX_HEAP_OBJECTS:
            raise ConfigError(f"--heaps {self.heaps} --heap-objects {lo}-{hi}: give a number of heaps ≥ 0 and 1 ≤ "
                              f"min ≤ max ≤ {MAX_HEAP_OBJECTS} objects per heap")
        if not self.singles and not self.heaps:
            raise ConfigError("nothing to make: --no-singles needs --heaps N (N > 0)")
        scene_style(self.style)
        if self.heaps and self.style != "plain":
            raise ConfigError(f"--style {self.style} applies to single objects; heaps are rendered plain (drop --style "
                              "or --heaps)")
        if not self.labels and ("gqcnn" in self.formats or self.heaps):
            raise ConfigError("--no-labels renders unlabelled Jacquard-layout frames of single objects: use "
                              "--format jacquard and no --heaps")
        load_gripper(self.gripper)
        camera_preset(self.camera)

    @classmethod
    def from_preset(cls, preset: str | None = None, **overrides) -> "SynthConfig":
        """The defaults (Dex-Net 2.0's recipe), then a named preset's ``synth`` section
        (``grasplab.presets``), then ``overrides`` (``None`` values are ignored; nested configs
        such as ``quality`` take dicts)."""
        from ..presets import configure
        return configure(cls, preset, "synth", **overrides)


@dataclass
class UnitResult:
    key: str                 # the object's key
    pose_rank: int = 0
    datapoints: int = 0
    positives: int = 0
    views: int = 0
    error: str = ""
    note: str = ""           # e.g. no antipodal grasp fits the gripper in this pose
    repairs: list = field(default_factory=list)     # what loading the mesh repaired (``GraspObject.notes``)


def unit_key(object_key: str, pose_rank: int) -> str:
    return f"{object_key}__p{pose_rank}"


def unit_path(out_dir: Path, key: str) -> Path:
    return out_dir / "units" / f"{key}.npz"


def project_grasps(grasps_world, intrinsics, T_camera_world, jaw_m: float):
    """Image grasps (centre px, angle, width px, depth m, jaw px) for 3-D grasps in the world."""
    g = grasps_world.transformed(T_camera_world)
    z = g.centers_m[:, 2]
    ends = np.stack([g.centers_m - g.axes * g.widths_m[:, None] / 2, g.centers_m + g.axes * g.widths_m[:, None] / 2], 1)
    ok = (z > 0) & np.all(ends[..., 2] > 0, axis=1)
    safe = np.where(ok[:, None], g.centers_m, [0.0, 0.0, 1.0])
    c_px = intrinsics.project(safe)
    e_px = intrinsics.project(np.where(ok[:, None, None], ends, [0.0, 0.0, 1.0]))
    d = e_px[:, 1] - e_px[:, 0]
    angle = segment_angle_rad(e_px[:, 0], e_px[:, 1])
    width_px = np.linalg.norm(d, axis=1)
    jaw_px = jaw_m * intrinsics.fx / np.where(ok, z, 1.0)
    inside = ok & (c_px[:, 0] >= 0) & (c_px[:, 0] <= intrinsics.width - 1) & (c_px[:, 1] >= 0) & \
        (c_px[:, 1] <= intrinsics.height - 1)
    return c_px, angle, width_px, z, jaw_px, inside


def empty_fields() -> dict[str, list]:
    return {k: [] for k in ("depth_ims_tf_table", "hand_poses", "robust_ferrari_canny", "ferrari_canny",
                            "force_closure", "collision_free", "obj_labels", "pose_labels", "image_labels",
                            "camera_intrs", "camera_poses")}


def process_unit(spec: ObjectSpec, obj_index: int, pose_rank: int, cfg: SynthConfig, out_dir: Path,
                 renderer, label_cache: Path | None = None) -> UnitResult:
    """Run one object pose end to end and write its outputs; bad objects are reported, not raised.
    ``label_cache``: a folder of grasp labels shared by syntheses of the same objects
    (``synth.label_cache``), read where it holds this pose's and written where it does not."""
    res = UnitResult(spec.key, pose_rank)
    try:
        obj = spec.build()
        res.repairs = list(obj.notes)
        all_poses = compute_stable_poses(obj, cfg.min_pose_probability)[:cfg.max_poses]
    except (MeshError, StablePoseError) as e:
        res.error = str(e)
        return res
    poses = all_poses[pose_rank:pose_rank + 1]
    gripper = load_gripper(cfg.gripper)
    camera = camera_preset(cfg.camera)
    per_pose = max(1, math.ceil(cfg.grasps_per_object / len(all_poses)))
    antipodal = AntipodalConfig(**{**cfg.antipodal.__dict__, "max_grasps": per_pose})
    fields = empty_fields()
    thr = cfg.quality.positive_threshold
    style = scene_style(cfg.style)
    for pose in poses:
        if not cfg.labels:
            _render_unlabelled(obj, spec, obj_index, pose, cfg, camera, style, renderer, out_dir, res)
            continue
        grasps, collision_free, labels = _pose_labels(obj, spec, pose, cfg, gripper, antipodal, label_cache)
        if len(grasps) == 0:
            res.note = (f"no antipodal grasp fits the {gripper.name} gripper (opening {gripper.max_width_m * 100:.1f} cm) "
                        f"in stable pose {pose.index}")
            continue
        robust = labels.robust_ferrari_canny * collision_free
        for v in range(cfg.views_per_pose):
            rng = derive_rng(cfg.seed, "view", spec.key, pose.index, v)
            scene = sample_scene(obj, pose, camera, rng, style)
            obs = renderer.render(scene)
            noisy = apply_depth_noise(obs.depth_m, cfg.noise, rng)
            T_world_table = scene.T_world_obj @ pose.T_table_obj.inverse()
            g_world = grasps.transformed(T_world_table)
            intr = scene.intrinsics
            c_px, angle, width_px, depth, jaw_px, inside = project_grasps(
                g_world, intr, scene.T_camera_world, gripper.finger_width_m)
            view_id = obj_index * 100_000 + pose.index * 1000 + v
            idx = np.flatnonzero(inside)
            res.views += 1
            if "jacquard" in cfg.formats:
                positives = [Grasp2D(tuple(c_px[i]), angle[i], width_px[i], jaw_px[i], depth[i])
                             for i in idx if robust[i] > thr]
                sidecar = {
                    "object": {"key": spec.key, "index": obj_index, "family": obj.family, "source": obj.source},
                    "pose": {"index": pose.index, "probability": pose.probability},
                    "intrinsics": intr.to_dict(), "T_world_camera": scene.T_world_camera.to_dict(),
                    "T_world_obj": scene.T_world_obj.to_dict(), "gripper": gripper.to_dict(),
                    "positive_threshold": thr, **_style_record(cfg, scene),
                    "candidates": [{
                        "center_xy_px": c_px[i].round(3).tolist(), "angle_rad": float(angle[i]),
                        "width_px": float(width_px[i]), "jaw_px": float(jaw_px[i]), "depth_m": float(depth[i]),
                        "center_world_m": g_world.centers_m[i].round(6).tolist(),
                        "axis_world": g_world.axes[i].round(6).tolist(), "width_m": float(grasps.widths_m[i]),
                        "ferrari_canny": float(labels.ferrari_canny[i]),
                        "robust_ferrari_canny": float(labels.robust_ferrari_canny[i]),
                        "p_force_closure": float(labels.p_force_closure[i]),
                        "collision_free": bool(collision_free[i]), "positive": bool(robust[i] > thr)}
                        for i in idx],
                }
                write_jacquard_view(out_dir / "jacquard", view_id, spec.key, obs.rgb, obs.depth_m, noisy, obs.mask,
                                    positives, sidecar)
            if "gqcnn" in cfg.formats and idx.size:
                append_datapoints(fields, cfg, noisy, intr, scene.T_world_camera, idx, c_px, angle, width_px, depth,
                                  robust=robust, epsilon=labels.ferrari_canny, p_force_closure=labels.p_force_closure,
                                  collision_free=collision_free, obj_labels=np.full(idx.size, obj_index),
                                  pose_label=obj_index * 1000 + pose.index, view_id=view_id)
            res.positives += int(np.sum(robust[idx] > thr))
            res.datapoints += int(idx.size)
    write_unit(out_dir, res, fields, unit_key(spec.key, pose_rank))
    return res


def _pose_labels(obj, spec: ObjectSpec, pose, cfg: SynthConfig, gripper, antipodal: AntipodalConfig,
                 label_cache: Path | None):
    """(grasps, collision_free, quality labels) of one stable pose, in the table frame: from the
    label cache when it holds them, else sampled, collision-checked and labelled."""
    from .label_cache import label_key, load_labels, store_labels
    mesh_t = obj.mesh.copy()
    mesh_t.apply_transform(pose.T_table_obj.matrix)
    com_t = pose.T_table_obj.apply(obj.center_of_mass_m)
    key = None
    if label_cache is not None:
        key = label_key(cfg.seed, spec.key, pose.index, mesh_t, com_t, gripper, antipodal, cfg.collision, cfg.quality)
        cached = load_labels(label_cache, key)
        if cached is not None:
            return cached
    grasps = sample_antipodal_grasps(mesh_t, gripper, antipodal, derive_rng(cfg.seed, "grasps", spec.key, pose.index))
    if len(grasps) == 0:
        labels = QualityLabels(*(np.zeros(0) for _ in range(3)))
        collision_free = np.zeros(0, dtype=bool)
    else:
        collides = CollisionChecker(mesh_t, gripper, cfg.collision,
                                    seed=derive_int_seed(cfg.seed, "collision", spec.key, pose.index)).collides(grasps)
        labels = robust_quality(mesh_t, com_t, grasps, gripper.max_width_m, cfg.quality,
                                derive_rng(cfg.seed, "quality", spec.key, pose.index))
        collision_free = ~collides
    if key is not None:
        store_labels(label_cache, key, grasps, collision_free, labels)
    return grasps, collision_free, labels


def _style_record(cfg: SynthConfig, scene) -> dict:
    """The sidecar's record of a view's style (nothing for plain views, as before styles)."""
    if cfg.style == "plain":
        return {}
    return {"style": cfg.style, "decor": scene.decor.to_dict() if scene.decor is not None else None}


def _render_unlabelled(obj, spec: ObjectSpec, obj_index: int, pose, cfg: SynthConfig, camera, style, renderer,
                       out_dir: Path, res: UnitResult) -> None:
    """A pose's views without grasps (``labels=False``): frames for semi-supervised learning, drawn
    from the same random states as labelled views (same object pose, camera and noise)."""
    for v in range(cfg.views_per_pose):
        rng = derive_rng(cfg.seed, "view", spec.key, pose.index, v)
        scene = sample_scene(obj, pose, camera, rng, style)
        obs = renderer.render(scene)
        noisy = apply_depth_noise(obs.depth_m, cfg.noise, rng)
        sidecar = {"object": {"key": spec.key, "index": obj_index, "family": obj.family, "source": obj.source},
                   "pose": {"index": pose.index, "probability": pose.probability},
                   "intrinsics": scene.intrinsics.to_dict(), "T_world_camera": scene.T_world_camera.to_dict(),
                   "T_world_obj": scene.T_world_obj.to_dict(), "labelled": False, **_style_record(cfg, scene)}
        write_jacquard_view(out_dir / "jacquard", obj_index * 100_000 + pose.index * 1000 + v, spec.key, obs.rgb,
                            obs.depth_m, noisy, obs.mask, [], sidecar)
        res.views += 1


def append_datapoints(fields: dict[str, list], cfg: SynthConfig, noisy_depth_m: np.ndarray, intr, T_world_camera,
                      idx: np.ndarray, c_px: np.ndarray, angle: np.ndarray, width_px: np.ndarray, depth: np.ndarray, *,
                      robust: np.ndarray, epsilon: np.ndarray, p_force_closure: np.ndarray,
                      collision_free: np.ndarray, obj_labels: np.ndarray, pose_label: int, view_id: int) -> None:
    """One view's GQ-CNN datapoints (the grasps ``idx`` of the projected arrays; ``obj_labels``
    already per selected grasp) appended to a unit's ``fields``."""
    n = idx.size
    crops = rotated_crops(noisy_depth_m, c_px[idx], angle[idx], cfg.crop_px, cfg.crop_out_px)
    fields["depth_ims_tf_table"].append(crops[..., None])
    hp = np.c_[c_px[idx, 1], c_px[idx, 0], depth[idx], angle[idx], c_px[idx, 1] - intr.cy, c_px[idx, 0] - intr.cx,
               width_px[idx]]
    fields["hand_poses"].append(hp.astype(np.float32))
    fields["robust_ferrari_canny"].append(robust[idx].astype(np.float32))
    fields["ferrari_canny"].append(epsilon[idx].astype(np.float32))
    fields["force_closure"].append(p_force_closure[idx].astype(np.float32))
    fields["collision_free"].append(collision_free[idx].astype(np.uint8))
    fields["obj_labels"].append(np.asarray(obj_labels, np.int32))
    fields["pose_labels"].append(np.full(n, pose_label, np.int32))
    fields["image_labels"].append(np.full(n, view_id, np.int32))
    fields["camera_intrs"].append(np.tile(np.float32([intr.fx, intr.fy, intr.cx, intr.cy]), (n, 1)))
    T = T_world_camera
    fields["camera_poses"].append(np.tile(np.r_[T.translation_m, T.quaternion_wxyz].astype(np.float32), (n, 1)))


def write_unit(out_dir: Path, res: UnitResult, fields: dict[str, list], key: str | None = None) -> None:
    """Write a unit's datapoints and summary atomically (the file marks the unit finished)."""
    arrays = {k: (np.concatenate(v) if v else np.zeros((0,))) for k, v in fields.items()}
    buf = io.BytesIO()
    np.savez(buf, **arrays, summary=np.array(json.dumps(res.__dict__)))   # transient: speed over size
    atomic_write_bytes(unit_path(out_dir, key or res.key), buf.getvalue())


def load_unit(out_dir: Path, key: str) -> dict[str, np.ndarray]:
    path = unit_path(out_dir, key)
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files if k != "summary"}
    except (OSError, ValueError, KeyError) as e:
        raise GrasplabError(f"{path}: unreadable unit file ({e}); delete it and run again to redo that object") from None


def unit_summary(out_dir: Path, key: str) -> UnitResult:
    with np.load(unit_path(out_dir, key), allow_pickle=False) as z:
        return UnitResult(**json.loads(str(z["summary"])))
