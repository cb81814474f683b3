import numpy as np
import pytest
import scipy.ndimage as ndi
import trimesh

from grasplab.errors import ConfigError
from grasplab.geometry import CameraIntrinsics, RigidTransform
from grasplab.objects import GraspObject, load_mesh_object, make_procedural_object
from grasplab.scene import Appearance, Scene, camera_preset, compute_stable_poses, make_renderer, sample_scene

BOX_EXTENTS = np.array([0.08, 0.06, 0.04])


def box_scene(intr, T_world_camera):
    obj = GraspObject.from_mesh("box", trimesh.creation.box(extents=BOX_EXTENTS))
    T_world_obj = RigidTransform(np.eye(3), [0.0, 0.0, BOX_EXTENTS[2] / 2], "obj", "world")
    return Scene(obj, T_world_obj, intr, T_world_camera, Appearance(object_rgb=(0.9, 0.1, 0.1)))


def analytic_box_depth(intr, T_wc):
    """Planar depth of an axis-aligned box on the z = 0 plane by the slab method (independent code)."""
    v, u = np.indices(intr.shape, dtype=float)
    d_cam = np.stack([(u - intr.cx) / intr.fx, (v - intr.cy) / intr.fy, np.ones_like(u)], -1)
    d = d_cam @ T_wc.rotation.T
    o = T_wc.translation_m
    lo = np.array([-BOX_EXTENTS[0] / 2, -BOX_EXTENTS[1] / 2, 0.0])
    hi = np.array([BOX_EXTENTS[0] / 2, BOX_EXTENTS[1] / 2, BOX_EXTENTS[2]])
    with np.errstate(divide="ignore", invalid="ignore"):
        t1, t2 = (lo - o) / d, (hi - o) / d
    t_near = np.nanmax(np.minimum(t1, t2), axis=-1)
    t_far = np.nanmin(np.maximum(t1, t2), axis=-1)
    hit = (t_near <= t_far) & (t_far > 0)
    t_table = -o[2] / d[..., 2]
    depth = np.where(hit, t_near, t_table)        # d_cam has z = 1, so t is the planar depth
    return depth, hit


CASES = {
    "straight_down_primesense": (CameraIntrinsics(525, 525, 319.5, 239.5, 640, 480),
                                 RigidTransform.look_at([0, 0, 0.7], [0, 0, 0], up_hint=(0, 1, 0))),
    "tilted_40deg_phoxi": (CameraIntrinsics(552.5, 552.5, 255.5, 191.75, 516, 386),
                           RigidTransform.look_at([0.25, -0.35, 0.5], [0.01, 0.005, 0.0], roll_rad=0.4)),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("renderer_name", ["mujoco", "raycast"])
def test_box_depth_matches_analytic_value(case, renderer_name, request):
    renderer = request.getfixturevalue(f"{renderer_name}_renderer")
    intr, T_wc = CASES[case]
    obs = renderer.render(box_scene(intr, T_wc))
    expected, hit = analytic_box_depth(intr, T_wc)
    assert obs.depth_m.shape == intr.shape and obs.depth_m.dtype == np.float32
    # away from silhouettes (where a pixel centre may fall either side) depths agree to 0.5 mm
    inner = ~(ndi.binary_dilation(hit, iterations=1) & ~ndi.binary_erosion(hit, iterations=1))
    err = np.abs(obs.depth_m - expected)[inner]
    assert err.max() < 0.5e-3, f"max error {err.max() * 1000:.3f} mm"
    # stricter on average: a half-pixel principal-point error would show as ~0.4 mm on the tilted table
    assert err.mean() < 0.05e-3
    assert (obs.mask != hit).sum() <= 0.02 * hit.sum() + 4
    if case.startswith("straight"):
        top = ndi.binary_erosion(hit, iterations=3)
        np.testing.assert_allclose(obs.depth_m[top], 0.7 - BOX_EXTENTS[2], atol=1e-4)


def _agreement(a, b):
    both = ndi.binary_erosion(a.mask & b.mask, iterations=1)
    return np.abs(a.depth_m - b.depth_m)[both], (a.mask ^ b.mask).sum() / max(a.mask.sum(), 1)


def test_mujoco_and_raycast_agree_on_random_scenes(mujoco_renderer, raycast_renderer, shared_data):
    rng = np.random.default_rng(0)
    objs = [make_procedural_object(f, 5) for f in ("mallet", "bottle", "prism", "profile")]
    objs.append(load_mesh_object(shared_data / "meshes" / "spray.obj"))
    for obj in objs:
        pose = compute_stable_poses(obj)[0]
        scene = sample_scene(obj, pose, camera_preset("dexnet2"), rng)
        a = mujoco_renderer.render(scene)
        b = raycast_renderer.render(scene)
        diff, mask_disagreement = _agreement(a, b)
        assert diff.size > 200, obj.name
        assert diff.max() < 1e-3, f"{obj.name}: max depth difference {diff.max() * 1000:.3f} mm"
        assert mask_disagreement < 0.03
        # RGB: object and table pixels carry their own colours (the chromaticity of the mean pixel is
        # the material's: lighting scales all three channels alike), and the renderers agree
        for obs in (a, b):
            assert obs.rgb.shape == (*scene.intrinsics.shape, 3) and obs.rgb.dtype == np.uint8
            for pixels, colour in ((obs.rgb[obs.mask], scene.appearance.object_rgb),
                                   (obs.rgb[~obs.mask], scene.appearance.table_rgb)):
                mean = pixels.astype(float).mean(axis=0)
                np.testing.assert_allclose(mean / mean.sum(), np.array(colour) / np.sum(colour), atol=0.03,
                                           err_msg=obj.name)
        both = a.mask & b.mask
        np.testing.assert_allclose(a.rgb[both].astype(float).mean(0), b.rgb[both].astype(float).mean(0), atol=5)


def test_depth_only_render_and_bad_modalities(raycast_renderer):
    intr, T = CASES["straight_down_primesense"]
    obs = raycast_renderer.render(box_scene(intr, T), modalities=("depth",))
    assert obs.rgb is None and obs.mask is None
    with pytest.raises(ConfigError, match="modalities"):
        raycast_renderer.render(box_scene(intr, T), modalities=("normals",))
    with pytest.raises(ConfigError):
        make_renderer("blender")


def test_rgb_shows_the_object_colour(mujoco_renderer, raycast_renderer):
    intr, T = CASES["straight_down_primesense"]
    scene = box_scene(intr, T)
    for r in (mujoco_renderer, raycast_renderer):
        obs = r.render(scene)
        obj_px = obs.rgb[obs.mask].astype(float)
        assert obj_px[:, 0].mean() > 2 * obj_px[:, 1].mean()   # red box
        table_px = obs.rgb[~obs.mask].astype(float)
        assert np.ptp(table_px.mean(axis=0)) < 10                # grey table


def test_switching_between_objects_gives_the_same_images(mujoco_renderer):
    rng = np.random.default_rng(4)
    scenes = []
    for fam in ("box", "bottle"):
        obj = make_procedural_object(fam, 8)
        scenes.append(sample_scene(obj, compute_stable_poses(obj)[0], camera_preset("primesense"), rng))
    first = mujoco_renderer.render(scenes[0])
    mujoco_renderer.render(scenes[1])
    again = mujoco_renderer.render(scenes[0])
    assert first.mask.any()
    np.testing.assert_array_equal(again.depth_m, first.depth_m)
    np.testing.assert_array_equal(again.mask, first.mask)
    np.testing.assert_array_equal(again.rgb, first.rgb)


def test_gl_backend_choice_respects_the_user(monkeypatch):
    from grasplab import _gl
    monkeypatch.setenv("MUJOCO_GL", "osmesa")
    assert _gl.choose_gl_backend() == "osmesa"
    monkeypatch.delenv("MUJOCO_GL")
    monkeypatch.setattr(_gl, "_loads", lambda *names: any("OSMesa" in n for n in names))
    assert _gl.choose_gl_backend() == "osmesa"      # no libEGL, OSMesa present
    monkeypatch.delenv("MUJOCO_GL")
    monkeypatch.setattr(_gl, "_loads", lambda *names: True)
    assert _gl.choose_gl_backend() == "egl"
