"""Scene styles: textures on the table only, distractors in depth but not in the mask and beyond
the gripper's reach, the same object, pose, camera and labels as the plain style."""
import json

import numpy as np
import pytest

from grasplab.errors import ConfigError, RenderError
from grasplab.objects import make_procedural_object
from grasplab.scene import camera_preset, compute_stable_poses, sample_scene
from grasplab.scene.styles import DISTRACTOR_CLEARANCE_M, STYLES, Decor, sample_decor, scene_style, texture_rgb


@pytest.fixture(scope="module")
def box():
    obj = make_procedural_object("box", 3)
    return obj, compute_stable_poses(obj)[0]


def _scene(box, style, seed=5):
    obj, pose = box
    return sample_scene(obj, pose, camera_preset("jacquard"), np.random.default_rng(seed),
                        None if style is None else scene_style(style))


def test_plain_style_draws_exactly_what_no_style_draws(box):
    a, b = _scene(box, None), _scene(box, "plain")
    assert b.decor is None and a.appearance == b.appearance
    assert np.array_equal(a.T_world_camera.matrix, b.T_world_camera.matrix)


@pytest.mark.parametrize("style", [s for s in STYLES if s != "plain"])
def test_a_style_keeps_the_object_pose_and_camera_of_the_plain_scene(box, style):
    plain, styled = _scene(box, "plain"), _scene(box, style)
    assert np.array_equal(plain.T_world_obj.matrix, styled.T_world_obj.matrix)
    assert np.array_equal(plain.T_world_camera.matrix, styled.T_world_camera.matrix)
    assert plain.intrinsics == styled.intrinsics and isinstance(styled.decor, Decor)
    again = _scene(box, style)
    assert again.decor == styled.decor and again.appearance == styled.appearance       # seeded


def test_distractors_stay_beyond_the_gripper_reach_of_the_object():
    rng = np.random.default_rng(0)
    for _ in range(200):
        radius = rng.uniform(0.01, 0.1)
        decor, _ = sample_decor(scene_style("distractors"), rng, np.array([0.1, -0.2]), radius)
        assert 1 <= len(decor.distractors) <= 3
        for d in decor.distractors:
            gap = np.hypot(d.position_m[0] - 0.1, d.position_m[1] + 0.2) - radius - max(d.size_m)
            assert gap >= DISTRACTOR_CLEARANCE_M - 1e-9
            # resting on the table: the lowest point at z = 0
            low = d.position_m[2] - (d.size_m[0] if d.kind == "cylinder" and d.quat_wxyz[1] != 0 else
                                     d.size_m[-1] if d.kind != "cylinder" else d.size_m[1])
            assert low == pytest.approx(0.0, abs=1e-12)


def test_texture_is_fixed_to_the_table_in_metres(box):
    scene = _scene(box, "textured")
    tex = scene.decor.texture
    xy = np.random.default_rng(1).uniform(-0.3, 0.3, (50, 2))
    c = texture_rgb(tex, xy)
    assert c.shape == (50, 3) and np.all((c >= 0) & (c <= 1))
    assert np.array_equal(c, texture_rgb(tex, xy))                      # a function of the point alone
    assert np.ptp(texture_rgb(tex, np.random.default_rng(2).uniform(-0.3, 0.3, (400, 2))), axis=0).max() > 0.02


def test_mujoco_texture_changes_only_table_pixels_and_distractors_only_depth_outside_the_mask(box, mujoco_renderer):
    from dataclasses import replace
    styled = _scene(box, "cornell", seed=11)
    textured = replace(styled, decor=Decor((), styled.decor.texture))
    bare = replace(styled, decor=None)
    o_bare, o_tex = mujoco_renderer.render(bare), mujoco_renderer.render(textured)
    assert np.array_equal(o_bare.depth_m, o_tex.depth_m) and np.array_equal(o_bare.mask, o_tex.mask)
    changed = np.any(o_bare.rgb != o_tex.rgb, axis=-1)
    assert changed.mean() > 0.3 and not changed[o_bare.mask].any()        # the object keeps its colours
    decor = sample_decor(scene_style("distractors"), np.random.default_rng(3), np.zeros(2), 0.05)[0]
    with_d = replace(bare, decor=decor)
    o_d = mujoco_renderer.render(with_d)
    assert np.array_equal(o_d.mask, o_bare.mask)                           # the mask is the object's alone
    raised = o_d.depth_m < o_bare.depth_m - 0.005
    assert raised.sum() > 50 and not raised[o_bare.mask].any()
    # a render without distractors after one with them shows none (parked again)
    assert np.array_equal(mujoco_renderer.render(bare).depth_m, o_bare.depth_m)


def test_raycast_refuses_distractors_and_applies_texture_and_light_colour(box, raycast_renderer):
    from dataclasses import replace
    styled = _scene(box, "distractors")
    with pytest.raises(RenderError, match="MuJoCo"):
        raycast_renderer.render(styled)
    tex = _scene(box, "textured")
    a = raycast_renderer.render(replace(tex, decor=None))
    b = raycast_renderer.render(tex)
    assert np.any(a.rgb != b.rgb) and np.array_equal(a.rgb[a.mask], b.rgb[b.mask])
    warm = raycast_renderer.render(replace(tex, decor=None, appearance=replace(tex.appearance, light_rgb=(1.2, 1.0, 0.8))))
    assert warm.rgb[..., 0].mean() > a.rgb[..., 0].mean() and warm.rgb[..., 2].mean() < a.rgb[..., 2].mean()


def test_unknown_style_and_bad_combinations_are_refused():
    from grasplab.synth import SynthConfig
    with pytest.raises(ConfigError, match="unknown scene style"):
        scene_style("fancy")
    with pytest.raises(ConfigError, match="heaps are rendered plain"):
        SynthConfig(style="cornell", heaps=2)
    with pytest.raises(ConfigError, match="--no-labels"):
        SynthConfig(labels=False, formats=("gqcnn", "jacquard"))


def test_synth_styles_keep_labels_and_no_labels_renders_frames_only(tmp_path):
    from grasplab.datasets.scene_sources import load_scenes
    from grasplab.synth import SynthConfig, run_synth
    common = dict(objects="procedural:2:box,cylinder", grasps_per_object=40, max_poses=1, views_per_pose=1,
                  formats=("jacquard",), renderer="mujoco")
    run_synth(SynthConfig.from_preset("jacquard-like", **common), tmp_path / "plain", show_progress=False)
    run_synth(SynthConfig.from_preset("jacquard-like", style="cornell", **common), tmp_path / "cornell",
              show_progress=False)
    run_synth(SynthConfig.from_preset("jacquard-like", labels=False, **common), tmp_path / "unlabelled",
              show_progress=False)
    plain, cornell = (load_scenes(tmp_path / k, "jacquard") for k in ("plain", "cornell"))
    unl = load_scenes(tmp_path / "unlabelled", "jacquard")
    # a view is labelled where a grasp fits the gripper; unlabelled frames are rendered regardless
    assert len(unl) == 2 and len(plain) == len(cornell) >= 1
    assert sum(len(s.rectangles()) for s in plain) > 0
    unl = [u for u in unl if u.stem.name in {p.stem.name for p in plain}]
    for p, c, u in zip(plain, cornell, unl):
        assert [r.corners_xy_px.tolist() for r in p.rectangles()] == [r.corners_xy_px.tolist() for r in c.rectangles()]
        assert np.array_equal(p.mask(), c.mask()) and np.array_equal(p.mask(), u.mask())
        assert np.array_equal(p.depth_m(), u.depth_m()) and u.rectangles() == []
        side = json.loads(open(f"{c.stem}_grasps.json").read())
        assert side["style"] == "cornell" and "decor" in side
        assert json.loads(open(f"{u.stem}_grasps.json").read())["labelled"] is False
