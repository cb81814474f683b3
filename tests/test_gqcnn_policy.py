"""Dex-Net 2.0's antipodal depth-image sampler (known answers on a rendered box, a real Primesense
frame) and the GQ-CNN ranking and cross-entropy policies."""
import numpy as np
import pytest

from grasplab.errors import GrasplabError
from grasplab.geometry import CameraIntrinsics
from grasplab.models import GQCNN
from grasplab.errors import NoGraspFoundError
from grasplab.imaging import Frame
from grasplab.policies.antipodal_depth import AntipodalDepthConfig, sample_antipodal_grasps
from grasplab.policies.gqcnn_policy import GQCNNPolicy, GQCNNPolicyConfig

INTR = CameraIntrinsics(fx=525.0, fy=525.0, cx=319.5, cy=239.5, width=640, height=480)
TABLE_M, TOP_M = 0.70, 0.67
PX_PER_M = INTR.fx / TOP_M


def box_scene(short_m=0.04, long_m=0.10, center=(320, 240)):
    """A depth image of a box standing on a table, its short side along the image x axis."""
    d = np.full((INTR.height, INTR.width), TABLE_M)
    hw, hl = short_m / 2 * PX_PER_M, long_m / 2 * PX_PER_M
    rows = slice(int(round(center[1] - hl)), int(round(center[1] + hl)))
    cols = slice(int(round(center[0] - hw)), int(round(center[0] + hw)))
    d[rows, cols] = TOP_M
    mask = np.zeros(d.shape, bool)
    mask[rows, cols] = True
    return d, mask, rows, cols


def test_sampler_box_known_answer():
    d, _, rows, cols = box_scene()
    grasps = sample_antipodal_grasps(d, INTR, 0.085, 40, np.random.default_rng(0))
    assert len(grasps) == 40
    cone = np.arctan(0.8)
    short_px = 0.04 * PX_PER_M
    for g in grasps:
        x, y = g.center_xy_px
        assert cols.start - 1 <= x <= cols.stop and rows.start - 1 <= y <= rows.stop      # on the box
        assert abs(g.angle_rad) <= cone + 0.05            # across the short side, inside the friction cone
        assert short_px - 8 <= g.width_px <= (short_px + 8) / np.cos(abs(g.angle_rad))
        assert TOP_M + 0.005 <= g.depth_m <= TOP_M + 0.04  # Dex-Net's depth offsets below the top surface
    # distinct: no two grasps closer than min_grasp_dist (pixels + 5 × radians)
    from grasplab.geometry.grasps import angle_difference_rad
    c = np.array([g.center_xy_px for g in grasps])
    a = np.array([g.angle_rad for g in grasps])
    gaps = np.linalg.norm(c[:, None] - c[None], axis=2) + 5.0 * angle_difference_rad(a[:, None], a[None])
    assert (gaps + np.eye(len(c)) * 99).min() >= 2.5
    again = sample_antipodal_grasps(d, INTR, 0.085, 40, np.random.default_rng(0))
    assert [g.center_xy_px for g in again] == [g.center_xy_px for g in grasps]


def test_antipodal_pairs_are_the_pairs_tested_one_by_one():
    from grasplab.policies.antipodal_depth import _antipodal_pairs
    rng = np.random.default_rng(3)
    pts = rng.uniform(0, 120, (57, 2)).round()
    a = rng.uniform(-np.pi, np.pi, 57)
    normals = np.stack([np.cos(a), np.sin(a)], 1)
    depth = 0.6 + 0.2 * rng.random((130, 130))
    fx, width_m, mu = 500.0, 0.085, 0.8
    cos_cone = np.cos(np.arctan(mu))
    want = []
    for i in range(57):
        for j in range(i + 1, 57):
            d = pts[j] - pts[i]
            dist = np.hypot(*d)
            z = min(depth[int(pts[i, 1]), int(pts[i, 0])], depth[int(pts[j, 1]), int(pts[j, 0])])
            if dist > 0 and normals[i] @ d <= -cos_cone * dist and normals[j] @ d >= cos_cone * dist \
                    and dist * z / fx <= width_m:
                want.append((i, j))
    assert len(want) > 20
    for block in (1, 5, 56, 256):               # blocks smaller, equal to and larger than the edges
        ii, jj = _antipodal_pairs(pts, normals, depth, fx, width_m, mu, rows_per_block=block)
        assert list(zip(ii.tolist(), jj.tolist())) == want      # in row-major order, whatever the x-sorting
    far = _antipodal_pairs(pts * 10, normals, depth.repeat(10, 0).repeat(10, 1), fx, width_m, mu)
    assert len(far[0]) < len(ii)                                  # spread 10× wider, fewer pairs fit


def test_sampler_refuses_what_cannot_be_grasped():
    d, _, _, _ = box_scene(short_m=0.10, long_m=0.12)          # wider than the 8.5 cm opening both ways
    with pytest.raises(NoGraspFoundError, match="8.5 cm opening"):
        sample_antipodal_grasps(d, INTR, 0.085, 10, np.random.default_rng(0))
    with pytest.raises(NoGraspFoundError, match="no depth edges"):
        sample_antipodal_grasps(np.full((480, 640), 0.7), INTR, 0.085, 10, np.random.default_rng(0))
    d, _, _, _ = box_scene()
    d[5, 5] = np.nan
    with pytest.raises(GrasplabError, match="inpaint"):
        sample_antipodal_grasps(d, INTR, 0.085, 10, np.random.default_rng(0))
    # a box too close to the border for the grasp-aligned crop
    d, _, _, _ = box_scene(center=(20, 240))
    with pytest.raises(NoGraspFoundError, match="border"):
        sample_antipodal_grasps(d, INTR, 0.085, 10, np.random.default_rng(0))


def test_sampler_mask_keeps_grasps_on_the_object():
    d, _, _, _ = box_scene(center=(250, 240))
    d2, mask2, rows2, cols2 = box_scene(center=(400, 240))
    d = np.minimum(d, d2)
    grasps = sample_antipodal_grasps(d, INTR, 0.085, 30, np.random.default_rng(1), mask=mask2)
    assert grasps and all(cols2.start <= g.center_xy_px[0] < cols2.stop for g in grasps)


def test_sampler_on_real_primesense_frame(shared_data):
    from grasplab.imaging import prepare_depth_m, read_mask
    intr = CameraIntrinsics.from_file(shared_data / "gqcnn/calib/primesense.intr")
    d = prepare_depth_m(np.load(shared_data / "gqcnn/primesense/depth_0.npy")).depth_m.astype(np.float64)
    mask = read_mask(shared_data / "gqcnn/primesense/segmask_0.png")
    grasps = sample_antipodal_grasps(d, intr, 0.05, 50, np.random.default_rng(0), mask=mask)
    assert len(grasps) >= 10
    for g in grasps:
        x, y = np.rint(g.center_xy_px).astype(int)
        assert mask[y, x]
        assert g.width_px * min(g.depth_m, d[y, x]) / intr.fx <= 0.05 + 1e-9


@pytest.fixture()
def policy_model(tmp_path):
    path = GQCNN(filters=4, fc_size=8, im_mean=0.7, im_std=0.01, depth_mean=0.7, depth_std=0.01).save(
        tmp_path / "gq.npz", metadata={"dataset": {"crop_px": 96, "gripper": "robotiq_2f85"}})
    return path


def _target_scorer(target_xy):
    """A stand-in GQ-CNN that likes grasps centred on ``target_xy`` (a known optimum)."""
    def score(depth_m, grasps, fx_px=None, depth_offset_m=0.0):
        c = np.array([g.center_xy_px for g in grasps]).reshape(-1, 2)
        return np.exp(-np.sum((c - target_xy) ** 2, 1) / (2 * 6.0 ** 2))
    return score


def test_rank_policy_orders_by_score_and_reports_metres(policy_model):
    d, mask, _, _ = box_scene()
    pol = GQCNNPolicy(policy_model, GQCNNPolicyConfig(method="rank", num_candidates=60))
    assert pol.gripper_max_width_m == pytest.approx(0.085) and pol.crop_px == 96
    q = pol.score(d, sample_antipodal_grasps(d, INTR, 0.085, 5, np.random.default_rng(0)))
    assert q.shape == (5,) and np.all((q >= 0) & (q <= 1))      # the real network runs on real crops
    pol.score = _target_scorer(np.array([320.0, 270.0]))
    out = pol.plan(Frame(d, mask=mask, intrinsics=INTR), max_grasps=10)
    qs = [g.score for g in out]
    assert qs == sorted(qs, reverse=True) and len(out) == 10
    g = out[0]
    assert g.width_m == pytest.approx(g.grasp.width_px * g.grasp.depth_m / INTR.fx, rel=1e-6)
    assert g.center_m[2] == pytest.approx(g.grasp.depth_m)
    with pytest.raises(GrasplabError, match="intrinsics"):
        pol.plan(Frame(d))


def test_cem_finds_the_optimum_better_than_its_seeds(policy_model):
    d, mask, _, _ = box_scene()
    target = np.array([320.0, 275.0])
    cem = GQCNNPolicy(policy_model, GQCNNPolicyConfig(method="cem"))
    cem.score = _target_scorer(target)
    seeds_only = GQCNNPolicy(policy_model, GQCNNPolicyConfig(method="cem", cem=type(cem.config.cem)(iterations=0)))
    seeds_only.score = _target_scorer(target)
    frame = Frame(d, mask=mask, intrinsics=INTR)
    best = [cem.plan(frame, seed=s)[0] for s in range(4)]
    base = [seeds_only.plan(frame, seed=s)[0] for s in range(4)]
    assert all(b.score >= a.score for a, b in zip(base, best))
    assert np.mean([b.score for b in best]) > np.mean([a.score for a in base])
    assert all(np.linalg.norm(np.array(b.grasp.center_xy_px) - target) < 4 for b in best)
    for b in best:                                                  # CEM draws respect the mask and gripper
        x, y = np.rint(b.grasp.center_xy_px).astype(int)
        assert mask[y, x] and b.width_m <= 0.085
    assert cem.plan(frame, seed=2)[0].grasp == best[2].grasp      # seeded


def test_policy_config_checks():
    with pytest.raises(GrasplabError, match="unknown policy method"):
        GQCNNPolicyConfig(method="random")
    with pytest.raises(GrasplabError, match="depth offset"):
        AntipodalDepthConfig(min_depth_offset_m=0.05, max_depth_offset_m=0.01)


def test_evaluate_policy_scores_with_the_rectangle_metric(tmp_path, policy_model, monkeypatch):
    """On grasplab scenes, an oracle scorer (likes grasps matching a labelled positive) reaches
    every scene whose sampled candidates include one; its opposite reaches none."""
    from grasplab.datasets.scene_sources import load_scenes
    from grasplab.evaluation.evaluate_policy import evaluate_policy
    from grasplab.evaluation.rectangle_metric import RectangleMetric
    from grasplab.quality import QualityConfig
    from grasplab.synth import SynthConfig, run_synth
    run_synth(SynthConfig(objects="procedural:2:box,cylinder", views_per_pose=1, max_poses=1, grasps_per_object=40,
                          gripper="robotiq_2f85", camera="primesense", formats=("jacquard",),
                          quality=QualityConfig(num_samples=5, positive_threshold=0.0005)),
              tmp_path / "s", workers=0, show_progress=False)
    scenes = [s for s in load_scenes(tmp_path / "s", "jacquard", "stereo") if s.rectangles()]
    assert scenes
    metric = RectangleMetric()
    pol = GQCNNPolicy(policy_model, GQCNNPolicyConfig(method="rank", num_candidates=200))
    for sc in scenes:
        truth = sc.rectangles()
        pol.score = lambda depth, grasps, *fit: np.array([float(metric.matches(g, truth)) for g in grasps])
        good = evaluate_policy(pol, [sc], k=1, show_progress=False, out_dir=tmp_path / "e")
        pol.score = lambda depth, grasps, *fit: np.array([1.0 - float(metric.matches(g, truth)) for g in grasps])
        bad = evaluate_policy(pol, [sc], k=1, show_progress=False)
        assert good.top1.correct == 1 and bad.top1.correct == 0
    ev = (tmp_path / "e" / "evaluation.json").read_text()
    assert '"top1"' in ev and (tmp_path / "e" / "worst.png").is_file()
    import json

    from grasplab.bench.policy_bench import run_policy_bench
    res = run_policy_bench(str(policy_model), scenes, frames=2, threads=2)
    fc, rank, cem = res["results"]
    assert [fc["policy"], rank["policy"], cem["policy"]] == ["fc-gqcnn", "gqcnn-rank", "gqcnn-cem"]
    assert rank["median_ms"] > rank["sampling_median_ms"] > 0 and fc["sampling_median_ms"] == 0
    assert cem["grasps_scored"] > rank["grasps_scored"] > 0        # CEM scores its seeds and three rounds of draws
    assert set(res["ratios_to_rank"]) == {"fc-gqcnn", "gqcnn-rank", "gqcnn-cem"} and rank["target_ms"] == 100
    res = run_policy_bench(str(policy_model), scenes, frames=1, threads=2, policies=("fc-gqcnn",),
                           clearance="robotiq_2f85")
    assert [r["policy"] for r in res["results"]] == ["fc-gqcnn", "fc-gqcnn + clearance"]
    spec = tmp_path / "fc16.json"                   # a policy spec file timed alongside, with its policy's target
    spec.write_text(json.dumps({"policy": "fc-gqcnn", "options": {"model": str(policy_model), "angle_bins": 16,
                                                                    "refine_angle": False}}))
    res = run_policy_bench(str(policy_model), scenes, frames=1, threads=2, policies=("fc-gqcnn",), extra={"fc16": spec})
    assert [r["policy"] for r in res["results"]] == ["fc-gqcnn", "fc16"] and res["results"][1]["target_ms"] == 50
    with pytest.raises(GrasplabError, match="rename"):          # a file named like a policy would replace its row
        run_policy_bench(str(policy_model), scenes, frames=1, threads=2, extra={"gqcnn-rank": spec})


def test_predict_cli_with_a_gqcnn_on_a_real_frame(policy_model, shared_data, tmp_path, capsys):
    import json

    from grasplab.cli import main
    from grasplab.imaging import read_mask
    frames = shared_data / "gqcnn/primesense"
    argv = ["predict", "--model", str(policy_model), "--depth", str(frames / "depth_0.npy"),
            "--mask", str(frames / "segmask_0.png"), "--policy", "rank", "--out", str(tmp_path / "p")]
    with pytest.raises(SystemExit) as exc:
        main(argv)                                                # no intrinsics: a clear error, exit 2
    assert exc.value.code == 2 and "intrinsics" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(argv + ["--intrinsics", str(shared_data / "gqcnn/calib/primesense.intr")])
    assert exc.value.code in (0, None)
    out = json.loads((tmp_path / "p" / "grasps.json").read_text())
    mask = read_mask(frames / "segmask_0.png")
    assert len(out["grasps"]) == 5 and out["config"]["policy"]["policy"] == "gqcnn-rank"
    for g in out["grasps"]:
        x, y = np.rint(g["center_xy_px"]).astype(int)
        assert mask[y, x] and 0 < g["width_m"] <= 0.085 and len(g["center_m"]) == 3


def test_policy_without_mask_keeps_to_objects_above_the_table(policy_model):
    """Flat 6 mm plates on the table make depth edges too; without a mask the policy keeps grasps
    on what stands ≥ 1 cm above the fitted table (the box), unless told not to."""
    from grasplab.imaging import above_table
    d, mask, _, _ = box_scene()
    for x in (120, 520):
        d[200:240, x:x + 30] -= 0.006
    assert np.array_equal(above_table(d, 0.01), mask)
    pol = GQCNNPolicy(policy_model, GQCNNPolicyConfig(method="rank", num_candidates=80))
    pol.score = lambda depth, grasps, *fit: np.ones(len(grasps))
    on_box = [mask[int(round(g.grasp.center_xy_px[1])), int(round(g.grasp.center_xy_px[0]))]
              for g in pol.plan(Frame(d, intrinsics=INTR), max_grasps=80)]
    assert all(on_box)
    anywhere = GQCNNPolicy(policy_model, GQCNNPolicyConfig(method="rank", num_candidates=80, object_min_height_m=0))
    anywhere.score = pol.score
    off = [not mask[int(round(g.grasp.center_xy_px[1])), int(round(g.grasp.center_xy_px[0]))]
           for g in anywhere.plan(Frame(d, intrinsics=INTR), max_grasps=80)]
    assert any(off)
    with pytest.raises(NoGraspFoundError, match="nothing stands"):
        pol.plan(Frame(np.full((480, 640), 0.7), intrinsics=INTR))


def test_crops_scored_through_the_channels_last_layers(policy_model):
    """The policies score crops through the network's channels-last copy: in float32 the crop
    network's probabilities, in bfloat16 close to them; the choice is in the spec, and an unknown
    number type is refused."""
    import torch

    from grasplab.policies import load_policy
    d, mask, _, _ = box_scene()
    d = d + 0.002 * np.random.default_rng(0).standard_normal(d.shape)
    grasps = sample_antipodal_grasps(d, INTR, 0.085, 30, np.random.default_rng(1))
    pol32 = load_policy("gqcnn-rank", model=policy_model, conv_dtype="float32")
    pol16 = load_policy("gqcnn-rank", model=policy_model, conv_dtype="bfloat16")
    from grasplab.imaging.crops import rotated_crops
    crops = rotated_crops(d, np.array([g.center_xy_px for g in grasps]), np.array([g.angle_rad for g in grasps]), 96, 32)
    with torch.no_grad():
        want = pol32.model.predict_proba(torch.from_numpy(crops[:, None]),
                                         torch.tensor([g.depth_m for g in grasps], dtype=torch.float32)).numpy()
    np.testing.assert_allclose(pol32.score(d, grasps), want, atol=1e-5)
    assert np.abs(pol16.score(d, grasps) - want).max() < 0.02
    assert pol16.spec()["options"]["conv_dtype"] == "bfloat16" and pol16.dense.conv_dtype == torch.bfloat16
    with pytest.raises(GrasplabError, match="number type"):
        load_policy("gqcnn-cem", model=policy_model, conv_dtype="int8")
