import numpy as np
import pytest
from scipy.spatial import ConvexHull

from grasplab.errors import ConfigError
from grasplab.objects import FAMILIES, GraspObject, load_mesh_object, make_procedural_object
from grasplab.scene import compute_stable_poses
import trimesh


def _assert_rests_on_table(obj, pose):
    v = pose.T_table_obj.apply(obj.mesh.vertices)
    assert v[:, 2].min() == pytest.approx(0.0, abs=1e-9), "lowest point must touch the table"
    com = pose.T_table_obj.apply(obj.center_of_mass_m)
    np.testing.assert_allclose(com[:2], 0.0, atol=1e-9)
    support = v[v[:, 2] < 1e-6][:, :2]
    hull = ConvexHull(support)
    # the centre of mass lies over the support polygon (inside every hull half-plane)
    assert np.all(hull.equations[:, :2] @ com[:2] + hull.equations[:, 2] <= 1e-9)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_every_pose_rests_on_the_table(family):
    obj = make_procedural_object(family, 11)
    poses = compute_stable_poses(obj)
    assert poses and all(p.probability >= 0.02 for p in poses)
    assert [p.probability for p in poses] == sorted((p.probability for p in poses), reverse=True)
    for pose in poses:
        _assert_rests_on_table(obj, pose)


def test_real_mesh_poses(shared_data):
    obj = load_mesh_object(shared_data / "meshes" / "clown.obj")
    for pose in compute_stable_poses(obj):
        _assert_rests_on_table(obj, pose)


def test_box_has_six_faces_and_the_broad_face_is_most_likely():
    obj = GraspObject.from_mesh("b", trimesh.creation.box(extents=(0.1, 0.06, 0.02)))
    poses = compute_stable_poses(obj, min_probability=0.0)
    assert len(poses) == 6
    assert sum(p.probability for p in poses) == pytest.approx(1.0, abs=1e-6)
    # most likely: lying on a 0.1×0.06 face, i.e. up is ±z of the box
    assert abs(poses[0].up_in_object[2]) == pytest.approx(1.0)
    assert poses[0].T_table_obj.translation_m[2] == pytest.approx(0.01)


def test_merging_and_threshold():
    obj = make_procedural_object("ellipsoid", 5)
    fine = compute_stable_poses(obj, min_probability=0.0, merge_angle_deg=0.01)
    coarse = compute_stable_poses(obj, min_probability=0.0, merge_angle_deg=45.0)
    assert len(coarse) < len(fine)
    assert sum(p.probability for p in coarse) == pytest.approx(sum(p.probability for p in fine))
    for i, a in enumerate(coarse):
        for b in coarse[i + 1:]:
            assert np.dot(a.up_in_object, b.up_in_object) < np.cos(np.deg2rad(45.0))
    with pytest.raises(ConfigError, match="min_probability"):
        compute_stable_poses(obj, min_probability=1.1)
    # nothing reaches the threshold: the likeliest pose is kept alone
    only = compute_stable_poses(obj, min_probability=0.99)
    assert len(only) == 1 and only[0].probability == pytest.approx(compute_stable_poses(obj, 0.0)[0].probability)


def test_placed_pose_rotates_about_vertical():
    obj = make_procedural_object("box", 2)
    pose = compute_stable_poses(obj)[0]
    T = pose.placed(0.1, -0.2, 0.5)
    v0 = pose.T_table_obj.apply(obj.mesh.vertices)
    v1 = T.apply(obj.mesh.vertices)
    np.testing.assert_allclose(v1[:, 2], v0[:, 2], atol=1e-12)
    np.testing.assert_allclose(T.apply(np.zeros(3))[:2], [0.1, -0.2], atol=1e-12)
