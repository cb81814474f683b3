"""Why a top grasp missed: a grasp the labels tried and rejected, or one they never tried."""
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is not installed")

from grasplab.datasets.jacquard import list_jacquard_scenes  # noqa: E402
from grasplab.datasets.jacquard_layout import write_jacquard_view  # noqa: E402
from grasplab.evaluation import evaluate_policy  # noqa: E402
from grasplab.geometry import Grasp2D  # noqa: E402
from grasplab.policies import load_policy  # noqa: E402
from oracle_models import PeakOracle, save_for_detection  # noqa: E402


def candidate(x, y, positive):
    return {"center_xy_px": [x, y], "angle_rad": 0.0, "width_px": 30.0, "jaw_px": 15.0, "positive": positive}


@pytest.fixture
def scene_root(tmp_path):
    """One 96² grasplab-style scene: a positive grasp at (x 30, y 30), a rejected one at (70, 60)."""
    depth = np.full((96, 96), 0.7)
    write_jacquard_view(tmp_path / "jq", 0, "box_00000", np.zeros((96, 96, 3), np.uint8), depth, depth,
                        np.ones((96, 96), np.uint8) * 255, [Grasp2D((30.0, 30.0), 0.0, 30.0, 15.0)],
                        {"candidates": [candidate(30.0, 30.0, True), candidate(70.0, 60.0, False)]})
    return tmp_path / "jq"


@pytest.mark.parametrize("row,col,hit,kind", [(30, 30, True, None), (60, 70, False, "labelled negative"),
                                              (60, 30, False, "untried")])
def test_misses_are_told_apart(scene_root, tmp_path, row, col, hit, kind):
    model = save_for_detection(PeakOracle(row=row, col=col), tmp_path / "m.npz")
    scenes = list_jacquard_scenes(scene_root)
    assert len(scenes[0].negative_rectangles()) == 1
    rep = evaluate_policy(load_policy(model), scenes, k=1, out_dir=tmp_path / "e", figures=0)
    assert rep.top1.value == float(hit) and rep.per_scene[0].get("miss") == kind
    assert rep.misses == ({} if hit else {kind: 1})
    assert json.loads((tmp_path / "e" / "evaluation.json").read_text())["top1_misses"] == rep.misses


def test_scenes_without_a_sidecar_say_unknown(scene_root, tmp_path):
    next(scene_root.glob("*/*_grasps.json")).unlink()
    scenes = list_jacquard_scenes(scene_root)
    assert scenes[0].negative_rectangles() is None
    model = save_for_detection(PeakOracle(row=60, col=30), tmp_path / "m.npz")
    assert evaluate_policy(load_policy(model), scenes, k=1, figures=0).misses == {"unknown": 1}
