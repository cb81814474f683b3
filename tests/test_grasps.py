import json

import numpy as np
import pytest
import trimesh

from grasplab.errors import ConfigError
from grasplab.grasps import (GRIPPER_PRESETS, AntipodalConfig, CollisionChecker, GraspSet, ParallelJawGripper,
                             load_gripper, sample_antipodal_grasps)
from grasplab.objects import FAMILIES, make_procedural_object
from grasplab.scene import compute_stable_poses

ROBOTIQ = GRIPPER_PRESETS["robotiq_2f85"]


def mesh_on_table(obj, pose_index=0):
    pose = compute_stable_poses(obj)[pose_index]
    m = obj.mesh.copy()
    m.apply_transform(pose.T_table_obj.matrix)
    return m


@pytest.mark.parametrize("family", list(FAMILIES))
def test_antipodal_candidates_satisfy_their_definition(family):
    mesh = mesh_on_table(make_procedural_object(family, 21))
    cfg = AntipodalConfig()
    g = sample_antipodal_grasps(mesh, ROBOTIQ, cfg, np.random.default_rng(0))
    assert len(g) <= cfg.max_grasps
    if len(g) == 0:
        return
    # axis parallel to the table within tolerance
    assert np.all(np.abs(g.axes[:, 2]) <= np.sin(np.deg2rad(cfg.axis_tolerance_deg)) + 1e-9)
    assert np.all(g.widths_m <= ROBOTIQ.max_width_m - cfg.width_margin_m + 1e-12)
    # contacts lie on the surface, centre between them
    _, dist, _ = trimesh.proximity.closest_point(mesh, g.contacts_m.reshape(-1, 3))
    assert dist.max() < 1e-6
    np.testing.assert_allclose(g.centers_m, g.contacts_m.mean(axis=1), atol=1e-12)
    # both contacts inside the friction cone
    cos_cone = np.cos(np.arctan(cfg.friction_coef))
    assert np.all(np.einsum("ij,ij->i", -g.normals[:, 0], g.axes) >= cos_cone - 1e-9)
    assert np.all(np.einsum("ij,ij->i", -g.normals[:, 1], -g.axes) >= cos_cone - 1e-9)
    # no near-duplicates
    for i in range(len(g)):
        d = np.linalg.norm(g.centers_m - g.centers_m[i], axis=1)
        same = np.abs(g.axes @ g.axes[i]) > np.cos(np.deg2rad(cfg.min_axis_angle_deg))
        assert np.sum((d < cfg.min_center_distance_m) & same) == 1


def test_sampling_is_seeded_and_respects_gripper_width():
    mesh = mesh_on_table(make_procedural_object("box", 3))
    a = sample_antipodal_grasps(mesh, ROBOTIQ, AntipodalConfig(), np.random.default_rng(7))
    b = sample_antipodal_grasps(mesh, ROBOTIQ, AntipodalConfig(), np.random.default_rng(7))
    np.testing.assert_array_equal(a.centers_m, b.centers_m)
    big = trimesh.creation.box(extents=(0.2, 0.2, 0.05))
    big.apply_translation([0, 0, 0.025])
    assert len(sample_antipodal_grasps(big, GRIPPER_PRESETS["yumi"], AntipodalConfig(), np.random.default_rng(0))) == 0


def _grasp(center, axis, width):
    axis = np.asarray(axis, float) / np.linalg.norm(axis)
    c = np.asarray(center, float)
    contacts = np.stack([c - axis * width / 2, c + axis * width / 2])[None]
    return GraspSet(c[None], axis[None], np.array([width]), contacts, np.zeros((1, 2, 3)), "table")


def test_collision_checks_table_object_and_clear_grasps():
    box = trimesh.creation.box(extents=(0.04, 0.04, 0.06))
    box.apply_translation([0, 0, 0.03])
    checker = CollisionChecker(box, ROBOTIQ)
    # across the box, 3 cm up: fingertips 5 mm below the centre, well above the table
    assert not checker.collides(_grasp([0, 0, 0.03], [1, 0, 0], 0.04))[0]
    # too low: fingertips go through the table
    assert checker.collides(_grasp([0, 0, 0.003], [1, 0, 0], 0.04))[0]
    # a finger lands inside the object (the grasp claims a width smaller than the box)
    assert checker.collides(_grasp([0, 0, 0.03], [1, 0, 0], 0.02))[0]
    # the palm hits the top when grasping too deep below the top face
    deep = CollisionChecker(box, ParallelJawGripper("short", max_width_m=0.085, finger_length_m=0.01))
    assert deep.collides(_grasp([0, 0, 0.03], [1, 0, 0], 0.04))[0]
    # a second object-free case next to the box is clear
    assert not checker.collides(_grasp([0.2, 0, 0.03], [1, 0, 0], 0.04))[0]


def test_the_palm_spans_the_whole_stroke_whatever_the_opening():
    """A 10 cm post 4-5 cm beside a 4 cm box: the fingers, open to 5 cm (2.5 + 1 cm a side),
    miss it, but the palm, 8.5 + 2 cm wide like the simulated hand's, comes down on its top."""
    box = trimesh.creation.box(extents=(0.04, 0.04, 0.06))
    box.apply_translation([0, 0, 0.03])
    post = trimesh.creation.box(extents=(0.01, 0.02, 0.10))
    post.apply_translation([0.045, 0, 0.05])
    grasp = _grasp([0, 0, 0.04], [1, 0, 0], 0.04)                 # fingers 2.5-3.5 cm out, palm from 8 cm up
    assert not CollisionChecker(box, ROBOTIQ).collides(grasp)[0]
    assert CollisionChecker(trimesh.util.concatenate([box, post]), ROBOTIQ).collides(grasp)[0]
    low = post.copy()
    low.apply_translation([0, 0, -0.025])                          # 7.5 cm tall: under the palm
    assert not CollisionChecker(trimesh.util.concatenate([box, low]), ROBOTIQ).collides(grasp)[0]


def test_gripper_presets_and_files(tmp_path):
    assert load_gripper("yumi").max_width_m == 0.05
    assert load_gripper("robotiq_2f85").max_width_m == 0.085
    p = tmp_path / "mine.json"
    p.write_text(json.dumps({"max_width_m": 0.07, "finger_length_m": 0.05}))
    g = load_gripper(str(p))
    assert g.name == "mine" and g.max_width_m == 0.07
    p.write_text(json.dumps({"max_width": 0.07}))
    with pytest.raises(ConfigError, match="unknown gripper fields"):
        load_gripper(str(p))
    with pytest.raises(ConfigError, match="millimetres"):
        ParallelJawGripper(max_width_m=85.0)
    with pytest.raises(ConfigError, match="unknown gripper"):
        load_gripper("pr2")
