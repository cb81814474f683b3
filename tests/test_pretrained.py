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
    from grasplab.imaging import read_frame
    from grasplab.policies import load_policy
    base = shared_data / "gqcnn" / "primesense"
    f = read_frame(base / f"depth_{frame}.npy", mask=base / f"segmask_{frame}.png",
                   intrinsics=shared_data / "gqcnn" / "calib" / "primesense.intr")
    grasps = load_policy(name).plan(f)
    assert grasps, "no grasp found"
    for g in grasps:                                     # every grasp on the object, not only the first
        col, row = np.rint(g.grasp.center_xy_px).astype(int)
        assert f.mask[row, col], f"grasp at ({col}, {row}) is off the object"
    best = grasps[0]
    assert 0.005 < best.width_m < 0.085 + 0.01, f"width {best.width_m:.3f} m"
    assert 0.3 < best.center_m[2] < 1.2


def test_grasps_wider_than_the_gripper_are_dropped(shared_data):
    """A real frame without its mask and a low decoding threshold: several grasps of different
    widths; a gripper that opens less keeps the narrower ones, in the same order."""
    from grasplab.imaging import Frame, read_frame
    from grasplab.policies import load_policy
    base = shared_data / "gqcnn" / "primesense"
    frame = read_frame(base / "depth_1.npy", intrinsics=shared_data / "gqcnn" / "calib" / "primesense.intr")
    low = {"threshold": 0.05}
    every = load_policy(decoding=low).plan(frame, max_grasps=20)
    limit = float(np.median([g.width_m for g in every]))     # a gripper that fits about half of them
    assert len(every) >= 3 and any(g.width_m > limit for g in every)
    narrow = load_policy(decoding=low, max_width_m=limit).plan(frame, max_grasps=20)
    assert narrow and all(g.width_m <= limit for g in narrow)
    assert [g.grasp.center_xy_px for g in narrow] == [g.grasp.center_xy_px for g in every if g.width_m <= limit]
    with pytest.raises(GrasplabError, match="intrinsics"):
        load_policy(max_width_m=0.05).plan(Frame(frame.depth_m))       # no intrinsics: no width in metres


def test_demo_runs_and_scores(tmp_path):
    from grasplab.experiments.demo import DemoConfig, run_demo
    with pytest.raises(GrasplabError, match="no scene was rendered"):    # objects 0 and 1 are too wide
        run_demo(DemoConfig(objects=2), tmp_path / "none", show_progress=False)
    rep = run_demo(DemoConfig(objects=3), tmp_path / "demo", show_progress=False)
    assert rep["scenes"] and {"top1", "top5"} <= set(rep)
    assert rep["config"]["policy"]["policy"] == "auto" and rep["config"]["synth_preset"] == "demo"
    # objects the synthesis left out and views without an analytic positive are reported, not dropped silently
    assert set(rep["objects_without_scenes"]) >= {"box_00000"} and "gripper" in rep["objects_without_scenes"]["box_00000"]
    assert len(rep["unscored_scenes"]) == rep["scenes_without_labels"]
    for row in rep["scenes"]:                    # the robot's gripper bounds every planned width
        assert row["grasp"] is None or row["grasp"]["width_m"] <= 0.085 + 1e-9
    other = run_demo(DemoConfig(objects=3, policy="random-antipodal"), tmp_path / "demo", show_progress=False)
    assert other["config"]["policy"]["policy"] == "random-antipodal" and other["top1"]["total"] == rep["top1"]["total"]
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


@pytest.fixture(scope="module")
def shipped_gqcnn():
    from grasplab.models.pretrained import DEFAULT_GQCNN
    if DEFAULT_GQCNN not in available():
        pytest.skip("the shipped GQ-CNN is not installed")
    return DEFAULT_GQCNN


def test_the_shipped_gqcnn_is_small_with_a_card_and_its_training_camera(shipped_gqcnn):
    path = resolve_model(shipped_gqcnn)
    assert path.stat().st_size <= 10e6                                    # the limit
    model = load_model(path)
    assert model.architecture == "gqcnn" and model.metadata["name"] == shipped_gqcnn
    cam = model.metadata["dataset"]["training_camera"]
    assert 0.1 < cam["crop_side_m"][1] < 0.2 and 1.3 < cam["table_depth_m"][1] < 1.7   # Jacquard-like frames
    card = model_card(shipped_gqcnn)
    for section in ("## Data", "## Command", "## Metrics", "## Limits"):
        assert section in card
    assert f"{model.metadata['best_val_accuracy']:.1%}" in card and "heaps" in card


@pytest.mark.parametrize("policy", ["fc-gqcnn", "gqcnn-rank", "gqcnn-cem"])
def test_the_gqcnn_policies_grasp_real_primesense_objects_without_masks(shared_data, shipped_gqcnn, policy):
    """Trained at 1.5 m with f ≈ 1000 px, planning on a real Primesense frame (0.7 m, f 525 px)
    without its mask: the top grasp lies on the object (the segmask, dilated 3 px for its edge)
    and fits the 8.5 cm opening — the camera adaptation at work (without it, with
    ``training_camera`` cleared, 0–1 of 5 top grasps were on the object)."""
    from scipy import ndimage

    from grasplab.imaging import read_frame, read_mask
    from grasplab.policies import load_policy
    base = shared_data / "gqcnn" / "primesense"
    pol = load_policy(policy)
    on = 0
    for k in range(5):
        f = read_frame(base / f"depth_{k}.npy", intrinsics=shared_data / "gqcnn" / "calib" / "primesense.intr")
        obj = ndimage.binary_dilation(read_mask(base / f"segmask_{k}.png"), iterations=3)
        assert pol.camera_fit(f.depth_m, f.intrinsics)[1] > 0.5               # the 0.73 m table moved to ≥ 1.41 m
        best = pol.plan(f, max_grasps=1, seed=0)[0]
        col, row = np.rint(best.grasp.center_xy_px).astype(int)
        on += bool(obj[row, col])
        assert best.width_m <= 0.085 + 1e-6 and 0.3 < best.center_m[2] < 1.2
    assert on == 5, f"{policy}: {on} of 5 top grasps on the object"
