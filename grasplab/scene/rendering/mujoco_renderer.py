"""MuJoCo offscreen rendering (EGL headless by default; OSMesa where MUJOCO_GL=osmesa).

One MuJoCo model is compiled per object and reused for every pose and view: the object
body, camera intrinsics/extrinsics, colours and light are edited in place between frames.
MuJoCo returns planar depth (distance along the optical axis), as grasplab uses.
"""
from __future__ import annotations

import os
from collections import OrderedDict
from typing import Iterable

import numpy as np
from scipy.spatial.transform import Rotation

from ...errors import RenderError
from ..scene import Observation, Scene
from ..styles import MAX_DISTRACTORS
from .base import MODALITIES, Renderer, check_modalities, finish_observation

from ..._gl import choose_gl_backend

choose_gl_backend()

# MuJoCo cameras look along −z with y up; OpenCV cameras look along +z with y down.
_CV_TO_MJ = np.diag([1.0, -1.0, -1.0])
_PIXEL_PITCH_M = 1e-5            # any sensor pitch works: only ratios enter the projection
_ZNEAR_M, _ZFAR_M = 0.01, 20.0


def configure_camera(model, cam_id: int, intr, T_world_camera) -> None:
    """Point a MuJoCo camera of ``model`` like an OpenCV pinhole camera (intrinsics in pixels,
    pose ``T_world_camera``); MuJoCo then renders planar depth as grasplab uses it."""
    model.cam_pos[cam_id] = T_world_camera.translation_m
    model.cam_quat[cam_id] = Rotation.from_matrix(T_world_camera.rotation @ _CV_TO_MJ).as_quat(scalar_first=True)
    p = _PIXEL_PITCH_M
    model.cam_resolution[cam_id] = (intr.width, intr.height)
    model.cam_sensorsize[cam_id] = (intr.width * p, intr.height * p)
    # MuJoCo's principal offset is measured from the image centre, opposite to OpenCV's axes
    ppx = (intr.width - 1) / 2.0 - intr.cx
    ppy = (intr.height - 1) / 2.0 - intr.cy
    model.cam_intrinsic[cam_id] = (intr.fx * p, intr.fy * p, ppx * p, ppy * p)


def _mesh_xml(vertices: np.ndarray, faces: np.ndarray) -> str:
    v = " ".join(f"{x:.9g}" for x in np.asarray(vertices, dtype=np.float64).ravel())
    f = " ".join(str(int(i)) for i in np.asarray(faces).ravel())
    return f'<mesh name="object" vertex="{v}" face="{f}" inertia="exact"/>'


# a style's distractors: primitives whose type, size, pose and colour are set per frame; unused
# ones are transparent (MuJoCo draws no geom with alpha 0) and parked far below the table
_PARKED = (0.0, 0.0, -100.0)
_DISTRACTOR_XML = "\n    ".join(
    f'<geom name="distractor{i}" type="box" size="0.01 0.01 0.01" pos="{_PARKED[0]} {_PARKED[1]} {_PARKED[2]}" '
    f'rgba="0 0 0 0" contype="0" conaffinity="0"/>' for i in range(MAX_DISTRACTORS))
_GEOM_TYPES = {"box": 6, "cylinder": 5, "ellipsoid": 4}     # mjtGeom


def _model_xml(scene: Scene, max_w: int, max_h: int) -> str:
    return f"""<mujoco model="grasplab_scene">
  <compiler boundmass="1e-6" boundinertia="1e-12"/>
  <visual>
    <global offwidth="{max_w}" offheight="{max_h}"/>
    <quality shadowsize="0" offsamples="0"/>
    <map znear="{_ZNEAR_M}" zfar="{_ZFAR_M}"/>
    <headlight ambient="0 0 0" diffuse="0 0 0" specular="0 0 0"/>
  </visual>
  <statistic extent="1" center="0 0 0"/>
  <asset>{_mesh_xml(scene.obj.mesh.vertices, scene.obj.mesh.faces)}</asset>
  <worldbody>
    <light name="key" directional="true" dir="0 0 -1" diffuse="0.7 0.7 0.7" ambient="0.3 0.3 0.3"
           specular="0 0 0" castshadow="false"/>
    <geom name="table" type="plane" size="0 0 0.05" rgba="0.6 0.6 0.6 1" contype="0" conaffinity="0"/>
    <body name="object"><geom name="object" type="mesh" mesh="object" contype="0" conaffinity="0"/></body>
    {_DISTRACTOR_XML}
    <camera name="cam" pos="0 0 1" resolution="64 64" focalpixel="64 64" principalpixel="0 0"
            sensorsize="{64 * _PIXEL_PITCH_M} {64 * _PIXEL_PITCH_M}"/>
  </worldbody>
</mujoco>"""


class _Compiled:
    """A compiled model for one object with its GPU-side context and scene."""

    def __init__(self, mujoco, xml: str):
        self.mj = mujoco
        self.model = mujoco.MjModel.from_xml_string(xml)
        self.data = mujoco.MjData(self.model)
        m = self.model
        self.body_id = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_BODY, "object")
        self.geom_id = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_GEOM, "object")
        self.table_id = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_GEOM, "table")
        self.cam_id = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_CAMERA, "cam")
        self.distractor_ids = [mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_GEOM, f"distractor{i}")
                               for i in range(MAX_DISTRACTORS)]
        self.ctx = mujoco.MjrContext(m, mujoco.mjtFontScale.mjFONTSCALE_100)
        mujoco.mjr_setBuffer(mujoco.mjtFramebuffer.mjFB_OFFSCREEN, self.ctx)
        self.ctx.readDepthMap = mujoco.mjtDepthMap.mjDEPTH_ZEROFAR   # reversed Z: precise far away
        self.scene = mujoco.MjvScene(m, maxgeom=16)
        self.option = mujoco.MjvOption()
        self.camera = mujoco.MjvCamera()
        self.camera.type = mujoco.mjtCamera.mjCAMERA_FIXED
        self.camera.fixedcamid = self.cam_id
        # reverse-Z depth buffer → metric planar depth: z = d / (buffer + c) (see glFrustum)
        near = np.float64(m.vis.map.znear * m.stat.extent)
        far = np.float64(m.vis.map.zfar * m.stat.extent)
        c = -(far + near) / (far - near)
        d = -(2.0 * far * near) / (far - near)
        self.depth_c = np.float32(-0.5 * c - 0.5)
        self.depth_d = np.float32(-0.5 * d)

    def close(self):
        self.ctx.free()


class MujocoRenderer(Renderer):
    name = "mujoco"

    def __init__(self, max_width: int = 1280, max_height: int = 1024, cache_size: int = 16):
        try:
            import mujoco
        except ImportError as e:
            raise RenderError(f"MuJoCo is not installed ({e}); pip install mujoco or use --renderer raycast") from None
        self._mj = mujoco
        self.max_w, self.max_h = max_width, max_height
        self._cache: OrderedDict[str, _Compiled] = OrderedDict()
        self._cache_size = cache_size
        try:
            self._gl = mujoco.GLContext(max_width, max_height)
            self._gl.make_current()
            probe = mujoco.MjModel.from_xml_string("<mujoco><worldbody><geom size='1'/></worldbody></mujoco>")
            mujoco.MjrContext(probe, mujoco.mjtFontScale.mjFONTSCALE_100).free()
        except Exception as e:  # GL errors surface as several types
            backend = os.environ.get("MUJOCO_GL", "")
            raise RenderError(f"cannot create a MuJoCo GL context with MUJOCO_GL={backend!r} ({e}); "
                              "install Mesa EGL (libegl1) or set MUJOCO_GL=osmesa with libosmesa6, "
                              "or use --renderer raycast") from None

    def _compiled(self, scene: Scene) -> _Compiled:
        key = scene.obj.hash
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        comp = _Compiled(self._mj, _model_xml(scene, self.max_w, self.max_h))
        self._cache[key] = comp
        if len(self._cache) > self._cache_size:
            _, old = self._cache.popitem(last=False)
            old.close()
        return comp

    def _configure(self, comp: _Compiled, scene: Scene) -> None:
        m, d, mj = comp.model, comp.data, self._mj
        intr = scene.intrinsics
        if intr.width > self.max_w or intr.height > self.max_h:
            raise RenderError(f"image {intr.width}×{intr.height} exceeds the renderer's "
                              f"{self.max_w}×{self.max_h}; create MujocoRenderer(max_width=..., max_height=...)")
        m.body_pos[comp.body_id] = scene.T_world_obj.translation_m
        m.body_quat[comp.body_id] = scene.T_world_obj.quaternion_wxyz
        configure_camera(m, comp.cam_id, intr, scene.T_world_camera)
        a = scene.appearance
        m.geom_rgba[comp.geom_id] = (*a.object_rgb, 1.0)
        m.geom_rgba[comp.table_id] = (*a.table_rgb, 1.0)
        m.light_dir[0] = a.light_dir
        m.light_diffuse[0] = np.multiply(a.diffuse, a.light_rgb)
        m.light_ambient[0] = np.multiply(a.ambient, a.light_rgb)
        distractors = scene.decor.distractors if scene.decor is not None else ()
        for i, gid in enumerate(comp.distractor_ids):
            if i < len(distractors):
                dis = distractors[i]
                m.geom_type[gid] = _GEOM_TYPES[dis.kind]
                m.geom_size[gid] = (list(dis.size_m) + [0.0, 0.0])[:3]
                m.geom_pos[gid] = dis.position_m
                m.geom_quat[gid] = dis.quat_wxyz
                m.geom_rgba[gid] = (*dis.rgb, 1.0)
                m.geom_rbound[gid] = float(np.linalg.norm(dis.size_m)) * 2
            else:
                m.geom_pos[gid] = _PARKED
                m.geom_rgba[gid] = (0.0, 0.0, 0.0, 0.0)
        mj.mj_kinematics(m, d)
        mj.mj_camlight(m, d)
        mj.mjv_updateScene(m, d, comp.option, None, comp.camera, mj.mjtCatBit.mjCAT_ALL, comp.scene)

    def render(self, scene: Scene, modalities: Iterable[str] = MODALITIES) -> Observation:
        mods = check_modalities(modalities)
        textured = scene.decor is not None and scene.decor.texture is not None and "rgb" in mods
        mj = self._mj
        self._gl.make_current()
        comp = self._compiled(scene)
        self._configure(comp, scene)
        h, w = scene.intrinsics.shape
        rect = mj.MjrRect(0, 0, w, h)
        mj.mjr_setBuffer(mj.mjtFramebuffer.mjFB_OFFSCREEN, comp.ctx)   # each model has its own buffers
        flags = comp.scene.flags
        depth = mask = rgb = None
        if "depth" in mods or "mask" in mods or textured:
            # one flat-shaded pass gives depth and segmentation ids together
            flags[mj.mjtRndFlag.mjRND_SEGMENT] = 1
            flags[mj.mjtRndFlag.mjRND_IDCOLOR] = 1
            mj.mjr_render(rect, comp.scene, comp.ctx)
            flags[mj.mjtRndFlag.mjRND_SEGMENT] = 0
            flags[mj.mjtRndFlag.mjRND_IDCOLOR] = 0
            zbuf = np.empty((h, w), dtype=np.float32)
            ids = np.empty((h, w, 3), dtype=np.uint8) if "mask" in mods else None
            mj.mjr_readPixels(ids, zbuf, rect, comp.ctx)
            np.add(zbuf, comp.depth_c, out=zbuf)
            np.divide(comp.depth_d, zbuf, out=zbuf)
            depth = zbuf[::-1]                      # GL rows run bottom-up
            if ids is not None:
                segid = self._object_segid(comp)
                # IDCOLOR encodes segid + 1 in the red channel (and higher bytes; scenes are tiny)
                mask = (ids[::-1, :, 0] == (segid + 1) & 0xFF) & (ids[::-1, :, 1] == ((segid + 1) >> 8) & 0xFF)
        if "rgb" in mods:
            mj.mjr_render(rect, comp.scene, comp.ctx)
            buf = np.empty((h, w, 3), dtype=np.uint8)
            mj.mjr_readPixels(buf, None, rect, comp.ctx)
            rgb = buf[::-1]
        return finish_observation(scene, Observation(depth, rgb, mask, scene.intrinsics, scene.T_world_camera), mods)

    def _object_segid(self, comp: _Compiled) -> int:
        for i in range(comp.scene.ngeom):
            g = comp.scene.geoms[i]
            if g.objtype == int(self._mj.mjtObj.mjOBJ_GEOM) and g.objid == comp.geom_id:
                return int(g.segid)
        return -2  # object not in the scene (cannot happen for a compiled object model)

    def close(self) -> None:
        for comp in self._cache.values():
            comp.close()
        self._cache.clear()
        if getattr(self, "_gl", None) is not None:
            self._gl.free()
            self._gl = None
