"""``grasplab evaluate`` scores exactly the grasps ``grasplab predict`` returns for the same frame:
both go through ``Frame`` → ``policy.plan``; evaluation only adds the labels."""
import json

import pytest

torch = pytest.importorskip("torch", reason="torch is not installed")

from grasplab.cli import main  # noqa: E402
from grasplab.datasets.scene_sources import load_scenes  # noqa: E402
from grasplab.geometry import CameraIntrinsics  # noqa: E402
from grasplab.models import GQCNN  # noqa: E402


@pytest.fixture(scope="module")
def scenes_dir(tmp_path_factory):
    from grasplab.synth import SynthConfig, run_synth
    out = tmp_path_factory.mktemp("scenes")
    run_synth(SynthConfig.from_preset("jacquard-like", objects="procedural:3:box,cylinder,prism", seed=7,
                                      views_per_pose=1, max_poses=1, grasps_per_object=60, camera="primesense",
                                      quality={"num_samples": 5}), out, workers=0, show_progress=False)
    return out


def _cli(argv):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    return exc.value.code


@pytest.mark.parametrize("policy", ["map", "gqcnn-rank"])
def test_evaluate_scores_the_grasps_predict_returns(scenes_dir, tmp_path, policy):
    model = []
    if policy.startswith("gqcnn"):                  # a small GQ-CNN: its sampling is seeded per scene
        torch.manual_seed(0)
        path = GQCNN(filters=4, fc_size=8, im_mean=0.7, im_std=0.01, depth_mean=0.7, depth_std=0.01).save(
            tmp_path / "gq.npz", metadata={"dataset": {"crop_px": 96, "gripper": "robotiq_2f85"}})
        model = ["--model", str(path)]
    assert _cli(["evaluate", "--policy", policy, *model, "--data", str(scenes_dir), "--depth", "stereo", "--k", "3",
                 "--seed", "5", "--out", str(tmp_path / "eval")]) in (0, None)
    report = json.loads((tmp_path / "eval" / "evaluation.json").read_text())
    rows = {r["scene"]: r for r in report["per_scene"]}
    scenes = [s for s in load_scenes(scenes_dir, "jacquard", "stereo") if s.rectangles()]
    assert scenes and len(rows) == len(scenes)
    for sc in scenes:
        row = rows[str(sc.stem)]
        intr = tmp_path / f"{sc.stem.name}.json"
        intr.write_text(json.dumps(CameraIntrinsics.from_dict(sc.sidecar()["intrinsics"]).to_dict()))
        out = tmp_path / "pred" / sc.stem.name
        code = _cli(["predict", "--policy", policy, *model, "--depth", f"{sc.stem}_stereo_depth.tiff",
                     "--mask", f"{sc.stem}_mask.png", "--intrinsics", str(intr), "--max-grasps", "3",
                     "--seed", str(row["seed"]), "--out", str(out)])
        predicted = json.loads((out / "grasps.json").read_text())["grasps"]
        assert code in (0, None, 2) and len(predicted) == row["grasps"]
        if predicted:          # the very grasp evaluation scored, to the last digit (the scenes also know
            # the camera's pose, so evaluation adds the grasp in the world)
            assert predicted[0] == {k: v for k, v in row["grasp"].items() if "world" not in k}
        else:
            assert row["grasp"] is None and row.get("miss") == "no grasp"
