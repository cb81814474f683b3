"""The MuJoCo world of a grasp trial: a table, one or more objects as their convex parts, and a
parallel-jaw gripper on a 6-DoF wrist.

The object bodies carry the exact mass and inertia of their mesh (uniform density, centre of mass
at the body origin); they collide through their coacd convex parts (``objects.decomposition``,
cached). The gripper follows ``grasps.gripper``'s geometry (the collision checker's boxes): a palm
and two fingers with pads, in the grasp frame (x the closing axis, z the approach, fingertips
``tip_below_center_m`` past the grasp centre). The wrist is a mocap body — driven in 6-DoF,
stiff as a robot arm — and each finger a slide joint with a position servo whose force is capped
at the gripper's ``grip_force_n``, so a closed finger presses with at most that force.

Friction: the pads have contact priority, so a finger–object contact uses the pads' coefficient
(the trial's draw from Dex-Net's truncated Gaussian) with soft-finger torsional friction
(``condim`` 4); object–table contacts use the larger of the table's and the object's, with rolling resistance so
that round objects come to rest as they do on a real table.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import SimulationError
from ..geometry import RigidTransform
from ..grasps import ParallelJawGripper
from ..objects import GraspObject
from ..objects.decomposition import convex_decomposition

TIMESTEP_S = 0.002
TABLE_FRICTION = 0.5
TABLE_ROLLING_FRICTION_M = 0.001   # rolling resistance (torque ≤ this × normal force): a round object comes to rest
FINGER_MASS_KG = 0.05
FINGER_KP_N_PER_M = 3000.0         # servo stiffness: 20 N needs ~7 mm of squeeze, reached in ~20 ms
FINGER_DAMPING_NS_PER_M = 10.0
TORSIONAL_FRICTION_M = 0.005       # soft-finger torsion: torque ≤ this × normal force (Dex-Net's 5 mm finger radius)
PARKED_HAND_M = (0.0, 0.0, 2.0)
HAND_MASS_KG = 1.0
MAX_IMAGE_PX = (1280, 1024)        # the largest camera image a trial world renders
WRIST_SOLREF_S = 0.005             # the weld's time constant: an arm that follows within milliseconds    # where the hand waits while objects settle


def _floats(values) -> str:
    return " ".join(f"{float(v):.9g}" for v in np.ravel(values))


def _object_xml(index: int, obj: GraspObject, T_world_obj: RigidTransform) -> tuple[str, str]:
    """(assets, body) for one object: its convex parts as meshes, exact mass and inertia."""
    parts = convex_decomposition(obj.mesh)
    assets = "".join(f'<mesh name="o{index}p{k}" vertex="{_floats(p.vertices)}" face="{" ".join(str(int(i)) for i in np.ravel(p.faces))}"/>'
                     for k, p in enumerate(parts))
    inertia = obj.inertia_kg_m2
    full = (inertia[0, 0], inertia[1, 1], inertia[2, 2], inertia[0, 1], inertia[0, 2], inertia[1, 2])
    geoms = "".join(f'<geom name="o{index}g{k}" type="mesh" mesh="o{index}p{k}" group="1" rgba="0.85 0.35 0.2 1"/>' for k in range(len(parts)))
    body = (f'<body name="object{index}" pos="{_floats(T_world_obj.translation_m)}" '
            f'quat="{_floats(T_world_obj.quaternion_wxyz)}"><freejoint name="object{index}"/>'
            f'<inertial pos="0 0 0" mass="{obj.mass_kg:.9g}" fullinertia="{_floats(full)}"/>{geoms}</body>')
    return assets, body


def _gripper_xml(gripper: ParallelJawGripper) -> tuple[str, str]:
    """(body, actuators) of the hand, in the grasp frame; the fingers start fully open."""
    g = gripper
    half_max = g.max_width_m / 2
    t, fw, fl, tip = g.finger_thickness_m, g.finger_width_m, g.finger_length_m, g.tip_below_center_m
    z_finger = tip - fl / 2                                     # finger box centre along the approach
    z_palm = tip - fl - g.palm_height_m / 2
    palm_half_x = half_max + t
    stroke = half_max                                           # each finger travels from open to the centre
    fingers = ""
    for side, sign in (("left", -1.0), ("right", 1.0)):
        # the finger body sits at the open position; its slide joint moves it towards the centre
        fingers += (f'<body name="finger_{side}" pos="{sign * (half_max + t / 2):.9g} 0 {z_finger:.9g}">'
                    f'<joint name="finger_{side}" type="slide" axis="{-sign:g} 0 0" range="0 {stroke:.9g}" '
                    f'damping="{FINGER_DAMPING_NS_PER_M}" armature="0.01"/>'
                    f'<geom name="pad_{side}" type="box" size="{t / 2:.9g} {fw / 2:.9g} {fl / 2:.9g}" '
                    f'mass="{FINGER_MASS_KG}" priority="1" condim="4" rgba="0.2 0.2 0.25 1"/></body>')
    # the hand is a free body welded to a mocap target: the arm's stiffness, with smooth velocities
    body = (f'<body name="hand_target" mocap="true" pos="{_floats(PARKED_HAND_M)}"/>'
            f'<body name="hand" pos="{_floats(PARKED_HAND_M)}" gravcomp="1"><freejoint name="hand"/>'
            f'<geom name="palm" type="box" size="{palm_half_x:.9g} {g.palm_width_m / 2:.9g} {g.palm_height_m / 2:.9g}" '
            f'pos="0 0 {z_palm:.9g}" mass="{HAND_MASS_KG}" rgba="0.3 0.3 0.35 1"/>{fingers}</body>')
    force = g.grip_force_n
    actuators = "".join(f'<position name="finger_{s}" joint="finger_{s}" kp="{FINGER_KP_N_PER_M}" '
                        f'forcerange="{-force:.9g} {force:.9g}" ctrlrange="-0.05 {stroke + 0.05:.9g}"/>'
                        for s in ("left", "right"))
    return body, actuators


BIN_WALL_M = 0.01                  # a heap's temporary bin: wall thickness
BIN_HEIGHT_M = 1.0                 # tall enough that nothing dropped from above the heap bounces out
PARKED_BIN_M = (0.0, 0.0, -10.0)   # where the bin goes once the heap has settled: out of view and reach


def _bin_xml(inner_m: float) -> str:
    """A square bin of four walls around the table's origin, on a mocap body so it can be taken away."""
    h, t, half = BIN_HEIGHT_M / 2, BIN_WALL_M / 2, inner_m / 2
    walls = "".join(f'<geom name="bin{k}" type="box" size="{sx:.9g} {sy:.9g} {h:.9g}" pos="{px:.9g} {py:.9g} {h:.9g}" '
                    f'rgba="0.5 0.5 0.5 0.3"/>'
                    for k, (sx, sy, px, py) in enumerate([(half + 2 * t, t, 0, half + t), (half + 2 * t, t, 0, -half - t),
                                                          (t, half, half + t, 0), (t, half, -half - t, 0)]))
    return f'<body name="bin" mocap="true" pos="0 0 0">{walls}</body>'


def world_xml(objects: list[tuple[GraspObject, RigidTransform]], gripper: ParallelJawGripper,
              bin_m: float | None = None) -> str:
    """The MJCF of a trial world: table, ``objects`` at their poses, the gripper parked above and,
    with ``bin_m``, a bin of that inner width around the origin (a heap's, taken away once it settles)."""
    assets, bodies = zip(*[_object_xml(i, o, T) for i, (o, T) in enumerate(objects)]) if objects else ((), ())
    hand, actuators = _gripper_xml(gripper)
    return f"""<mujoco model="grasplab_trial">
  <compiler boundmass="1e-6" boundinertia="1e-12" autolimits="true"/>
  <option timestep="{TIMESTEP_S}" integrator="implicitfast" cone="elliptic" impratio="10"/>
  <visual><headlight ambient="0.35 0.35 0.35" diffuse="0.5 0.5 0.5"/>
    <global offwidth="{MAX_IMAGE_PX[0]}" offheight="{MAX_IMAGE_PX[1]}"/>
    <map znear="0.01" zfar="20"/><quality shadowsize="0" offsamples="0"/></visual>
  <statistic extent="1" center="0 0 0"/>
  <default><geom solref="0.004 1" solimp="0.95 0.99 0.001"/></default>
  <asset>{"".join(assets)}</asset>
  <worldbody>
    <light directional="true" dir="0.3 0.2 -1" diffuse="0.6 0.6 0.6" castshadow="false"/>
    <geom name="table" type="plane" size="0 0 0.05" condim="6" friction="{TABLE_FRICTION} 0.005 {TABLE_ROLLING_FRICTION_M}"
          rgba="0.75 0.72 0.65 1"/>
    <camera name="cam" pos="0 0 1" resolution="64 64" focalpixel="64 64" principalpixel="0 0" sensorsize="0.00064 0.00064"/>
    {"".join(bodies)}
    {hand}
    {_bin_xml(bin_m) if bin_m else ""}
  </worldbody>
  <equality><weld body1="hand" body2="hand_target" solref="{WRIST_SOLREF_S} 1"/></equality>
  <actuator>{actuators}</actuator>
</mujoco>"""


@dataclass
class SimWorld:
    """A compiled trial world and handles to its parts."""

    model: object
    data: object
    gripper: ParallelJawGripper
    n_objects: int
    removed: set                      # objects taken off the table (clutter clearing)

    @classmethod
    def build(cls, objects: list[tuple[GraspObject, RigidTransform]], gripper: ParallelJawGripper,
              friction: float, bin_m: float | None = None) -> "SimWorld":
        import mujoco
        try:
            model = mujoco.MjModel.from_xml_string(world_xml(objects, gripper, bin_m))
        except ValueError as e:                      # MuJoCo's compiler: e.g. a part it cannot hull
            names = ", ".join(o.name for o, _ in objects)
            raise SimulationError(f"MuJoCo cannot build the world of {names}: {str(e).splitlines()[0]} (repair or "
                                  f"simplify the mesh, e.g. with pymeshfix, or leave the object out)") from None
        world = cls(model, mujoco.MjData(model), gripper, len(objects), set())
        world.set_friction(friction)
        mujoco.mj_forward(model, world.data)
        return world

    # --- ids ---------------------------------------------------------------------------------
    def _id(self, kind: str, name: str) -> int:
        import mujoco
        i = mujoco.mj_name2id(self.model, getattr(mujoco.mjtObj, f"mjOBJ_{kind}"), name)
        if i < 0:
            raise KeyError(name)
        return i

    def object_geoms(self, index: int) -> np.ndarray:
        body = self._id("BODY", f"object{index}")
        return np.flatnonzero(self.model.geom_bodyid == body)

    @property
    def pad_geoms(self) -> tuple[int, int]:
        return self._id("GEOM", "pad_left"), self._id("GEOM", "pad_right")

    @property
    def hand_geoms(self) -> np.ndarray:
        return np.array([self._id("GEOM", "palm"), *self.pad_geoms])

    def set_friction(self, mu: float) -> None:
        """The trial's finger–object friction coefficient (the pads win every contact they make)."""
        for pad in self.pad_geoms:
            self.model.geom_friction[pad] = (mu, TORSIONAL_FRICTION_M, 0.0001)
        for i in range(self.n_objects):
            self.model.geom_friction[self.object_geoms(i)] = (mu, TORSIONAL_FRICTION_M, 0.0001)

    # --- state -------------------------------------------------------------------------------
    def object_pose(self, index: int = 0) -> RigidTransform:
        body = self._id("BODY", f"object{index}")
        return RigidTransform.from_quaternion_wxyz(self.data.xquat[body].copy(), self.data.xpos[body].copy())

    def object_speed(self, index: int = 0) -> tuple[float, float]:
        """(linear m/s, angular rad/s) of an object's free joint."""
        adr = self.model.jnt_dofadr[self._id("JOINT", f"object{index}")]
        v = self.data.qvel[adr:adr + 6]
        return float(np.linalg.norm(v[:3])), float(np.linalg.norm(v[3:]))

    def object_lowest_z(self, index: int, hull_vertices: np.ndarray) -> float:
        """Lowest point of the object (its hull's vertices, object frame) above the table."""
        return float(self.object_pose(index).apply(hull_vertices)[:, 2].min())

    def active_objects(self) -> list[int]:
        """The objects still on the table."""
        return [i for i in range(self.n_objects) if i not in self.removed]

    def remove_object(self, index: int) -> None:
        """Take an object off the table (clutter clearing): park it far away, out of collisions."""
        self.removed.add(index)
        adr = self.model.jnt_qposadr[self._id("JOINT", f"object{index}")]
        dof = self.model.jnt_dofadr[self._id("JOINT", f"object{index}")]
        self.data.qpos[adr:adr + 3] = (10.0 + 2.0 * index, 10.0, 1.0)
        self.data.qvel[dof:dof + 6] = 0.0
        self.model.geom_contype[self.object_geoms(index)] = 0
        self.model.geom_conaffinity[self.object_geoms(index)] = 0
        self.model.body_gravcomp[self._id("BODY", f"object{index}")] = 1.0

    def render(self, intrinsics, T_world_camera, rgb: bool = True):
        """What a camera sees in this world now: planar depth (m), RGB (or None) and, per pixel,
        the index of the object seen (−1: table or nothing). The parked hand is out of view."""
        import mujoco
        from ..scene.rendering.mujoco_renderer import configure_camera
        h, w = intrinsics.shape
        if w > MAX_IMAGE_PX[0] or h > MAX_IMAGE_PX[1]:
            raise ValueError(f"image {w}×{h} exceeds the trial world's {MAX_IMAGE_PX[0]}×{MAX_IMAGE_PX[1]}")
        cam = self._id("CAMERA", "cam")
        configure_camera(self.model, cam, intrinsics, T_world_camera)
        if getattr(self, "_renderer", None) is None or self._renderer.height != h or self._renderer.width != w:
            if getattr(self, "_renderer", None) is not None:
                self._renderer.close()
            self._renderer = mujoco.Renderer(self.model, height=h, width=w)
        r = self._renderer
        mujoco.mj_forward(self.model, self.data)
        r.enable_depth_rendering()
        r.update_scene(self.data, camera=cam)
        depth = r.render().astype(np.float32)
        r.disable_depth_rendering()
        r.enable_segmentation_rendering()
        r.update_scene(self.data, camera=cam)
        seg = r.render()
        r.disable_segmentation_rendering()
        body_of_geom = np.r_[self.model.geom_bodyid, -1]
        geom = np.where(seg[..., 1] == int(mujoco.mjtObj.mjOBJ_GEOM), seg[..., 0], -1)
        bodies = body_of_geom[geom]
        index = np.full(bodies.shape, -1, dtype=np.int32)
        for i in range(self.n_objects):
            index[bodies == self._id("BODY", f"object{i}")] = i
        image = None
        if rgb:
            r.update_scene(self.data, camera=cam)
            image = r.render().copy()
        return depth, image, index

    def close(self) -> None:
        if getattr(self, "_renderer", None) is not None:
            self._renderer.close()
            self._renderer = None

    def remove_bin(self) -> None:
        """Take the heap's bin away (VGN's piles: objects dropped into a box that is then lifted)."""
        body = self._id("BODY", "bin")
        self.data.mocap_pos[self.model.body_mocapid[body]] = PARKED_BIN_M
        self.forward()

    def fixture_geoms(self) -> np.ndarray:
        """What a hand must not touch besides the objects: the table and, in a heap's world, the bin's walls."""
        table = [self._id("GEOM", "table")]
        try:
            walls = np.flatnonzero(self.model.geom_bodyid == self._id("BODY", "bin"))
        except KeyError:                                   # no bin in this world
            return np.array(table)
        return np.r_[table, walls]

    def lower_bin(self, height_m: float) -> None:
        """Sink the heap's bin into the table until its walls stand ``height_m`` above it (a bin
        the objects are picked from, as in Dex-Net 4.0's frames)."""
        body = self._id("BODY", "bin")
        self.data.mocap_pos[self.model.body_mocapid[body]] = (0.0, 0.0, height_m - BIN_HEIGHT_M)
        self.model.geom_rgba[self.model.geom_bodyid == body, 3] = 1.0      # opaque: seen by the camera
        self.forward()

    def park_hand(self) -> None:
        """Open the fingers and put the hand back out of the way (between clutter attempts)."""
        self.set_opening(self.gripper.max_width_m)
        self.set_hand(RigidTransform(np.eye(3), np.array(PARKED_HAND_M), "hand", "world"), teleport=True)
        self.forward()

    def set_hand(self, T_world_hand: RigidTransform, *, teleport: bool = False) -> None:
        """Move the wrist's target (the hand follows through the weld); ``teleport`` also puts the
        hand there at rest (before an approach)."""
        self.data.mocap_pos[0] = T_world_hand.translation_m
        self.data.mocap_quat[0] = T_world_hand.quaternion_wxyz
        if teleport:
            adr = self.model.jnt_qposadr[self._id("JOINT", "hand")]
            dof = self.model.jnt_dofadr[self._id("JOINT", "hand")]
            self.data.qpos[adr:adr + 3] = T_world_hand.translation_m
            self.data.qpos[adr + 3:adr + 7] = T_world_hand.quaternion_wxyz
            self.data.qvel[dof:dof + 6] = 0.0

    def set_opening(self, opening_m: float, *, hold: bool = True) -> None:
        """Place both fingers at ``opening_m`` apart (clipped to the stroke) and hold them there."""
        q = float(np.clip((self.gripper.max_width_m - opening_m) / 2, 0.0, self.gripper.max_width_m / 2))
        for side in ("left", "right"):
            self.data.qpos[self.model.jnt_qposadr[self._id("JOINT", f"finger_{side}")]] = q
            self.data.qvel[self.model.jnt_dofadr[self._id("JOINT", f"finger_{side}")]] = 0.0
            if hold:
                self.data.ctrl[self._id("ACTUATOR", f"finger_{side}")] = q

    def close_fingers(self) -> None:
        """Command both fingers past the centre: each presses with at most the grip force."""
        for side in ("left", "right"):
            self.data.ctrl[self._id("ACTUATOR", f"finger_{side}")] = self.gripper.max_width_m / 2 + 0.05

    def finger_speed_m_s(self) -> float:
        """The faster finger's speed along its slide."""
        return float(max(abs(self.data.qvel[self.model.jnt_dofadr[self._id("JOINT", f"finger_{s}")]])
                         for s in ("left", "right")))

    def opening_m(self) -> float:
        q = [self.data.qpos[self.model.jnt_qposadr[self._id("JOINT", f"finger_{s}")]] for s in ("left", "right")]
        return float(self.gripper.max_width_m - sum(q))

    def contact_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(geom1, geom2, signed distance) of the active contacts."""
        c, n = self.data.contact, self.data.ncon
        return c.geom1[:n], c.geom2[:n], c.dist[:n]

    def contacts_between(self, geoms_a, geoms_b) -> np.ndarray:
        """Which active contacts join a geom of ``geoms_a`` and one of ``geoms_b`` (boolean, per contact)."""
        g1, g2, _ = self.contact_arrays()
        return (np.isin(g1, geoms_a) & np.isin(g2, geoms_b)) | (np.isin(g1, geoms_b) & np.isin(g2, geoms_a))

    def contacts(self, geoms_a, geoms_b) -> int:
        """Number of active contacts between any geom of ``geoms_a`` and any of ``geoms_b``."""
        return int(self.contacts_between(geoms_a, geoms_b).sum())

    def snapshot(self) -> np.ndarray:
        """The full simulation state (to run several grasps from one settled scene)."""
        import mujoco
        spec = mujoco.mjtState.mjSTATE_INTEGRATION
        state = np.empty(mujoco.mj_stateSize(self.model, spec))
        mujoco.mj_getState(self.model, self.data, state, spec)
        return state

    def restore(self, state: np.ndarray) -> None:
        import mujoco
        mujoco.mj_setState(self.model, self.data, state, mujoco.mjtState.mjSTATE_INTEGRATION)
        mujoco.mj_forward(self.model, self.data)

    def step(self, n: int = 1) -> None:
        import mujoco
        mujoco.mj_step(self.model, self.data, nstep=n)

    def forward(self) -> None:
        import mujoco
        mujoco.mj_forward(self.model, self.data)
