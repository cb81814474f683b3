"""One contract over everything registered (as dm_control's suite test): every model takes its
example inputs, gives finite outputs of the right shape, and survives save → load unchanged;
every policy plans on the same frame, returns ranked grasps in the frame and on the mask with
scores in [0, 1], gives the same grasps for the same seed, and is rebuilt from its spec."""
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is not installed")

from grasplab.errors import ConfigError, GrasplabError, NoGraspFoundError  # noqa: E402
from grasplab.geometry import CameraIntrinsics, Grasp2D  # noqa: E402
from grasplab.imaging import Frame  # noqa: E402
from grasplab.models import GQCNN, MODELS, load_model  # noqa: E402
from grasplab.policies import POLICIES, Candidates, GraspPolicy, load_policy, policy_names  # noqa: E402

INTR = CameraIntrinsics(fx=525.0, fy=525.0, cx=319.5, cy=239.5, width=640, height=480)


def _outputs(model, inputs):
    with torch.no_grad():
        out = model.eval()(*inputs)
    return out if isinstance(out, tuple) else (out,)


@pytest.mark.parametrize("arch", sorted(MODELS))
def test_every_registered_model_keeps_its_contract(arch, tmp_path):
    torch.manual_seed(0)
    model = MODELS[arch]()
    inputs = model.example_inputs(batch=2)
    out = _outputs(model, inputs)
    assert all(torch.isfinite(o).all() for o in out), arch
    assert all(o.shape[0] == 2 for o in out), arch
    if hasattr(model, "head_output"):                       # grasp-map models: four maps of the input's size
        assert len(out) == 4 and all(o.shape == (2, 1, *inputs[0].shape[-2:]) for o in out), arch
    assert model.num_parameters == sum(p.numel() for p in model.parameters()) > 0
    back = load_model(model.save(tmp_path / f"{arch}.npz", metadata={"note": "contract"}))
    assert type(back) is type(model) and back.config == model.config and back.metadata["note"] == "contract"
    for a, b in zip(out, _outputs(back, inputs)):
        assert torch.equal(a, b), arch
    assert model.default_policy is None or model.default_policy in POLICIES


def box_frame(mask: bool = True) -> Frame:
    """A 4 × 10 cm box standing on a table 70 cm below a Primesense-like camera."""
    d = np.full((480, 640), 0.70)
    px = INTR.fx / 0.67
    r0, r1, c0, c1 = (240 - 0.05 * px, 240 + 0.05 * px, 320 - 0.02 * px, 320 + 0.02 * px)
    m = np.zeros_like(d, bool)
    m[int(r0):int(r1), int(c0):int(c1)] = True
    d[m] = 0.67
    d += np.random.default_rng(0).normal(0, 0.0005, d.shape)
    return Frame.from_images(d, mask=m if mask else None, intrinsics=INTR, name="box")


@pytest.fixture(scope="module")
def gqcnn_file(tmp_path_factory):
    torch.manual_seed(0)
    return GQCNN(filters=4, fc_size=8, im_mean=0.7, im_std=0.01, depth_mean=0.7, depth_std=0.01).save(
        tmp_path_factory.mktemp("gq") / "gq.npz", metadata={"dataset": {"crop_px": 96, "gripper": "robotiq_2f85"}})


def _options(name, gqcnn_file):
    """What each registered policy needs to run here (the shipped models where there are some)."""
    if name.startswith("gqcnn"):
        return {"model": str(gqcnn_file), "num_candidates": 30} if name == "gqcnn-rank" else \
            {"model": str(gqcnn_file), "cem": {"seed_samples": 30, "gmm_samples": 10, "iterations": 1}}
    if name == "fc-gqcnn":
        return {"model": str(gqcnn_file)}
    if name == "fallback":
        return {"policies": [{"policy": "clearance", "options": {"policy": "map"}},
                             {"policy": "clearance", "options": {"policy": "random-antipodal"}}]}
    return {}


def _same(a, b) -> bool:
    return [(g.grasp, g.score) for g in a] == [(g.grasp, g.score) for g in b]


@pytest.mark.parametrize("name", policy_names())
def test_every_registered_policy_keeps_its_contract(name, gqcnn_file, tmp_path):
    pol = load_policy(name, **_options(name, gqcnn_file))
    assert isinstance(pol, GraspPolicy) and pol.score_meaning
    for frame in (box_frame(), box_frame(mask=False)):
        grasps = pol.plan(frame, max_grasps=3, seed=1)
        assert 1 <= len(grasps) <= 3, name
        scores = [g.score for g in grasps]
        assert scores == sorted(scores, reverse=True) and all(0.0 <= s <= 1.0 for s in scores), name
        for g in grasps:
            x, y = g.grasp.center_xy_px
            assert -0.5 <= x < 639.5 and -0.5 <= y < 479.5, name
            if frame.mask is not None:
                assert frame.mask[int(round(y)), int(round(x))], f"{name}: grasp off the mask"
            assert np.isfinite(g.width_m) and g.width_m > 0 and np.isfinite(g.center_m).all(), name
            assert np.isfinite(g.grasp.depth_m) and g.grasp.depth_m > 0, name
            json.dumps(g.to_dict())
        assert _same(grasps, pol.plan(frame, max_grasps=3, seed=1)), f"{name}: same seed, other grasps"
    # the spec, written beside every result, rebuilds the same policy
    spec = tmp_path / "policy.json"
    spec.write_text(json.dumps(pol.spec()))
    again = load_policy(spec)
    assert again.name == pol.name
    assert _same(pol.plan(box_frame(), seed=4), again.plan(box_frame(), seed=4)), name


@pytest.mark.parametrize("arch", sorted(a for a, cls in MODELS.items() if cls.default_policy == "map"))
def test_every_grasp_map_architecture_plans_through_the_map_policy(arch, tmp_path):
    """GG-CNN, GG-CNN2, GR-ConvNet and the latent (VQ-VAE) grasp network alike: saved with their
    preprocessing, loaded by file, planned with on a frame (untrained weights: every peak kept)."""
    torch.manual_seed(0)
    path = MODELS[arch](input_channels=1).save(tmp_path / f"{arch}.npz", metadata={
        "preprocess": {"inputs": "depth", "output_px": 96, "crop": "center", "depth_reference": "table"}})
    pol = load_policy(path, decoding={"threshold": -1e9, "min_distance_px": 4})
    assert pol.name == "map"
    grasps = pol.plan(box_frame(), max_grasps=5)
    assert 1 <= len(grasps) <= 5
    for g in grasps:
        x, y = g.grasp.center_xy_px
        assert box_frame().mask[int(round(y)), int(round(x))] and 0.0 <= g.score <= 1.0


class _Scripted(GraspPolicy):
    """A policy that proposes exactly the given candidates (to test the gate every policy passes)."""

    name = "scripted"
    score_meaning = "scripted"

    def __init__(self, grasps, scores, max_width_m=None):
        self.grasps, self.scores, self.max_width_m = grasps, np.asarray(scores, float), max_width_m

    def _candidates(self, frame, max_grasps, rng):
        return Candidates(list(self.grasps), self.scores)

    def spec(self):
        return {"policy": self.name, "options": {}}


def test_the_gate_keeps_every_policy_in_the_frame_on_the_mask_and_within_the_gripper():
    frame = box_frame()
    on = (320.0, 240.0)
    cands = [Grasp2D((-3.0, 240.0), 0.0, 20.0), Grasp2D((320.0, 481.0), 0.0, 20.0),   # outside the frame
             Grasp2D((100.0, 100.0), 0.0, 20.0),                                      # off the mask
             Grasp2D(on, 0.0, 200.0),                                                 # 26 cm: too wide
             Grasp2D(on, 0.3, 40.0), Grasp2D((321.0, 250.0), 0.1, 30.0)]
    pol = _Scripted(cands, [0.99, 0.98, 0.97, 0.96, 1.7, float("nan")], max_width_m=0.085)
    out = pol.plan(frame, max_grasps=5)
    assert [g.grasp.center_xy_px for g in out] == [on]          # the NaN score is dropped too
    assert out[0].score == 1.0                                   # raw 1.7: ranked by it, reported clipped
    assert out[0].grasp.depth_m == pytest.approx(frame.depth_m[240, 320])
    with pytest.raises(NoGraspFoundError, match="outside the frame.*off the mask.*wider than the gripper"):
        _Scripted(cands[:4], [0.9] * 4, max_width_m=0.085).plan(frame)
    holes = frame.depth_m.copy()
    holes[238:243, 318:323] = 0.0                                # the sensor missed the grasp centre
    (g,) = _Scripted([Grasp2D(on, 0.0, 30.0)], [0.5]).plan(Frame.from_images(holes, mask=frame.mask, intrinsics=INTR))
    assert g.on_hole and g.to_dict()["on_hole"]


def test_the_registry_refuses_what_it_does_not_know(gqcnn_file):
    assert load_policy("rank", model=str(gqcnn_file)).name == "gqcnn-rank"      # earlier --policy rank|cem
    assert load_policy(str(gqcnn_file)).name == "gqcnn-cem"                     # a GQ-CNN file's own policy
    assert load_policy().name == "auto" and load_policy(views=2).name == "map"     # the default; grasp-map options
    assert load_policy("map-rerank").name == "map-rerank"
    assert load_policy(model=str(gqcnn_file)).name == "gqcnn-cem"
    with pytest.raises(ConfigError, match="no option views.*its options: model"):
        load_policy("gqcnn-rank", model=str(gqcnn_file), views=2)
    with pytest.raises(GrasplabError, match="nor a registered policy"):
        load_policy("no-such-thing")
    assert load_policy("gqcnn-cem").path.name == "gqcnn-synth-clutter.npz"      # the shipped GQ-CNN by default
    assert load_policy("fc-gqcnn").path.name == "gqcnn-synth-clutter.npz"
    with pytest.raises(GrasplabError, match="not a policy name"):
        load_policy("ggcnn2-synth-depth", model="ggcnn2-synth-depth")


def test_fallback_plans_with_the_first_policy_that_finds_a_grasp():
    """Nothing from the first policy → the second's grasps, whole (scores and order); grasps from
    the first when it has some; every policy failing → one error naming each reason; policies
    that disagree on what depth means are refused."""
    from grasplab.policies import FallbackPolicy
    frame = box_frame()
    g = [Grasp2D((320.0, 240.0), 0.0, 40.0, 10.0, 0.6), Grasp2D((322.0, 241.0), 0.5, 40.0, 10.0, 0.6)]
    empty, first, second = _Scripted([], []), _Scripted(g[:1], [0.9]), _Scripted(g, [0.2, 0.7])
    got = FallbackPolicy([empty, second]).plan(frame, max_grasps=5)
    assert [p.score for p in got] == [0.7, 0.2] and got[0].grasp.angle_rad == 0.5
    pol = FallbackPolicy([first, second])
    assert [p.score for p in pol.plan(frame, max_grasps=5)] == [0.9] and pol.last_stats["planned_by"] == 0
    with pytest.raises(NoGraspFoundError, match=r"none of its policies.*scripted: .*scripted: "):
        FallbackPolicy([empty, empty]).plan(frame)
    deep = _Scripted(g, [0.5, 0.5])
    deep.plans_depth = True
    with pytest.raises(ConfigError, match="disagree"):
        FallbackPolicy([first, deep])
    with pytest.raises(ConfigError, match="at least two"):
        FallbackPolicy([first])


class _Checked(_Scripted):
    """A scripted policy behind a clearance check whose best grasp is favoured or not."""
    checks_clearance = True
    plans_depth = True

    def __init__(self, grasps, scores, favoured):
        super().__init__(grasps, scores)
        self.favoured = favoured

    def _candidates(self, frame, max_grasps, rng):
        return Candidates(list(self.grasps), self.scores, stats={"favoured": self.favoured})


def test_a_fallback_until_favoured_asks_on_where_the_best_grasp_missed_the_preferences():
    """``until="favoured"``: a first policy whose best grasp failed the clearance check's preferences
    gives way to a later one with a favoured grasp, and is kept where none has one."""
    from grasplab.policies import FallbackPolicy
    frame = box_frame()
    g = [Grasp2D((320.0, 240.0), 0.0, 40.0, 10.0, 0.6), Grasp2D((322.0, 241.0), 0.5, 40.0, 10.0, 0.6)]
    wedge, steep, also_wedge = _Checked(g[:1], [0.9], False), _Checked(g[1:], [0.4], True), _Checked(g[1:], [0.3], False)
    pol = FallbackPolicy([wedge, steep], until="favoured")
    assert [p.score for p in pol.plan(frame)] == [0.4] and pol.last_stats["planned_by"] == 1
    assert [p.score for p in FallbackPolicy([wedge, steep]).plan(frame)] == [0.9]     # the default: any grasp
    pol = FallbackPolicy([wedge, also_wedge], until="favoured")
    assert [p.score for p in pol.plan(frame)] == [0.9] and pol.last_stats["planned_by"] == 0
    pol = FallbackPolicy([_Checked([], [], False), also_wedge], until="favoured")
    assert [p.score for p in pol.plan(frame)] == [0.3]
    with pytest.raises(ConfigError, match="favoured"):
        FallbackPolicy([wedge, steep], until="best")
    with pytest.raises(ConfigError, match="clearance"):
        FallbackPolicy([_Scripted(g, [0.5, 0.5]), _Scripted(g, [0.5, 0.5])], until="favoured")

