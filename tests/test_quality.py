"""Known answers for the contact model and Ferrari–Canny ε (DESIGN B4/B5, issue 3)."""
import numpy as np
import pytest
import trimesh
from scipy.spatial.transform import Rotation

from grasplab.grasps import GraspSet
from grasplab.objects import make_procedural_object
from grasplab.quality import (QualityConfig, close_jaws, contact_wrenches, epsilon_at, ferrari_canny,
                              ferrari_canny_reference, robust_quality)

CFG = QualityConfig()
BOX = trimesh.creation.box(extents=(0.04, 0.06, 0.05))     # centred on its centre of mass


def eps(mesh, center, axis, mu=0.5, cfg=CFG, com=(0.0, 0.0, 0.0)):
    axis = np.asarray(axis, float) / np.linalg.norm(axis)
    return float(epsilon_at(mesh, np.asarray(com), np.array([center], float), np.array([axis]),
                            np.array([mu]), 0.085, cfg)[0])


def raw_wrenches(mesh, center, axis, mu=0.5, com=(0.0, 0.0, 0.0)):
    """Wrenches without the friction-cone pre-filter (to test the hull on its own)."""
    axis = np.asarray(axis, float) / np.linalg.norm(axis)
    c, n, ok = close_jaws(mesh, np.array([center], float), np.array([axis]), 0.085)
    assert ok[0]
    return contact_wrenches(c, n, np.stack([[axis], [-axis]], axis=1), np.asarray(com), mu)[0]


def test_box_across_faces_through_com_is_in_force_closure():
    e = eps(BOX, [0, 0, 0], [1, 0, 0])
    # the axial torque can only be resisted by torsional friction: ε ≤ π r² μ · torque_scaling
    torsion = np.pi * CFG.finger_radius_m ** 2 * 0.5 * CFG.torque_scaling
    assert 0.9 * torsion < e <= torsion + 1e-12


def test_moving_off_the_centre_of_mass_lowers_epsilon():
    values = [eps(BOX, [0, y, 0], [1, 0, 0]) for y in (0.0, 0.005, 0.01, 0.02)]
    assert all(a > b > 0 for a, b in zip(values, values[1:]))
    values_z = [eps(BOX, [0, 0, z], [1, 0, 0]) for z in (0.0, 0.01, 0.02)]
    assert values_z[0] > values_z[1] > values_z[2] > 0


def test_contacts_outside_the_friction_cone_are_not_in_force_closure():
    # 40° from the face normal with μ = 0.5 (cone half-angle 26.6°): both contacts slip
    axis = [np.cos(np.deg2rad(40)), np.sin(np.deg2rad(40)), 0]
    assert eps(BOX, [0, 0, 0], axis) == 0.0
    assert ferrari_canny(raw_wrenches(BOX, [0, 0, 0], axis)) == 0.0      # the hull agrees
    # 20° is inside the cone: force closure
    axis20 = [np.cos(np.deg2rad(20)), np.sin(np.deg2rad(20)), 0]
    assert eps(BOX, [0, 0, 0], axis20) > 0
    # more friction admits the 40° grasp
    assert eps(BOX, [0, 0, 0], axis, mu=1.0) > 0


def test_point_contacts_cannot_resist_axial_torque():
    cfg = QualityConfig(soft_fingers=False)
    assert eps(BOX, [0, 0, 0], [1, 0, 0], cfg=cfg) == 0.0


def test_epsilon_is_invariant_under_rigid_motion_of_object_and_grasp():
    obj = make_procedural_object("mallet", 4)
    rng = np.random.default_rng(0)
    for _ in range(5):
        center = rng.uniform(-0.01, 0.01, 3)
        axis = rng.normal(size=3)
        axis[2] *= 0.2
        axis /= np.linalg.norm(axis)
        e0 = eps(obj.mesh, center, axis, mu=0.8)
        R = Rotation.random(random_state=int(rng.integers(1 << 30))).as_matrix()
        t = rng.normal(size=3)
        moved = obj.mesh.copy()
        moved.apply_transform(np.r_[np.c_[R, t], [[0, 0, 0, 1]]])
        e1 = eps(moved, R @ center + t, R @ axis, mu=0.8, com=t)
        assert e1 == pytest.approx(e0, rel=1e-6)     # joggled qhull: ~1e-9 absolute noise


def test_fast_epsilon_matches_brute_force_reference_on_random_grasps():
    rng = np.random.default_rng(1)
    checked_positive = 0
    for fam in ("box", "ellipsoid", "prism", "bottle"):
        obj = make_procedural_object(fam, 9)
        for _ in range(6):
            center = rng.uniform(-0.01, 0.01, 3)
            axis = rng.normal(size=3)
            axis /= np.linalg.norm(axis)
            c, n, ok = close_jaws(obj.mesh, center[None], axis[None], 0.2)
            if not ok[0]:
                continue
            mu = rng.uniform(0.3, 1.0)
            w = contact_wrenches(c, n, np.stack([axis[None], -axis[None]], axis=1), np.zeros(3), mu)[0]
            fast, ref = ferrari_canny(w), ferrari_canny_reference(w)
            assert fast == pytest.approx(ref, abs=1e-6)
            checked_positive += ref > 0
    assert checked_positive >= 3


def test_robust_quality_is_seeded_and_sensible():
    centred = GraspSet(np.zeros((2, 3)), np.array([[1.0, 0, 0], [1.0, 0, 0]]), np.array([0.04, 0.04]),
                       np.zeros((2, 2, 3)), np.zeros((2, 2, 3)))
    centred.centers_m[1] = [0.0, 0.025, 0.02]          # near a corner: fragile under perturbation
    a = robust_quality(BOX, np.zeros(3), centred, 0.085, CFG, np.random.default_rng(3))
    b = robust_quality(BOX, np.zeros(3), centred, 0.085, CFG, np.random.default_rng(3))
    np.testing.assert_array_equal(a.robust_ferrari_canny, b.robust_ferrari_canny)
    assert a.p_force_closure[0] > 0.9 and a.robust_ferrari_canny[0] > CFG.positive_threshold
    assert a.robust_ferrari_canny[1] < a.robust_ferrari_canny[0]
    assert a.p_force_closure[1] < a.p_force_closure[0]
    assert a.ferrari_canny[0] == pytest.approx(eps(BOX, [0, 0, 0], [1, 0, 0]))


def test_robust_labels_fast_path_matches_reference_path():
    """The fast path (cone shortcut + joggled qhull) gives the reference path's labels."""
    from grasplab.grasps import GRIPPER_PRESETS, AntipodalConfig, sample_antipodal_grasps
    from grasplab.scene import compute_stable_poses
    cfg = QualityConfig(num_samples=6)
    for fam in ("capsule", "profile"):
        obj = make_procedural_object(fam, 2)
        pose = compute_stable_poses(obj)[0]
        mesh = obj.mesh.copy()
        mesh.apply_transform(pose.T_table_obj.matrix)
        g = sample_antipodal_grasps(mesh, GRIPPER_PRESETS["robotiq_2f85"], AntipodalConfig(), np.random.default_rng(0))
        g = g.subset(np.arange(min(2, len(g))))
        com = pose.T_table_obj.apply(obj.center_of_mass_m)
        fast = robust_quality(mesh, com, g, 0.085, cfg, np.random.default_rng(5))
        ref = robust_quality(mesh, com, g, 0.085, cfg, np.random.default_rng(5), reference=True)
        np.testing.assert_allclose(fast.robust_ferrari_canny, ref.robust_ferrari_canny, atol=1e-6)
        np.testing.assert_array_equal(fast.p_force_closure, ref.p_force_closure)
