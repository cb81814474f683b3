"""What a user meets first: summaries, tables, figures and exit codes say what happened."""
import json

import numpy as np
import pytest

from grasplab.cli import main


def run(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out = capsys.readouterr()
    return exc.value.code or 0, out.out + out.err


def test_synth_refuses_a_dataset_without_positives_and_names_the_fix(tmp_path, capsys):
    """Dex-Net 2.0's 5 cm YuMi on procedural objects gives no positive: exit 2 with the fix, and
    the counts say objects (not object poses); the data is kept for a resume."""
    code, text = run(["synth", "--objects", "procedural:2:box,cylinder", "--workers", "0", "--max-poses", "1",
                      "--out", str(tmp_path / "d")], capsys)
    assert code == 2 and "Traceback" not in text
    assert "from 2 objects" in text and "too few to train on" in text and "--preset jacquard-like" in text
    assert (tmp_path / "d" / "synth_config.json").is_file()
    code, text = run(["synth", "--objects", "procedural:2:box,cylinder", "--workers", "0", "--max-poses", "1",
                      "--gripper", "robotiq_2f85", "--out", str(tmp_path / "r")], capsys)
    assert "try --gripper robotiq_2f85" not in text and "--gripper robotiq_2f85, or" not in text


def test_models_and_policies_tables_keep_names_and_numbers_whole(capsys):
    from grasplab.models.pretrained import available
    from grasplab.policies import policy_names
    code, text = run(["models"], capsys)
    assert code == 0
    for name in available():
        assert name in text and f"{name}:" in text
    assert "parameters" in text and "…" not in text
    code, text = run(["policies"], capsys)
    assert code == 0 and "…" not in text and all(f"{n}:" in text for n in policy_names())


def test_predict_overlay_is_full_size_and_uses_the_colour_convention(tmp_path, shared_data, capsys):
    from PIL import Image
    code, text = run(["predict", "--depth", str(shared_data / "gqcnn/primesense/depth_0.npy"), "--intrinsics",
                      str(shared_data / "gqcnn/calib/primesense.intr"), "--max-grasps", "3",
                      "--out", str(tmp_path / "p")], capsys)
    assert code == 0
    img = np.asarray(Image.open(tmp_path / "p" / "overlay.png").convert("RGB")).astype(int)
    assert img.shape[1] >= 600                                  # the 640-px frame, not a 350-px thumbnail
    blue = (np.abs(img - [0, 191, 255]).sum(axis=2) < 60).sum()  # the returned grasps: blue
    green = (np.abs(img - [0, 255, 0]).sum(axis=2) < 60).sum()   # green is for labelled positives only
    assert blue > 50 and green == 0
    assert "1 grasps" not in json.dumps(json.loads((tmp_path / "p" / "grasps.json").read_text()))


def test_evaluate_says_how_many_grasps_topk_had(tmp_path, shared_data, capsys):
    code, text = run(["evaluate", "--data", str(shared_data / "jacquard"), "--out", str(tmp_path / "e")], capsys)
    assert code == 0
    rep = json.loads((tmp_path / "e" / "evaluation.json").read_text())
    got = rep["grasps_returned"]
    assert got["scenes"] == 25 and 0 < got["mean"] < 5
    assert f"5 in {got['scenes_with_k']} of 25 scenes" in text
    for kind in ("labelled negative", "untried", "no grasp", "unknown"):    # only misses that occur are explained
        assert (f"{kind}:" in text) == (kind in rep["top1_misses"])


def test_no_grasp_without_intrinsics_says_the_metric_scale_was_not_used():
    from grasplab.errors import NoGraspFoundError
    from grasplab.imaging import Frame
    from grasplab.policies import load_policy
    flat = Frame.from_images(np.full((300, 300), 0.7))          # an empty table: nothing to grasp
    with pytest.raises(NoGraspFoundError, match="without intrinsics .* metric scale .* pass the camera intrinsics"):
        load_policy(None).plan(flat)


def test_repaired_meshes_are_named_in_the_summary_and_objects_json(tmp_path, capsys):
    import trimesh
    sphere = trimesh.creation.icosphere(subdivisions=3, radius=0.04)
    a, b = sphere.edges_unique[0]
    tip = (sphere.vertices[a] + sphere.vertices[b]) / 2 * 1.002           # a sliver: an edge with three faces
    scanned = trimesh.Trimesh(np.vstack([sphere.vertices, tip]),
                              np.vstack([sphere.faces, [a, b, len(sphere.vertices)]]), process=False)
    (tmp_path / "meshes").mkdir()
    scanned.export(tmp_path / "meshes" / "scan.obj")
    code, text = run(["render", "--objects", f"meshes:{tmp_path / 'meshes'}", "--views", "1", "--renderer", "raycast",
                      "--out", str(tmp_path / "r")], capsys)
    assert code == 0 and "1 meshes repaired" in text and "MeshFix" in text
    rec = json.loads((tmp_path / "r" / "objects.json").read_text())
    assert any("MeshFix" in n for notes in rec["repaired"].values() for n in notes)
