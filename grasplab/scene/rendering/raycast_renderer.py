"""Ray-cast rendering with trimesh (+ embreex when installed): no GL needed.

Rays are cast in the object frame, so the acceleration structure is built once per
object and reused for every pose and view; the table is intersected analytically.
"""
from __future__ import annotations

from typing import Iterable

import numpy as np

from ..scene import Observation, Scene
from ...errors import RenderError
from .base import MODALITIES, Renderer, check_modalities, finish_observation


class RaycastRenderer(Renderer):
    name = "raycast"

    def render(self, scene: Scene, modalities: Iterable[str] = MODALITIES) -> Observation:
        mods = check_modalities(modalities)
        if scene.decor is not None and scene.decor.distractors:
            raise RenderError("distractor objects need the MuJoCo renderer (--renderer mujoco); the ray caster "
                              "draws one object")
        intr = scene.intrinsics
        T_wc = scene.T_world_camera
        T_ow = scene.T_world_obj.inverse()
        T_oc = T_ow @ T_wc                               # camera → object frame
        dirs_c = intr.ray_directions().reshape(-1, 3)    # z = 1: hit distance along ray = planar depth
        dirs_o = T_oc.apply_direction(dirs_c)
        origin_o = np.broadcast_to(T_oc.translation_m, dirs_o.shape)
        mesh = scene.obj.mesh
        locs, ray_idx, tri_idx = mesh.ray.intersects_location(origin_o, dirs_o, multiple_hits=False)
        n = dirs_c.shape[0]
        z_obj = np.full(n, np.inf)
        # planar depth of the hit = component of (hit − origin) along the optical axis (object frame)
        axis_o = T_oc.apply_direction(np.array([0.0, 0.0, 1.0]))
        z_obj[ray_idx] = (locs - T_oc.translation_m) @ axis_o
        # infinite table plane z_world = 0: camera centre c, ray d (world) → t = −c_z / d_z
        dirs_w = T_wc.apply_direction(dirs_c)
        with np.errstate(divide="ignore", invalid="ignore"):
            t_table = -T_wc.translation_m[2] / dirs_w[:, 2]
        t_table = np.where(t_table > 0, t_table, np.inf)
        is_obj = z_obj < t_table
        depth = np.where(is_obj, z_obj, t_table)
        depth = np.where(np.isfinite(depth), depth, 0.0).astype(np.float32).reshape(intr.shape)
        mask = is_obj.reshape(intr.shape) if "mask" in mods else None
        rgb = None
        if "rgb" in mods:
            a = scene.appearance
            light = -np.asarray(a.light_dir, dtype=np.float64)
            light /= np.linalg.norm(light)
            shade = np.full(n, a.ambient + a.diffuse * max(light[2], 0.0))
            tint = np.asarray(a.light_rgb, dtype=np.float64)
            colour = np.tile(np.asarray(a.table_rgb), (n, 1))
            hit_rays = ray_idx[is_obj[ray_idx]]
            hit_tris = tri_idx[is_obj[ray_idx]]
            normals_w = scene.T_world_obj.apply_direction(mesh.face_normals[hit_tris])
            shade[hit_rays] = a.ambient + a.diffuse * np.clip(normals_w @ light, 0.0, None)
            colour[hit_rays] = a.object_rgb
            rgb = (np.clip(colour * shade[:, None] * tint, 0, 1) * 255).astype(np.uint8).reshape(*intr.shape, 3)
        return finish_observation(scene, Observation(depth, rgb, mask, intr, T_wc), mods)
