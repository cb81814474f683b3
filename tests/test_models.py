import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is not installed (pip install -c constraints.txt -e .)")

from grasplab.errors import GrasplabError  # noqa: E402
from grasplab.models import GGCNN, GGCNN2, MODELS, load_model  # noqa: E402


@pytest.mark.parametrize("cls, params", [(GGCNN, 62_420), (GGCNN2, 66_676)])
def test_published_parameter_counts_and_output_shapes(cls, params):
    model = cls(input_channels=1)
    assert model.num_parameters == params            # the GG-CNN papers' counts (DESIGN B2)
    out = model(torch.zeros(2, 1, 300, 300))
    assert len(out) == 4 and all(o.shape == (2, 1, 300, 300) for o in out)
    rgbd = cls(input_channels=4)
    assert all(o.shape == (1, 1, 300, 300) for o in rgbd(torch.zeros(1, 4, 300, 300)))


class PickleBomb:
    """Unpickling it creates a file: proof that code from a model file ran."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_save_load_round_trip_without_pickle(tmp_path):
    torch.manual_seed(0)
    model = GGCNN2(input_channels=4).eval()
    path = model.save(tmp_path / "m.npz", metadata={"trained_on": "test"})
    with np.load(path, allow_pickle=False) as z:    # every array readable without pickle: plain numbers and text
        assert all(z[k].dtype != object for k in z.files) and "__grasplab__" in z.files
    # a file with a pickled object inside is refused without unpickling it
    evil = tmp_path / "evil.npz"
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["heads.weight"] = np.array([PickleBomb(tmp_path / "pwned")], dtype=object)
    np.savez(evil, **arrays)
    with pytest.raises(GrasplabError, match="evil.npz.*pickle"):
        load_model(evil)
    assert not (tmp_path / "pwned").exists()
    loaded = load_model(path).eval()
    assert isinstance(loaded, GGCNN2) and loaded.config == model.config and loaded.metadata["trained_on"] == "test"
    x = torch.randn(1, 4, 96, 96)
    for a, b in zip(model(x), loaded(x)):
        assert torch.equal(a, b)
    with pytest.raises(GrasplabError, match="holds a 'ggcnn2' model.*'ggcnn'"):
        load_model(path, expect="ggcnn")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(GrasplabError, match="junk.npz"):
        load_model(tmp_path / "junk.npz")
    assert set(MODELS) >= {"ggcnn", "ggcnn2"}
    with pytest.raises(ValueError, match="multiples of 4"):
        load_model(path, expect="ggcnn2")(torch.zeros(1, 4, 98, 98))
    with pytest.raises(ValueError, match=r"expects \(B, 4, H, W\)"):
        loaded(torch.zeros(1, 1, 96, 96))


def test_grconvnet_keeps_the_input_size_learns_and_round_trips(tmp_path):
    """The residual encoder–decoder: full-size maps, a save/load round trip with its batch-norm
    statistics, and a few steps that fit one target (the heads are wired to the loss)."""
    from grasplab.models import GRConvNet
    from grasplab.training.grasp_map_module import grasp_map_loss
    torch.manual_seed(0)
    model = GRConvNet(input_channels=4, channels=8, res_blocks=2)
    assert all(o.shape == (2, 1, 48, 48) for o in model(torch.zeros(2, 4, 48, 48)))
    x, y = torch.randn(4, 4, 48, 48), torch.zeros(4, 4, 48, 48)
    y[:, 0, 20:28, 20:28] = 1.0
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    first = None
    for _ in range(30):
        loss = grasp_map_loss(model(x), y)["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
        first = float(loss) if first is None else first
    assert float(loss) < 0.5 * first
    model.eval()
    loaded = load_model(model.save(tmp_path / "g.npz")).eval()
    assert loaded.config == model.config
    for a, b in zip(model(x), loaded(x)):
        torch.testing.assert_close(a, b)


def test_positive_weighted_quality_loss_has_the_stated_optimum():
    """With weight w on positive pixels, the constant prediction that minimises the quality
    term on maps whose pixels are positive with rate p is w·p / (w·p + 1 − p) (ranking kept)."""
    from grasplab.training.grasp_map_module import grasp_map_loss
    target = torch.zeros(1, 4, 10, 10)
    target[0, 0, :2] = 1.0                          # p = 0.2
    w, p = 10.0, 0.2
    best = w * p / (w * p + 1 - p)
    qs = torch.linspace(0, 1, 1001)
    losses = [float(grasp_map_loss((torch.full((1, 1, 10, 10), float(q)),) + (torch.zeros(1, 1, 10, 10),) * 3,
                                   target, quality_pos_weight=w)["quality"]) for q in qs]
    assert abs(float(qs[int(np.argmin(losses))]) - best) < 2e-3
    plain = grasp_map_loss((torch.full((1, 1, 10, 10), 0.3),) + (torch.zeros(1, 1, 10, 10),) * 3, target)
    assert abs(float(plain["quality"]) - (0.2 * 0.7 ** 2 + 0.8 * 0.3 ** 2)) < 1e-6   # w = 1: GG-CNN's MSE


def test_weighting_all_maps_counts_angle_and_width_errors_where_grasps_are():
    """Distillation weighs the angle and width errors by the teacher's quality too: an error
    under quality 1 costs w×, one under quality 0 costs 1×; without the flag only quality is weighted."""
    from grasplab.training.grasp_map_module import grasp_map_loss
    target = torch.zeros(1, 4, 10, 10)
    target[0, 0, 0, 0] = 1.0                                   # one grasp pixel
    pred = [target[:, k:k + 1].clone() for k in range(4)]
    pred[3][0, 0, 0, 0] += 0.5                                 # width wrong at the grasp
    pred[1][0, 0, 9, 9] += 0.5                                 # cos 2θ wrong on the empty table
    w = 10.0
    weighted = grasp_map_loss(tuple(pred), target, quality_pos_weight=w, weight_all_maps=True)
    assert float(weighted["width"]) == pytest.approx(w * 0.25 / 100)
    assert float(weighted["cos"]) == pytest.approx(0.25 / 100)
    assert float(weighted["quality"]) == 0.0
    plain = grasp_map_loss(tuple(pred), target, quality_pos_weight=w)
    assert float(plain["width"]) == pytest.approx(0.25 / 100)
    # --width-loss-weight scales the width term inside the total only
    scaled = grasp_map_loss(tuple(pred), target, width_loss_weight=4.0)
    assert float(scaled["width"]) == pytest.approx(0.25 / 100)
    assert float(scaled["loss"]) == pytest.approx(4 * 0.25 / 100 + 0.25 / 100)
