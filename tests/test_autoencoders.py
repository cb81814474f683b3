"""VQ-VAE and planar-flow VAE pieces against known answers; the latent grasp network."""
from dataclasses import replace

import numpy as np
import pytest
import torch

from grasplab.errors import ConfigError
from grasplab.models import LatentGraspNet, load_model
from grasplab.models.autoencoders import LatentAutoencoder, PlanarFlowPosterior, VectorQuantizer


def test_quantizer_picks_the_nearest_code_and_passes_gradients_straight_through():
    torch.manual_seed(0)
    vq = VectorQuantizer(num_codes=16, dim=3, data_init=False)
    z = torch.randn(2, 3, 4, 5, requires_grad=True)
    brute = torch.cdist(z.detach().permute(0, 2, 3, 1).reshape(-1, 3), vq.codebook.detach()).argmin(1)
    assert torch.equal(vq.indices(z).flatten(), brute)
    z_st, loss, stats = vq(z)
    np.testing.assert_allclose(z_st.detach(), vq.codebook.detach()[brute].view(2, 4, 5, 3).permute(0, 3, 1, 2),
                               atol=1e-6)   # z_e + (z_q − z_e): equal up to rounding
    # straight-through: d(sum z_st)/dz is exactly one everywhere
    (g,) = torch.autograd.grad(z_st.sum(), z)
    assert torch.equal(g, torch.ones_like(z))
    # the codebook term moves the codes, the commitment term (β) moves the encoder output
    loss.backward()
    zq = vq.codebook.detach()[brute].view(2, 4, 5, 3).permute(0, 3, 1, 2)
    np.testing.assert_allclose(z.grad, 2 * 0.25 * (z.detach() - zq) / z.numel(), rtol=1e-4, atol=1e-7)
    assert vq.codebook.grad.abs().sum() > 0
    assert 1.0 <= float(stats["perplexity"]) <= 16.0


def test_perplexity_is_the_number_of_codes_used_evenly():
    vq = VectorQuantizer(num_codes=4, dim=2, data_init=False)
    with torch.no_grad():
        vq.codebook.copy_(torch.tensor([[0., 0.], [10., 0.], [0., 10.], [10., 10.]]))
    z = vq.codebook.detach()[torch.tensor([0, 1, 2, 3] * 2)].T.reshape(1, 2, 2, 4)
    _, _, stats = vq(z)
    assert float(stats["perplexity"]) == pytest.approx(4.0) and int(stats["codes_used"]) == 4


def test_ema_codebook_moves_to_the_data_and_dead_codes_restart():
    torch.manual_seed(0)
    vq = VectorQuantizer(num_codes=8, dim=2, ema=True, decay=0.5, restart_dead=True, restart_after=3, data_init=False)
    target = torch.tensor([3.0, -2.0])
    z = target.view(1, 2, 1, 1).repeat(1, 1, 4, 4)
    for _ in range(30):
        vq(z)
    assert torch.allclose(vq.codebook[vq.indices(z)[0, 0, 0]], target, atol=1e-3)
    # codes never used were restarted onto encoder outputs (the only one there is)
    assert torch.allclose(vq.codebook, target.expand(8, 2), atol=1e-3)


def test_codes_start_on_encoder_outputs():
    torch.manual_seed(3)
    vq = VectorQuantizer(num_codes=8, dim=2)
    z = torch.randn(1, 2, 6, 6) * 5 + 10                     # far from the initial codebook
    _, _, stats = vq(z)
    flat = z.permute(0, 2, 3, 1).reshape(-1, 2)
    assert torch.cdist(vq.codebook.detach(), flat).min(1).values.max() < 1e-6
    assert int(stats["codes_used"]) > 1
    vq2 = VectorQuantizer(num_codes=8, dim=2, data_init=False)
    assert int(vq2(z)[2]["codes_used"]) == 1                 # the collapse the initialisation avoids


def test_planar_flow_log_determinant_matches_the_jacobian():
    torch.manual_seed(1)
    flow = PlanarFlowPosterior(dim=3, flows=3)
    with torch.no_grad():
        flow.u.normal_()
        flow.w.normal_()
        flow.b.normal_()
    z = torch.randn(5, 3, dtype=torch.float64)
    flow = flow.double()
    _, logdet = flow.transform(z)
    for i in range(5):
        J = torch.autograd.functional.jacobian(lambda v: flow.transform(v[None])[0][0], z[i])
        assert float(logdet[i].detach()) == pytest.approx(float(torch.linalg.slogdet(J)[1]), abs=1e-5)
    assert torch.all((flow.w * flow.u_hat()).sum(1) >= -1 - 1e-9)       # invertible


def test_without_flows_the_kl_estimate_averages_to_the_gaussian_kl():
    torch.manual_seed(2)
    post = PlanarFlowPosterior(dim=2, flows=0)
    mu, logvar = torch.tensor([0.5, -1.0]), torch.tensor([-0.5, 0.3])
    stats = torch.cat([mu, logvar]).view(1, 4, 1, 1).repeat(20000, 1, 1, 1)
    _, kl = post(stats)
    exact = 0.5 * float((mu ** 2 + logvar.exp() - 1 - logvar).sum())
    assert float(kl) == pytest.approx(exact, abs=0.03)


@pytest.mark.parametrize("kind", ["vq", "flow"])
def test_autoencoder_learns_to_reconstruct_and_feeds_a_grasp_network(kind, tmp_path):
    torch.manual_seed(0)
    y, x = np.indices((32, 32))
    imgs = torch.tensor(np.stack([((abs(x - c) < 6) & (abs(y - 16) < 9)) * 1.0 for c in (10, 16, 22)]),
                        dtype=torch.float32)[:, None]
    ae = LatentAutoencoder(1, kind=kind, hidden=16, res_hidden=8, res_blocks=1, latent_dim=4, num_codes=16)
    opt = torch.optim.Adam(ae.parameters(), lr=3e-3)
    first = None
    for _ in range(150):
        loss, terms = ae.loss(imgs)
        opt.zero_grad()
        loss.backward()
        opt.step()
        first = first if first is not None else float(terms["reconstruction"])
    assert float(terms["reconstruction"]) < 0.2 * first
    net = LatentGraspNet.from_autoencoder(ae, features=8)
    assert torch.equal(net.latent(imgs), ae.latent(imgs))
    q, cos, sin, width = net(imgs)
    assert q.shape == (3, 1, 32, 32)
    q.sum().backward()                         # the frozen encoder and quantiser get no gradient
    assert all(p.grad is None for p in net.encoder.parameters())
    assert net.body[0].weight.grad is not None
    path = net.save(tmp_path / "m.npz", metadata={"kind": kind})
    back = load_model(path)
    assert isinstance(back, LatentGraspNet)
    np.testing.assert_allclose(back.eval()(imgs)[0].detach(), net.eval()(imgs)[0].detach(), atol=1e-6)


@pytest.mark.slow
def test_semisup_runner_trains_and_scores_every_method_on_one_split(shared_data, tmp_path):
    from grasplab.datasets.scene_sources import load_scenes
    from grasplab.evaluation.ood_maps import load_ood_frames
    from grasplab.models.autoencoders import load_autoencoder
    from grasplab.experiments.semisup import SemisupConfig, labelled_subset, run_semisup, split_for_protocol
    scenes = load_scenes(shared_data / "jacquard", "jacquard", "stereo")
    cfg = SemisupConfig(labelled_fractions=(0.25, 0.5), seeds=2, size_px=48, augmentations=1, ae_epochs=1,
                        grasp_steps=4, hidden=8, latent_dim=4, num_codes=8, flows=1, eval_figures=0)
    train, test = split_for_protocol(scenes, cfg)
    assert not {s.object_id for s in train} & {s.object_id for s in test}
    a, b = labelled_subset(len(train), cfg, 0), labelled_subset(len(train), cfg, 1)
    assert len(a) == 5 and np.array_equal(a, labelled_subset(len(train), cfg, 0)) and not np.array_equal(a, b)
    assert set(a) <= set(labelled_subset(len(train), cfg, 0, 0.5))          # nested subsets per seed
    ood = [load_ood_frames(shared_data / "gqcnn" / "primesense", limit=2)]
    rep = run_semisup(scenes, cfg, tmp_path, show_progress=False, ood=ood)
    assert {r["method"] for r in rep["rows"]} == {"ggcnn", "vqvae", "vae-flow", "joint", "pseudo", "consistency"}
    assert len(rep["rows"]) == 24
    assert all(r["test_images"] == len(test) for r in rep["rows"])
    assert {r["labelled_images"] for r in rep["rows"] if r["labelled_fraction"] == 0.25} == {5}
    assert (tmp_path / "results.md").read_text().count("|") > 40 and (tmp_path / "results.csv").is_file()
    assert load_model(tmp_path / "models" / "vqvae-f0.250-seed1.npz").metadata["labelled_fraction"] == 0.25
    ae, meta = load_autoencoder(tmp_path / "models" / "autoencoder-vqvae-seed0.npz")
    assert len(meta["log"]) == 1 and ae.encoder.input_std.shape == (1, 4, 1, 1)
    figures = {p.name for p in (tmp_path / "figures").iterdir()}
    assert {"label-fraction-curve.png", "autoencoder-vqvae-seed0.png", "autoencoder-vae-flow-seed1.png",
            "ood-primesense.png"} <= figures
    # a second run into the folder resumes: nothing is trained again, the same rows come back
    before = (tmp_path / "models" / "ggcnn-f0.500-seed1.npz").stat().st_mtime_ns
    again = run_semisup(scenes, cfg, tmp_path, show_progress=False)
    assert again["rows"] == rep["rows"]
    assert (tmp_path / "models" / "ggcnn-f0.500-seed1.npz").stat().st_mtime_ns == before
    with pytest.raises(ConfigError, match="hidden"):
        run_semisup(scenes, replace(cfg, hidden=16), tmp_path, show_progress=False)


def test_semisup_inputs_are_the_same_for_any_number_of_workers(shared_data):
    from grasplab.datasets.grasp_map_dataset import GraspMapDataset, PreprocessConfig
    from grasplab.datasets.scene_sources import load_scenes
    from grasplab.experiments.semisup import _prepare_all
    scenes = load_scenes(shared_data / "jacquard", "jacquard", "perfect")[:1]
    ds = GraspMapDataset(scenes, PreprocessConfig(inputs="rgbd", output_px=48, crop="resize", augment=True), seed=3)
    one, two = _prepare_all(ds, variants=4, workers=1), _prepare_all(ds, variants=4, workers=2, min_items=1)
    assert len(one) == len(two) == 4
    for (x1, y1), (x2, y2) in zip(one, two):
        np.testing.assert_array_equal(x1, x2)
        np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(one[0][0], one[1][0])             # variants differ


def test_semisup_runs_on_a_cornell_folder_and_the_cli_reports_bad_input(shared_data, tmp_path, capsys):
    """All four methods on Cornell images (no masks: the object crop falls back to the centre;
    no z.txt: image-wise split); the CLI names bad fractions and missing runs without a traceback."""
    import os

    from grasplab.cli import main
    from grasplab.datasets.scene_sources import load_scenes
    from grasplab.experiments.semisup import SemisupConfig, run_semisup
    root = tmp_path / "cornell" / "01"
    root.mkdir(parents=True)
    for i in range(10):                        # ten image files from the two real samples
        src = f"pcd010{i % 2}"
        for suffix in ("d.tiff", "r.png"):
            os.symlink(shared_data / "cornell" / "01" / f"{src}{suffix}", root / f"pcd01{10 + i}{suffix}")
        (root / f"pcd01{10 + i}cpos.txt").write_text("253 320.7\n309 324.6\n307 350.6\n251 346.7\n")
    scenes = load_scenes(tmp_path / "cornell", "cornell")
    cfg = SemisupConfig(labelled_fractions=(0.5,), seeds=1, size_px=48, augmentations=1, ae_epochs=1, grasp_steps=2,
                        hidden=8, latent_dim=4, num_codes=8, flows=1, eval_figures=0)
    rep = run_semisup(scenes, cfg, tmp_path / "run", show_progress=False)
    assert [r["method"] for r in rep["rows"]] == ["ggcnn", "vqvae", "vae-flow", "joint", "pseudo", "consistency"]
    assert all(r["test_images"] == 2 and r["labelled_images"] == 4 for r in rep["rows"])
    for args, msg in ((["--labelled-fraction", "0.1,x"], "give comma-separated numbers"), (["--labelled-fraction", "2"], "(0, 1]"),
                      (["--methods", "ggcnn,magic"], "unknown method")):
        with pytest.raises(SystemExit) as exc:
            main(["experiment", "semisup", "--data", str(tmp_path / "cornell"), "--format", "cornell",
                  "--out", str(tmp_path / "bad"), *args])
        assert exc.value.code == 2 and msg in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["experiment", "semisup-figures", "--out", str(tmp_path / "nothing"), "--ood",
              str(shared_data / "gqcnn" / "primesense")])
    assert exc.value.code == 2 and "no semisup_config.json" in capsys.readouterr().err


def test_mahajan2020_protocol_uses_the_papers_cornell_counts():
    from grasplab.experiments.semisup import SemisupConfig, labelled_subset, split_for_protocol
    cfg = SemisupConfig(protocol="mahajan2020")
    scenes = list(range(1035))                   # the split depends on file order alone
    train, test = split_for_protocol(scenes, cfg)
    assert (len(train), len(test)) == (932, 103) and test[0] == 932
    lab = labelled_subset(len(train), cfg, seed=0)
    assert len(lab) == 104 and len(set(lab)) == 104 and lab.max() < 932
    with pytest.raises(ConfigError, match="1,035 images"):
        split_for_protocol(scenes[:500], cfg)
    with pytest.raises(ConfigError, match="one fraction"):
        SemisupConfig(protocol="mahajan2020", labelled_fractions=(0.1, 0.5))


def test_inputs_are_standardised_per_channel_so_a_millimetre_depth_channel_counts():
    torch.manual_seed(0)
    x = torch.cat([0.005 * torch.randn(6, 1, 16, 16) + 0.02, 0.1 * torch.randn(6, 3, 16, 16)], dim=1)
    ae = LatentAutoencoder(4, kind="vq", hidden=8, res_hidden=4, latent_dim=4, num_codes=8)
    ae.fit_input_stats(x)
    z = ae.encoder.standardise(x)
    torch.testing.assert_close(z.mean(dim=(0, 2, 3)), torch.zeros(4), atol=1e-5, rtol=0)
    torch.testing.assert_close(z.std(dim=(0, 2, 3)), torch.ones(4), atol=1e-4, rtol=0)
    # the reconstruction loss is measured in those units: a decoder that outputs zeros scores ~1
    ae.eval()
    with torch.no_grad():
        for p in ae.decoder.last.parameters():
            p.zero_()
        loss, terms = ae.loss(x)
    assert abs(float(terms["reconstruction"]) - 1.0) < 0.01
