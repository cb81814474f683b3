"""The crop re-ranker: crops, proposals, ranking, a learned known answer, training and refusals."""
import numpy as np
import pytest
import torch

from grasplab.errors import ConfigError, GrasplabError
from grasplab.evaluation import RectangleMetric
from grasplab.geometry import Grasp2D, GraspRectangle, angle_difference_rad
from grasplab.models import CropQualityNet, load_model
from grasplab.policies import MapDecodingConfig
from grasplab.policies.reranking import CropReranker, RerankConfig, grasp_crops_m, object_grid_px, propose_grasps
from grasplab.training.rerank_samples import CropSamples, reranked_top1


def block_depth(cx, cy, angle, size=96):
    """A table at 0.7 m with an 8 cm block, 16 px across along ``angle`` (the good grasp's
    axis) and 32 px along the other direction."""
    y, x = np.indices((size, size))
    u = (x - cx) * np.cos(angle) - (y - cy) * np.sin(angle)       # along the grasp axis (x right, y down)
    v = (x - cx) * np.sin(angle) + (y - cy) * np.cos(angle)
    return np.where((np.abs(u) < 8) & (np.abs(v) < 16), 0.62, 0.7)


def test_crops_are_relative_to_the_centre_and_aligned_with_the_axis():
    d = block_depth(48, 48, np.deg2rad(30))
    across = Grasp2D((48, 48), np.deg2rad(30), 24.0)
    along = Grasp2D((48, 48), np.deg2rad(120), 24.0)
    c = grasp_crops_m(d, [across, along], 32, 32)
    assert c.shape == (2, 1, 32, 32) and c.dtype == np.float32
    assert abs(c[0, 0, 15:17, 15:17].mean()) < 1e-6            # the centre is on the block: 0
    # across the block the axis (crop row) leaves it 8 px from the centre (table 8 cm below),
    # along it only after 16 px, past the crop's edge; across the axis (crop column) the reverse
    assert np.allclose(c[0, 0, 15:17, 10:22], 0.0, atol=1e-6)
    assert np.allclose(c[0, 0, 15:17, :6], 0.08, atol=1e-6) and np.allclose(c[0, 0, 15:17, 26:], 0.08, atol=1e-6)
    assert np.allclose(c[0, 0, 1:31, 15:17], 0.0, atol=1e-6)
    assert np.allclose(c[1, 0, 15:17, 1:31], 0.0, atol=1e-6) and np.allclose(c[1, 0, :6, 15:17], 0.08, atol=1e-6)
    # the same grasp turned by 180° is the crop turned by 180°
    flipped = grasp_crops_m(d, [Grasp2D((48, 48), np.deg2rad(210), 24.0)], 32, 32)
    np.testing.assert_allclose(flipped[0, 0], c[0, 0, ::-1, ::-1], atol=1e-5)
    assert grasp_crops_m(d, [], 32, 32).shape == (0, 1, 32, 32)


def maps_with(peaks, angle_rad, size=96):
    """Quality bumps at (x, y, height), one angle everywhere, 24 px width."""
    y, x = np.indices((size, size))
    q = sum(h * np.exp(-((x - px) ** 2 + (y - py) ** 2) / 8.0) for px, py, h in peaks)
    return [q, np.full(q.shape, np.cos(2 * angle_rad)), np.full(q.shape, np.sin(2 * angle_rad)),
            np.full(q.shape, 24 / 150)]


def test_proposals_are_each_peak_at_each_offset():
    maps = maps_with([(30, 30, 0.9), (70, 60, 0.6)], np.deg2rad(10))
    p = propose_grasps(maps, RerankConfig(peaks=5, min_distance_px=3, angle_offsets_deg=(0, 90), grid_stride_px=0),
                       MapDecodingConfig())
    assert len(p) == 4
    assert [tuple(np.round(g.center_xy_px)) for g in p.grasps] == [(30, 30), (30, 30), (70, 60), (70, 60)]
    assert np.allclose(np.rad2deg([g.angle_rad for g in p.grasps]), [10, 100 - 180, 10, -80], atol=0.5)
    assert all(abs(g.width_px - 24) < 0.5 for g in p.grasps) and p.qualities[0] > p.qualities[2]


class FixedScores(CropReranker):
    def __init__(self, config, scores):
        self.config, self._scores, self.map_preprocess, self.path = config, np.asarray(scores), None, None

    def scores(self, image, grasps):
        return self._scores[:len(grasps)]


def test_rerank_takes_each_peaks_best_angle_by_probability_times_quality():
    maps = maps_with([(30, 30, 0.9), (70, 60, 0.6)], 0.0)
    cfg = RerankConfig(peaks=5, min_distance_px=3, angle_offsets_deg=(0, 90), grid_stride_px=0, quality_floor=0,
                       quality_power=1)
    # peak 1 (q1): 0.2 / 0.5 → best 90°, score 0.5·q1; peak 2 (q2 ≈ ⅔ q1): 0.9 / 0.1 → 0°, 0.9·q2 first
    r = FixedScores(cfg, [0.2, 0.5, 0.9, 0.1]).rerank(np.zeros((96, 96)), maps, MapDecodingConfig())
    assert len(r) == 2
    assert tuple(np.round(r.grasps[0].center_xy_px)) == (70, 60) and abs(r.grasps[0].angle_rad) < 1e-6
    assert tuple(np.round(r.grasps[1].center_xy_px)) == (30, 30) and abs(abs(r.grasps[1].angle_rad) - np.pi / 2) < 1e-6
    q = propose_grasps(maps, cfg, MapDecodingConfig()).qualities         # the decoder's smoothed peaks
    assert np.allclose(r.qualities, [0.9 * q[2], 0.5 * q[0]])
    assert len(FixedScores(cfg, [0.2, 0.5, 0.9, 0.1]).rerank(np.zeros((96, 96)), maps,
                                                              MapDecodingConfig(max_grasps=1))) == 1
    none = FixedScores(cfg, []).rerank(np.zeros((96, 96)), [m * 0 for m in maps], MapDecodingConfig())
    assert len(none) == 0


def test_reranked_top1_counts_the_best_proposal_per_scene():
    s = CropSamples(np.zeros((6, 1, 8, 8), np.float16), np.array([0, 1, 1, 0, 1, 1], bool),
                    np.array([0, 0, 0, 1, 1, 1]), np.array([1, 1, 0, 1, 1, 0], bool),
                    np.array([0.9, 0.5, 0, 0.9, 0.5, 0], np.float32))
    # scene 0: 0.9·0.3 < 0.5·0.8 → the positive; scene 1: 0.9·0.9 > 0.5·0.8 → the negative
    # (labelled grasps, not proposals, are never chosen)
    p_times_q = RerankConfig(quality_floor=0, quality_power=1)
    assert reranked_top1(s, np.array([0.3, 0.8, 1.0, 0.9, 0.8, 1.0]), p_times_q) == (1, 2)
    # by probability alone (power 0) scene 1's 0.8 positive loses to its 0.9 negative; at 0.95 it wins
    prob_only = RerankConfig(quality_power=0)
    assert reranked_top1(s, np.array([0.3, 0.8, 1.0, 0.9, 0.95, 1.0]), prob_only) == (2, 2)
    assert reranked_top1(s, np.array([0.3, 0.8, 1.0, 0.9, 0.95, 1.0]), p_times_q) == (1, 2)


def test_score_and_settings_round_trip():
    cfg = RerankConfig(grid_stride_px=4, quality_floor=0.02, quality_power=0.5)
    np.testing.assert_allclose(cfg.score(np.array([0.5, 1.0, 0.8]), np.array([0.23, 0.0, -0.1])),
                               [0.5 * 0.5, 1.0 * np.sqrt(0.02), 0.8 * np.sqrt(0.02)])
    assert RerankConfig.from_metadata(cfg.to_metadata()) == cfg
    # files written before the grid: peaks only, probability × quality, as they were trained
    old = RerankConfig.from_metadata({"peaks": 10, "min_distance_px": 5, "angle_offsets_deg": [0, 90]})
    assert (old.grid_stride_px, old.quality_floor, old.quality_power) == (0, 0.0, 1.0)
    with pytest.raises(ConfigError, match="stride"):
        RerankConfig(grid_stride_px=-1)
    with pytest.raises(ConfigError, match="floor and power"):
        RerankConfig(quality_floor=-0.1)


def test_train_reranker_command_defaults_are_the_library_defaults():
    """The CLI spells its defaults out for --help; they must stay those of RerankConfig and
    RerankTrainConfig (the training config takes RerankConfig's)."""
    import inspect

    from grasplab.cli.train import train_reranker_cmd
    from grasplab.training import RerankTrainConfig
    d = {k: getattr(p.default, "default", p.default)
         for k, p in inspect.signature(train_reranker_cmd).parameters.items()}
    cli = RerankConfig(d["peaks"], d["min_distance"], tuple(float(a) for a in d["angle_offsets"].split(",")),
                       d["grid_stride"], d["grid_min_height"], d["quality_floor"], d["quality_power"])
    assert cli == RerankConfig() == RerankTrainConfig().rerank
    t = RerankTrainConfig()
    assert (d["crop"], d["crop_out"], d["epochs"], d["batch_size"], d["lr"], d["seed"]) == \
        (t.crop_px, t.out_px, t.epochs, t.batch_size, t.lr, t.seed)


def test_object_grid_is_every_nth_pixel_standing_above_the_table():
    height = np.zeros((60, 80))
    height[10:31, 20:51] = -0.05                      # a 5 cm box, rows 10–30, columns 20–50
    pts = object_grid_px(height, 6, 0.01)
    # eroded by one pixel: rows 11–29, columns 21–49; on the grid: rows 12, 18, 24; columns 24, …, 48
    assert sorted(map(tuple, pts)) == [(r, c) for r in (12, 18, 24) for c in (24, 30, 36, 42, 48)]
    assert len(object_grid_px(height, 6, 0.06)) == 0          # lower than the minimum height
    assert len(object_grid_px(np.zeros((60, 80)), 6, 0.01)) == 0


def test_grid_proposals_carry_the_smoothed_maps_and_reach_grasps_off_the_peaks():
    import scipy.ndimage as ndi
    from grasplab.datasets.ggcnn_targets import WIDTH_SCALE_PX
    rng = np.random.default_rng(3)
    maps = maps_with([(20, 20, 0.9)], 0.3)                       # one peak, away from the object
    maps[1], maps[2] = np.cos(rng.uniform(0, 6, (96, 96))), np.sin(rng.uniform(0, 6, (96, 96)))
    maps[3] = rng.uniform(0.05, 0.3, (96, 96))
    height = np.zeros((96, 96))
    height[50:80, 55:85] = -0.04
    cfg = RerankConfig(peaks=1, angle_offsets_deg=(0, 90), grid_stride_px=8)
    dec = MapDecodingConfig()
    p = propose_grasps(maps, cfg, dec, height)
    grid = object_grid_px(height, 8, 0.01)
    assert len(p) == 2 * (1 + len(grid)) and len(grid) == 3 * 4      # rows 56–72, columns 56–80
    assert tuple(np.round(p.grasps[0].center_xy_px)) == (20, 20)
    q = ndi.gaussian_filter(maps[0], dec.quality_sigma_px, mode="nearest")
    ang = 0.5 * np.arctan2(ndi.gaussian_filter(maps[2], dec.angle_sigma_px, mode="nearest"),
                           ndi.gaussian_filter(maps[1], dec.angle_sigma_px, mode="nearest"))
    w = ndi.gaussian_filter(maps[3], dec.width_sigma_px, mode="nearest") * WIDTH_SCALE_PX
    for k, (r, c) in enumerate(grid):
        g0, g90 = p.grasps[2 + 2 * k], p.grasps[3 + 2 * k]
        assert g0.center_xy_px == (c, r) and g90.center_xy_px == (c, r)
        assert angle_difference_rad(g0.angle_rad, ang[r, c]) < 1e-9
        assert angle_difference_rad(g90.angle_rad, ang[r, c] + np.pi / 2) < 1e-9
        assert abs(g0.width_px - w[r, c]) < 1e-9 and abs(p.qualities[2 + 2 * k] - q[r, c]) < 1e-12
    with pytest.raises(ConfigError, match="input image"):
        propose_grasps(maps, cfg, dec)
    # where the width map is ~0 (nothing to grasp) no grasp is proposed
    no_width = [maps[0], maps[1], maps[2], np.where(np.indices((96, 96))[1] < 68, maps[3], 0.0)]
    kept = propose_grasps(no_width, cfg, dec, height)
    assert 0 < len(kept) < len(p) and all(g.width_px >= 1.0 for g in kept.grasps)
    assert {g.center_xy_px[0] for g in kept.grasps} == {20.0, 56.0, 64.0}     # columns 72, 80: no width
    # a classifier that likes one grid pixel at 90° puts it first, though the map has no peak there
    class LikesOnePixel(CropReranker):
        def __init__(self):
            self.config, self.map_preprocess, self.path = cfg, None, None

        def scores(self, image, grasps):
            return np.array([0.95 if g.center_xy_px == (72, 64) and angle_difference_rad(g.angle_rad, ang[64, 72]) > 1 else 0.1
                             for g in grasps])
    ranked = LikesOnePixel().rerank(height, maps, dec)
    best = ranked.grasps[0]
    assert best.center_xy_px == (72, 64) and angle_difference_rad(best.angle_rad, ang[64, 72] + np.pi / 2) < 1e-9
    # the list is spaced like the decoder's peaks: more than min_distance_px apart (Chebyshev)
    xy = np.array([g.center_xy_px for g in ranked.grasps])
    gaps = np.abs(xy[:, None] - xy[None]).max(axis=2)[np.triu_indices(len(xy), 1)]
    assert len(ranked) >= 2 and (gaps > dec.min_distance_px).all()
    dense = LikesOnePixel().rerank(height, maps, MapDecodingConfig(min_distance_px=0, max_grasps=50))
    assert len(dense) == 1 + len(grid)                            # every position once, at its best angle


def _train_block_classifier(steps=150, seed=0):
    """A CropQualityNet taught on random blocks: across the short side good, along it or at 45° bad."""
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    net = CropQualityNet(crop_px=64, out_px=32)
    opt = torch.optim.Adam(net.parameters(), 2e-3)
    for _ in range(steps):
        xs, ys = [], []
        for _ in range(16):
            cx, cy, a = *rng.uniform(36, 60, 2), rng.uniform(-np.pi, np.pi)
            d = block_depth(cx, cy, a)
            off = rng.choice([0, 45, 90, 135])
            jitter = rng.normal(0, 1.5, 2)
            xs.append(grasp_crops_m(d, [Grasp2D((cx + jitter[0], cy + jitter[1]), a + np.deg2rad(off), 24.0)], 64, 32))
            ys.append(float(off == 0))
        loss = torch.nn.functional.binary_cross_entropy_with_logits(net(torch.from_numpy(np.concatenate(xs))),
                                                                    torch.tensor(ys))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return net.eval()


def test_a_trained_classifier_turns_a_wrong_map_angle_into_the_right_grasp(tmp_path):
    net = _train_block_classifier()
    cfg = RerankConfig(peaks=3, grid_stride_px=0)
    net.save(tmp_path / "rr.npz", metadata={"rerank": cfg.to_metadata()})
    reranker = CropReranker(load_model(tmp_path / "rr.npz", expect="crop_quality"))
    assert reranker.config == cfg
    metric = RectangleMetric()
    hits_map = hits_rerank = 0
    rng = np.random.default_rng(7)
    for _ in range(10):
        cx, cy, a = *rng.uniform(40, 56, 2), rng.uniform(-np.pi / 2, np.pi / 2)
        d = block_depth(cx, cy, a)
        truth = [GraspRectangle.from_grasp2d(Grasp2D((cx, cy), a, 24.0, 12.0))]
        maps = maps_with([(cx, cy, 0.9)], a + np.pi / 2)           # the map's angle runs along the block
        plain = propose_grasps(maps, RerankConfig(peaks=1, angle_offsets_deg=(0,), grid_stride_px=0), MapDecodingConfig())
        hits_map += metric.matches(plain.grasps[0], truth)
        best = reranker.rerank(d, maps, MapDecodingConfig()).grasps[0]
        hits_rerank += metric.matches(best, truth)
        assert angle_difference_rad(best.angle_rad, a) < np.deg2rad(1)
    assert hits_map == 0 and hits_rerank == 10


def test_crop_quality_model_round_trip_and_input_check(tmp_path):
    net = CropQualityNet(crop_px=48, out_px=16).eval()
    x = torch.randn(5, 1, 16, 16) * 0.05
    net.save(tmp_path / "m.npz", metadata={"note": "x"})
    back = load_model(tmp_path / "m.npz", expect="crop_quality").eval()
    with torch.no_grad():
        assert torch.equal(net(x), back(x))
    assert back.metadata == {"note": "x"}
    with pytest.raises(ValueError, match=r"\(N, 1, 16, 16\)"):
        net(torch.zeros(2, 1, 32, 32))
    with pytest.raises(ValueError, match="multiple of 8"):
        CropQualityNet(crop_px=64, out_px=12)


def test_map_and_crop_models_are_refused_in_each_others_place(tmp_path, capsys):
    from grasplab.cli import main
    from grasplab.policies import load_detector, load_policy
    from grasplab.training import TrainConfig
    CropQualityNet().save(tmp_path / "rr.npz")
    with pytest.raises(GrasplabError, match="not a grasp-map model.*--rerank"):
        load_detector(tmp_path / "rr.npz")
    with pytest.raises(GrasplabError, match="plans no grasps by itself.*rerank"):
        load_policy(tmp_path / "rr.npz")
    with pytest.raises(GrasplabError, match="'crop_quality' model was asked for"):
        load_detector(rerank="ggcnn2-synth-depth")
    with pytest.raises(ConfigError, match="unknown architecture 'crop_quality'"):
        TrainConfig(architecture="crop_quality")
    with pytest.raises(SystemExit) as exc:
        main(["predict", "--model", str(tmp_path / "rr.npz"), "--depth", str(tmp_path / "none.npy")])
    assert exc.value.code != 0 and "plans no grasps by itself" in " ".join(capsys.readouterr().err.split())


def test_a_reranker_refuses_a_map_model_with_other_preprocessing(tmp_path):
    from grasplab.models.pretrained import resolve_model
    from grasplab.policies import GraspMapPolicy
    pre = load_model(resolve_model(None)).metadata["preprocess"]
    CropQualityNet().save(tmp_path / "rr.npz", metadata={"map_preprocess": {**pre, "depth_reference": "mean"}})
    with pytest.raises(ConfigError, match="depth_reference differ.*train one for"):
        GraspMapPolicy(resolve_model(None), rerank=tmp_path / "rr.npz")
    CropQualityNet().save(tmp_path / "ok.npz", metadata={"map_preprocess": pre})
    assert GraspMapPolicy(resolve_model(None), rerank=tmp_path / "ok.npz").name == "map-rerank"
    # the object grid reads heights above the table: a map model of depth minus the image mean is refused
    with pytest.raises(ConfigError, match="heights above the table.*--grid-stride 0"):
        CropReranker(load_model(tmp_path / "ok.npz")).check_map_preprocess({**pre, "depth_reference": "mean"}, "m")
    peaks_only = CropQualityNet()
    peaks_only.save(tmp_path / "peaks.npz", metadata={"rerank": RerankConfig(grid_stride_px=0).to_metadata()})
    CropReranker(load_model(tmp_path / "peaks.npz")).check_map_preprocess({**pre, "depth_reference": "mean"}, "m")


@pytest.mark.slow
def test_cli_trains_resumes_and_uses_a_reranker_on_real_jacquard(tmp_path, shared_data, capsys):
    import json

    from grasplab.cli import main
    from grasplab.datasets.scene_sources import load_scenes
    from grasplab.evaluation import evaluate_policy
    from grasplab.imaging import Frame
    from grasplab.policies import load_detector, load_policy
    from grasplab.training.rerank_samples import CropSamples
    run = tmp_path / "rr"
    def args(epochs=1, peaks=3):
        return ["train", "reranker", "--data", str(shared_data / "jacquard"), "--depth", "stereo", "--peaks",
                str(peaks), "--epochs", str(epochs), "--batch-size", "64", "--out", str(run)]
    with pytest.raises(SystemExit) as exc:
        main(args())
    assert exc.value.code in (0, None)
    meta = load_model(run / "model.npz", expect="crop_quality").metadata
    assert meta["val_scenes"] == 5 and meta["train_scenes"] == 20 and meta["rerank"]["peaks"] == 3
    assert meta["map_model"]["architecture"] == "ggcnn2" and meta["map_preprocess"]["depth_reference"] == "table"
    with np.load(run / "samples_val.npz") as z:
        s = CropSamples.from_arrays(z)
    # proposals (3 peaks and the object grid, × 4 angles) and every labelled rectangle, which matches itself
    assert s.crops_m.shape[1:] == (1, 32, 32) and s.label[~s.proposal].all() and (~s.proposal).sum() > 100
    per_scene = np.bincount(s.scene[s.proposal])
    assert len(per_scene) == 5 and (per_scene % 4 == 0).all() and (per_scene > 3 * 4).all()   # the grid adds
    stamp = (run / "samples_train.npz").stat().st_mtime_ns
    with pytest.raises(SystemExit) as exc:                  # resume: one more epoch, the samples reused
        main(args(epochs=2))
    assert exc.value.code in (0, None)
    assert (run / "samples_train.npz").stat().st_mtime_ns == stamp
    assert json.loads((run / "run.json").read_text())["epochs_run"] == 2
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:                  # other proposal settings: another run
        main(args(epochs=2, peaks=4))
    assert exc.value.code != 0 and "peaks" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:                  # other scenes: refused, not mixed with the cache
        main(args(epochs=2) + ["--split", "image"])
    assert exc.value.code != 0 and "run on other data" in " ".join(capsys.readouterr().err.split())
    scenes = load_scenes(shared_data / "jacquard", "jacquard", "stereo")[:4]
    rep = evaluate_policy(load_policy("map-rerank", rerank=run / "model.npz"), scenes, figures=0)
    assert rep.top1.total == 4
    frame = Frame.from_images(scenes[3].depth_m())
    grasps = load_detector(rerank=run / "model.npz").plan(frame, max_grasps=3)
    assert 1 <= len(grasps) <= 3 and all(0 <= g.score <= 1 for g in grasps)


def test_training_data_may_come_from_several_folders(shared_data):
    from grasplab.datasets.scene_sources import train_val_scenes
    one = train_val_scenes([shared_data / "jacquard"], "jacquard", "stereo")[:2]
    two = train_val_scenes([shared_data / "jacquard"] * 2, "jacquard", "stereo")[:2]
    assert [len(x) for x in one] == [20, 5] and [len(x) for x in two] == [40, 10]
    # object-wise: an object's scenes stay on one side, from whichever folder they come
    assert not {s.object_id for s in two[0]} & {s.object_id for s in two[1]}
    train, val, _ = train_val_scenes([shared_data / "jacquard"] * 2, "jacquard", "stereo",
                                     val_data=shared_data / "jacquard")
    assert len(train) == 50 and len(val) == 25
