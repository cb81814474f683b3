"""The default policy: the clearance-checked FC-GQ-CNN chain where the frame has intrinsics, the
GG-CNN2 where it has none; on real Primesense frames."""
import json

import numpy as np
import pytest

from grasplab.cli import main
from grasplab.errors import ConfigError, GrasplabError
from grasplab.imaging import read_frame
from grasplab.policies import AutoPolicy, FallbackPolicy, load_policy, with_clearance


@pytest.fixture(scope="module")
def auto():
    return load_policy()


def _frames(shared_data, k: int):
    d = shared_data / "gqcnn" / "primesense"
    intr = shared_data / "gqcnn" / "calib" / "primesense.intr"
    return read_frame(d / f"depth_{k}.npy", None, None, intr), read_frame(d / f"depth_{k}.npy", None, None, None)


def _same(a, b):
    return [(g.grasp.center_xy_px, g.grasp.angle_rad, g.grasp.width_px, g.grasp.depth_m, g.score) for g in a] == \
        [(g.grasp.center_xy_px, g.grasp.angle_rad, g.grasp.width_px, g.grasp.depth_m, g.score) for g in b]


def test_a_frame_with_intrinsics_gets_the_checked_chain_and_one_without_the_ggcnn2(auto, shared_data):
    metric, pixels = _frames(shared_data, 0)
    got = auto.plan(metric, max_grasps=3, seed=4)
    assert auto.last_stats["planned_with"] == "fallback" and all(g.pose is not None for g in got)
    chain = FallbackPolicy([with_clearance(load_policy(name), rank_by="estimate")
                            for name in ("fc-gqcnn", "gqcnn-rank")], until="favoured")
    assert _same(got, chain.plan(metric, max_grasps=3, seed=4))          # the same grasps as the chain itself
    flat = auto.plan(pixels, max_grasps=3, seed=4)
    assert auto.last_stats["planned_with"] == "map" and all(g.pose is None for g in flat)
    assert _same(flat, load_policy("map").plan(pixels, max_grasps=3, seed=4))


@pytest.mark.parametrize("k", range(5))
def test_on_real_primesense_frames_the_top_grasp_lies_on_the_object_within_the_opening(auto, shared_data, k):
    """No mask given: the best grasp's centre lies on the segmented object (the samples' masks), and it
    opens no wider than the Robotiq's 8.5 cm."""
    from PIL import Image
    metric, _ = _frames(shared_data, k)
    mask = np.asarray(Image.open(shared_data / "gqcnn" / "primesense" / f"segmask_{k}.png")) > 0
    mask = mask if mask.ndim == 2 else mask[..., 0]
    best = auto.plan(metric, max_grasps=1, seed=0)[0]
    x, y = (int(round(v)) for v in best.grasp.center_xy_px)
    assert mask[y, x] and best.width_m <= 0.085


def test_options_spec_and_refusals(auto, shared_data):
    assert isinstance(auto, AutoPolicy) and auto.spec() == {"policy": "auto", "options": {}}
    yumi = load_policy("auto", gripper="yumi")
    assert load_policy(**yumi.spec()["options"]).spec() == yumi.spec()
    assert yumi.metric.policies[0].gripper.name == "yumi"
    metric, pixels = _frames(shared_data, 2)
    assert all(g.width_m <= 0.05 for g in yumi.plan(metric, max_grasps=5))            # YuMi's 5 cm opening
    with pytest.raises(GrasplabError, match="needs the camera intrinsics"):             # a width in metres
        yumi.plan(pixels)
    with pytest.raises(ConfigError, match="already checks clearance"):
        with_clearance(auto)
    with pytest.raises(ConfigError, match="unknown gripper"):
        load_policy("auto", gripper="no-such-hand")
    with pytest.raises(GrasplabError, match="takes a grasplab Frame"):
        auto.plan(np.zeros((4, 4)))


def test_predict_defaults_to_auto_and_clearance_requires_intrinsics(shared_data, tmp_path, capsys):
    d = shared_data / "gqcnn" / "primesense"
    intr = shared_data / "gqcnn" / "calib" / "primesense.intr"
    with pytest.raises(SystemExit) as exc:
        main(["predict", "--depth", str(d / "depth_1.npy"), "--intrinsics", str(intr), "--max-grasps", "2",
              "--out", str(tmp_path / "p")])
    assert (exc.value.code or 0) == 0
    written = json.loads((tmp_path / "p" / "grasps.json").read_text())
    assert written["config"]["policy"]["policy"] == "auto" and len(written["grasps"]) == 2
    assert "without --intrinsics" not in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:                        # no intrinsics: the GG-CNN2, and a note why
        main(["predict", "--depth", str(d / "depth_1.npy"), "--out", str(tmp_path / "n")])
    assert (exc.value.code or 0) == 0 and "without --intrinsics" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        main(["predict", "--depth", str(d / "depth_1.npy"), "--clearance", "--out", str(tmp_path / "q")])
    text = capsys.readouterr()
    assert exc.value.code != 0 and "needs the camera intrinsics" in text.out + text.err
    assert "Traceback" not in text.out + text.err
