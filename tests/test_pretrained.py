"""The shipped pretrained model: loads, has a card, gives sensible grasps on real frames; the demo."""
import json

import numpy as np
import pytest

from grasplab.cli import main
from grasplab.errors import GrasplabError
from grasplab.models import load_model
from grasplab.models.pretrained import DEFAULT, FAST, available, model_card, resolve_model

pytestmark = pytest.mark.skipif(DEFAULT not in available(), reason="the default pretrained model is not installed")


@pytest.mark.parametrize("name,arch,params", [(DEFAULT, "ggcnn2", 66_676), (FAST, "ggcnn", 62_420),
                                              ("ggcnn-fast-synth-depth", "ggcnn", 30_908)])
def test_pretrained_models_load_with_their_cards_and_scale(name, arch, params):
    model = load_model(resolve_model(name))
    assert model.architecture == arch and model.num_parameters == params
    assert (resolve_model(None) == resolve_model(DEFAULT)) and model.metadata["name"] == name
    pre = model.metadata["preprocess"]
    assert pre["output_px"] == 300 and pre["px_per_m"] > 0 and pre["depth_reference"] == "table"
    card = model_card(name)
    for section in ("## Data", "## Command", "## Metrics", "## Limits"):
        assert section in card
    assert f"{model.metadata['best_val_accuracy']:.1%}" in card


def test_models_cli_lists_the_default(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["models"])
    assert exc.value.code in (0, None)
    assert DEFAULT in capsys.readouterr().out


@pytest.mark.parametrize("name", [DEFAULT, "ggcnn-fast-synth-depth"])
@pytest.mark.parametrize("frame", range(5))
def test_sensible_grasps_on_real_primesense_frames(shared_data, frame, name):
    """On the real Primesense frames the top grasp lies on the object and fits the gripper."""
    from grasplab.geometry import CameraIntrinsics
    from grasplab.imaging import read_depth_raw, read_mask
    from grasplab.policies import load_detector
    base = shared_data / "gqcnn" / "primesense"
    K = CameraIntrinsics.from_file(shared_data / "gqcnn" / "calib" / "primesense.intr")
    mask = read_mask(base / f"segmask_{frame}.png") > 0
    grasps = load_detector(name).detect(read_depth_raw(base / f"depth_{frame}.npy"), intrinsics=K, mask=mask)
    assert grasps, "no grasp found"
    best = grasps[0]
    col, row = np.rint(best.grasp.center_xy_px).astype(int)
    near = mask[max(row - 3, 0):row + 4, max(col - 3, 0):col + 4]
    assert near.any(), f"top grasp at ({col}, {row}) is off the object"
    assert 0.005 < best.width_m < 0.085 + 0.01, f"width {best.width_m:.3f} m"
    assert 0.3 < best.center_m[2] < 1.2


def test_grasps_wider_than_the_gripper_are_dropped(shared_data):
    from grasplab.errors import GrasplabError
    from grasplab.geometry import CameraIntrinsics
    from grasplab.imaging import read_depth_raw, read_mask
    from grasplab.policies import load_detector
    base = shared_data / "gqcnn" / "primesense"
    K = CameraIntrinsics.from_file(shared_data / "gqcnn" / "calib" / "primesense.intr")
    depth, mask = read_depth_raw(base / "depth_2.npy"), read_mask(base / "segmask_2.png") > 0
    det = load_detector()
    every = det.detect(depth, intrinsics=K, mask=mask, max_grasps=20)
    limit = float(np.median([g.width_m for g in every]))     # a gripper that fits about half of them
    assert any(g.width_m > limit for g in every)
    narrow = det.detect(depth, intrinsics=K, mask=mask, max_grasps=20, max_width_m=limit)
    assert narrow and all(g.width_m <= limit for g in narrow)
    assert [g.grasp.center_xy_px for g in narrow][:3] == [g.grasp.center_xy_px for g in every if g.width_m <= limit][:3]
    with pytest.raises(GrasplabError, match="intrinsics"):
        det.detect(depth, mask=mask, max_width_m=0.05)


def test_demo_runs_and_scores(tmp_path):
    from grasplab.demo import DemoConfig, run_demo
    with pytest.raises(GrasplabError, match="no scene was rendered"):    # objects 0 and 1 are too wide
        run_demo(DemoConfig(objects=2, grasps_per_object=60), tmp_path / "none", show_progress=False)
    rep = run_demo(DemoConfig(objects=3, grasps_per_object=60), tmp_path / "demo", show_progress=False)
    assert rep["scenes"] and {"top1", "top5"} <= set(rep)
    assert (tmp_path / "demo" / "grasps.png").stat().st_size > 10_000
    saved = json.loads((tmp_path / "demo" / "demo.json").read_text())
    assert saved["grasplab_version"] and saved["top1"]["total"] == rep["top1"]["total"]


def test_packaging_names_a_pretrained_teacher_by_name(tmp_path):
    """Model cards must not carry this machine's path to a teacher or starting model that ships
    with grasplab: it becomes the pretrained name, which resolve_model understands anywhere."""
    import importlib.util
    from pathlib import Path

    from grasplab.models.pretrained import HERE, resolve_model
    script = Path(__file__).resolve().parents[1] / "scripts" / "package_pretrained.py"
    spec = importlib.util.spec_from_file_location("package_pretrained", script)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    own = str(HERE / "ggcnn-synth-depth.npz")
    meta = mod._portable_paths({"teacher_path": own, "init_path": str(tmp_path / "run" / "model.npz"), "x": 1}, HERE)
    assert meta == {"teacher_path": "ggcnn-synth-depth", "init_path": str(tmp_path / "run" / "model.npz"), "x": 1}
    assert resolve_model(meta["teacher_path"]) == Path(own)
    assert load_model(resolve_model("ggcnn-fast-synth-depth")).metadata["teacher_path"] == "ggcnn-synth-depth"
