"""The semi-supervised experiment (Mahajan et al. 2020): GG-CNN on the labelled images alone
versus a grasp network on a frozen VQ-VAE / planar-flow VAE trained on all training images,
and the end-to-end ``joint`` variant, on one split with the same labelled subset per seed.

Data flow per seed: an object-wise (or the paper's) train/test split fixed for the run → a
seeded labelled subset of the training images → (a) autoencoders on every training image,
(b) ``V`` seeded augmentations of each labelled image (random quarter turns, zooms, flips;
targets rendered from the transformed rectangles) shared by every method, with the frozen
encoders' latents cached once → grasp networks → each saved model planned with as a policy
(``grasplab.load_policy``) on the test images' frames and scored with the rectangle metric by
``grasplab.evaluation.evaluate_policy``, the same loop as ``grasplab evaluate``: the accuracy of
the grasps ``grasplab predict --model <file> --mask`` returns.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from torch import nn

from ..datasets.grasp_map_dataset import GraspMapDataset
from ..errors import ConfigError
from ..imaging import PreprocessConfig
from ..storage import atomic_write_json, run_metadata
from .semisup_report import summarise, write_tables

METHODS = ("ggcnn", "vqvae", "vae-flow", "joint", "pseudo", "consistency")


@dataclass(frozen=True)
class SemisupConfig:
    labelled_fractions: tuple[float, ...] = (0.1,)     # several give the label-fraction curve
    seeds: int = 3
    methods: tuple[str, ...] = METHODS
    inputs: str = "rgbd"
    size_px: int = 96
    crop: str = "auto"                     # object where scenes have masks (a fixed fraction of the view
                                           # around the mask, label-free), else center; or resize
    object_fraction: float = 0.5           # (resize shrinks small objects to a few latent cells)
    depth_reference: str = "table"
    protocol: str = "objectwise"           # or mahajan2020 (the paper's Cornell counts: 932 train / 103 test, 104 labelled)
    folds: int = 5                         # objectwise: fold 0 of a 5-fold object-wise split is the test set
    augmentations: int = 8                 # cached augmented variants per labelled image
    ae_epochs: int = 40
    grasp_steps: int = 1000
    batch_size: int = 16
    lr: float = 1e-3
    hidden: int = 64
    latent_dim: int = 32
    num_codes: int = 256
    ema: bool = True                       # EMA codebook updates (gradient updates when False)
    flows: int = 4
    eval_figures: int = 2                  # best and worst test images drawn per trained model

    def __post_init__(self):
        bad = [m for m in self.methods if m not in METHODS]
        if bad:
            raise ConfigError(f"unknown method(s) {', '.join(bad)}; choose from {', '.join(METHODS)}")
        if not self.labelled_fractions or not all(0 < f <= 1 for f in self.labelled_fractions):
            raise ConfigError(f"--labelled-fraction {self.labelled_fractions} must be fractions in (0, 1]")
        if self.protocol == "mahajan2020" and len(self.labelled_fractions) > 1:
            raise ConfigError("--protocol mahajan2020 fixes the labelled set (104 images); give one fraction")
        if self.size_px % 12:
            raise ConfigError(f"--size {self.size_px} must be a multiple of 12 (GG-CNN and the autoencoders)")
        if self.protocol not in ("objectwise", "mahajan2020"):
            raise ConfigError(f"unknown protocol {self.protocol!r}; use objectwise or mahajan2020")

    def preprocess(self) -> PreprocessConfig:
        return PreprocessConfig(inputs=self.inputs, output_px=self.size_px, crop=self.crop,
                                object_fraction=self.object_fraction, depth_reference=self.depth_reference)


QUICK = dict(ae_epochs=30, grasp_steps=600, hidden=32, num_codes=128)     # ``--quick``: minutes on 2 cores


def synthesise_default_data(out: Path, quick: bool = False) -> Path:
    """The scenes the experiment uses when given no data: the ``semisup`` (or ``semisup-quick``)
    preset's synthesis into ``out/data`` (resumes if already there)."""
    from ..synth import SynthConfig, run_synth
    data = Path(out) / "data"
    run_synth(SynthConfig.from_preset("semisup-quick" if quick else "semisup"), data, workers=0)
    return data


def resolve_crop(cfg: SemisupConfig, scenes: list) -> SemisupConfig:
    """``crop="auto"``: the object crop where the dataset has masks (Jacquard, grasplab scenes),
    the centre crop where it has none (Cornell)."""
    if cfg.crop != "auto" or not scenes:
        return cfg
    from ..errors import GrasplabError
    try:
        scenes[0].mask()
        return replace(cfg, crop="object")
    except GrasplabError:
        return replace(cfg, crop="center")


def split_for_protocol(scenes: list, cfg: SemisupConfig) -> tuple[list, list]:
    """(train, test): fold 0 of an object-wise split (image-wise where there are no object
    ids), or the paper's Cornell counts: 932 training and 103 test images. The paper does not
    say which images it tested on, so the last 103 in file order are the test set."""
    from ..datasets.scene_sources import split_scenes
    if cfg.protocol == "mahajan2020":
        if len(scenes) < 1035:
            raise ConfigError(f"--protocol mahajan2020 needs the full Cornell set (1,035 images), found {len(scenes)}")
        return scenes[:932], scenes[932:1035]
    has_ids = all(getattr(s, "object_id", None) is not None for s in scenes)
    return split_scenes(scenes, "object" if has_ids else "image", cfg.folds, 0, seed=0)


def labelled_subset(n_train: int, cfg: SemisupConfig, seed: int, fraction: float | None = None) -> np.ndarray:
    """Indices of the labelled training images for a seed (104 of 932 under mahajan2020).
    A seed's subsets are nested: the first n of one seeded permutation, so a larger fraction
    adds images to a smaller one's and the label-fraction curve varies one thing at a time."""
    fraction = cfg.labelled_fractions[0] if fraction is None else fraction
    n = 104 if cfg.protocol == "mahajan2020" else max(1, int(round(fraction * n_train)))
    return np.sort(np.random.default_rng([seed, 7301]).permutation(n_train)[:min(n, n_train)])


def _prepare(job: tuple) -> list[tuple]:
    """Worker: network inputs (and, with augmentation, targets) of (variant, index) pairs."""
    ds, pairs = job
    out = []
    for v, i in pairs:
        if ds.config.augment:
            ds.epoch = v
            x, y, _ = ds[i]
            out.append((x.numpy(), y.numpy()))
        else:
            out.append((ds.inputs(i), None))
    return out


def _prepare_all(ds: GraspMapDataset, variants: int = 1, workers: int | None = None,
                 min_items: int = 32) -> list[tuple]:
    """``_prepare`` over every (variant, scene) in order, in ``workers`` processes (default: one
    per core) when there is enough to do. Each item depends only on (seed, variant, index), so
    the result is the same for any number of workers."""
    import os
    pairs = [(v, i) for v in range(variants) for i in range(len(ds))]
    workers = min(os.cpu_count() or 1, 16) if workers is None else workers
    if workers <= 1 or len(pairs) < min_items:
        return _prepare((ds, pairs))
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor
    chunk = max(1, len(pairs) // (4 * workers))
    jobs = [(ds, pairs[s:s + chunk]) for s in range(0, len(pairs), chunk)]
    with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn")) as pool:
        return [item for part in pool.map(_prepare, jobs) for item in part]


def _inputs(ds: GraspMapDataset):
    import torch
    return torch.from_numpy(np.stack([x for x, _ in _prepare_all(ds)]))


def _augmented(scenes, pre: PreprocessConfig, variants: int, seed: int):
    """(x, y) tensors: ``variants`` seeded augmentations of each scene (quarter turns, zoom, flip)."""
    import torch
    items = _prepare_all(GraspMapDataset(scenes, replace(pre, augment=True), seed=seed), variants)
    return torch.from_numpy(np.stack([x for x, _ in items])), torch.from_numpy(np.stack([y for _, y in items]))


def _fabric(accelerator: str = "cpu", devices: int | str = 1, strategy: str = "auto"):
    """Lightning Fabric for the runner's training loops: one process on the CPU by default;
    several devices train data-parallel (each process takes its share of every batch, gradients
    are averaged), and only the global-zero process writes files and scores models."""
    import lightning as L

    from ..training.train import check_devices
    check_devices(accelerator, devices, strategy)
    if "spawn" in strategy:
        raise ConfigError(f"--strategy {strategy}: the runner's loops run in its own processes; use ddp (or auto)")
    fabric = L.Fabric(accelerator=accelerator, devices=devices, strategy=strategy)
    fabric.launch()
    return fabric


def _share(idx, fabric):
    """This process's share of a batch of item indices (all of it with one process) and the
    weight of its mean loss: with gradients averaged over the W processes, weights
    ``len(share) · W / len(batch)`` make the step the one-process step on the whole batch (the
    VQ-VAE's EMA codebook statistics aside: they follow the first process's share)."""
    w = fabric.world_size
    if w == 1:
        return idx, 1.0
    share = idx[fabric.global_rank::w]
    return share, len(share) * w / len(idx)


def _train_autoencoder(kind: str, x_all, cfg: SemisupConfig, seed: int, progress, task, fabric):
    import torch

    from ..models.autoencoders import LatentAutoencoder
    torch.manual_seed(seed)
    ae = LatentAutoencoder(x_all.shape[1], kind="vq" if kind == "vqvae" else "flow", hidden=cfg.hidden,
                           res_hidden=cfg.hidden // 2, latent_dim=cfg.latent_dim, num_codes=cfg.num_codes,
                           flows=cfg.flows, restart_dead=True, ema=cfg.ema)
    ae.fit_input_stats(x_all)
    model, opt = fabric.setup(ae, torch.optim.Adam(ae.parameters(), lr=cfg.lr))
    model.mark_forward_method("loss")
    gen = torch.Generator().manual_seed(seed)
    log = []
    for epoch in range(cfg.ae_epochs):
        order = torch.randperm(len(x_all), generator=gen)
        terms_epoch = []
        for s in range(0, len(order), cfg.batch_size):
            k = int(torch.randint(4, (1,), generator=gen))        # quarter turns: free augmentation
            batch = order[s:s + cfg.batch_size]
            if len(batch) < fabric.world_size:                    # a share for every process, or skip
                continue
            idx, weight = _share(batch, fabric)
            xb = torch.rot90(x_all[idx].to(fabric.device), k, dims=(2, 3))
            loss, terms = model.loss(xb)
            opt.zero_grad()
            fabric.backward(loss * weight)
            opt.step()
            terms_epoch.append({k_: float(v) for k_, v in terms.items() if k_ != "recon"})
        log.append({"epoch": epoch, **{k_: float(np.mean([t[k_] for t in terms_epoch])) for k_ in terms_epoch[0]}})
        progress.update(task, advance=1)
    return ae.eval(), log


def _fit_maps(net, batches, steps: int, lr: float, seed: int, batch_size: int, fabric, extra_loss=None,
              progress=None, task=None):
    """Adam on GG-CNN's loss over cached (input, target) pairs; ``extra_loss(step)`` adds a term
    (with modules of its own, set up with ``fabric`` by its ``setup``)."""
    import torch

    from ..training.grasp_map_module import grasp_map_loss
    torch.manual_seed(seed)
    cl = torch.channels_last                  # oneDNN's (transposed) convolutions train ~1.2× faster on CPUs
    net = net.to(memory_format=cl)
    params = [p for p in net.parameters() if p.requires_grad]
    if extra_loss is not None:
        params += list(extra_loss.parameters())
    model, opt = fabric.setup(net, torch.optim.Adam(params, lr=lr))
    if extra_loss is not None:
        extra_loss.setup(fabric)
    gen = torch.Generator().manual_seed(seed)
    x, y = batches
    model.train()
    for step in range(steps):
        idx, weight = _share(torch.randint(len(x), (min(batch_size, len(x)),), generator=gen), fabric)
        xb = x[idx].to(fabric.device).contiguous(memory_format=cl)
        loss = weight * grasp_map_loss(model(xb), y[idx].to(fabric.device))["loss"]
        if extra_loss is not None:
            loss = loss + extra_loss(step)
        opt.zero_grad()
        fabric.backward(loss)
        opt.step()
        if progress is not None and step % 50 == 49:
            progress.update(task, advance=50)
    return net.eval()


class _JointReconstruction:
    """The joint variant's reconstruction term on all training images, through the grasp
    network's own encoder and quantiser (a second decoder reconstructs the image)."""

    def __init__(self, net, ae, x_all, batch_size: int, seed: int):
        import torch
        self.net, self.decoder, self.x, self.bs = net, ae.decoder, x_all, batch_size
        self.gen = torch.Generator().manual_seed(seed)
        self.fabric = None

    def parameters(self):
        return self.decoder.parameters()

    def setup(self, fabric) -> None:
        """The decoder as a data-parallel module too (its gradients averaged like the net's)."""
        self.fabric = fabric
        self.decoder = fabric.setup_module(self.decoder)

    def __call__(self, step):
        import torch
        import torch.nn.functional as F
        idx, weight = torch.randint(len(self.x), (self.bs,), generator=self.gen), 1.0
        if self.fabric is not None:
            idx, weight = _share(idx, self.fabric)
        xb = self.x[idx].to(self.fabric.device if self.fabric is not None else self.x.device)
        h = self.net.encoder(xb)
        z, reg, _ = self.net.quantizer(h)
        return weight * (F.mse_loss(self.decoder(z), self.net.encoder.standardise(xb)) + reg)


def _key(method: str, fraction: float, seed: int) -> str:
    return f"{method}-f{fraction:.3f}-seed{seed}"


def run_semisup(scenes: list, cfg: SemisupConfig, out_dir: str | Path, show_progress: bool = True,
                ood: list | None = None, accelerator: str = "cpu", devices: int | str = 1,
                strategy: str = "auto") -> dict | None:
    """Train and evaluate every method for every labelled fraction and seed; write
    results.{json,csv,md} and figures. Resumes: each autoencoder and each evaluated
    (method, fraction, seed) is stored atomically as it finishes and reused on the next run
    into the same folder; ``ood`` (``[(name, frames)]``, see ``load_ood_frames``) adds
    quality-map figures of every method side by side on those frames. Training runs through
    Lightning Fabric on ``accelerator``/``devices``/``strategy`` (default: one CPU process);
    evaluation on the CPU, from the saved files, in the global-zero process, which alone
    returns the report (the other processes of a data-parallel run return ``None``)."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from ..models.autoencoders import load_autoencoder, save_autoencoder
    from ..storage import check_or_write_run_config
    from ..viz.semisup_figures import save_autoencoder_figure, save_fraction_curve

    fabric = _fabric(accelerator, devices, strategy)
    lead = fabric.is_global_zero
    out = Path(out_dir)
    cfg = resolve_crop(cfg, scenes)
    if lead:
        out.mkdir(parents=True, exist_ok=True)
        check_or_write_run_config(out, "semisup_config.json", cfg, "semi-supervised experiment",
                                  may_change=("labelled_fractions", "seeds", "methods"))
    fabric.barrier()
    train, test = split_for_protocol(scenes, cfg)
    test = [s for s in test if s.rectangles()]
    if not test:
        raise ConfigError("no test image has a ground-truth grasp")
    pre = cfg.preprocess()
    t0 = time.perf_counter()
    x_all = _inputs(GraspMapDataset(train, pre)).to(fabric.device)
    rows = []
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), disable=not (show_progress and lead)) as progress:
        for seed in range(cfg.seeds):
            autoencoders: dict = {}

            def autoencoder(kind: str):
                """Trained once per seed on every training image, shared by all fractions; only
                when a row still needs it (a resumed run whose rows exist trains nothing)."""
                if kind not in autoencoders:
                    path = out / "models" / f"autoencoder-{kind}-seed{seed}.npz"
                    if path.is_file():
                        autoencoders[kind] = load_autoencoder(path)[0].to(fabric.device)
                    else:
                        task = progress.add_task(f"seed {seed} {kind} autoencoder", total=cfg.ae_epochs)
                        ae, log = _train_autoencoder(kind, x_all, cfg, seed, progress, task, fabric)
                        if lead:
                            save_autoencoder(ae, path, metadata={**run_metadata(cfg), "seed": seed, "log": log})
                            save_autoencoder_figure(ae, x_all[:4], log,
                                                    out / "figures" / f"autoencoder-{kind}-seed{seed}.png",
                                                    title=f"{kind} autoencoder, seed {seed}: inputs, "
                                                          f"reconstructions, training")
                        fabric.barrier()
                        autoencoders[kind] = ae
                return autoencoders[kind]

            for fraction in cfg.labelled_fractions:
                lab = labelled_subset(len(train), cfg, seed, fraction)
                lab_scenes = [train[i] for i in lab if train[i].rectangles()]
                if not lab_scenes:
                    raise ConfigError("no labelled training image has a grasp; raise --labelled-fraction")
                xy = None
                for m in cfg.methods:
                    row_path = out / "rows" / f"{_key(m, fraction, seed)}.json"
                    if row_path.is_file():
                        rows.append(json.loads(row_path.read_text()))
                        continue
                    if xy is None:
                        xy = tuple(t.to(fabric.device) for t in _augmented(lab_scenes, pre, cfg.augmentations, seed))
                    ae = autoencoder(m) if m in ("vqvae", "vae-flow") else None
                    targets = None
                    if m == "pseudo":         # the labels-only GG-CNN of this fraction and seed teaches
                        targets = _pseudo_targets(out, fraction, seed, cfg, x_all, xy, progress, fabric)
                    net, train_s = _train(m, fraction, seed, cfg, x_all, xy, ae, progress, fabric, targets)
                    if lead:
                        row = _score(net, m, fraction, seed, cfg, test, out)
                        row.update(labelled_images=len(lab_scenes), train_images=len(train), train_s=round(train_s, 1))
                        atomic_write_json(row_path, row)
                        rows.append(row)
                    fabric.barrier()
    if not lead:
        return None
    summary = summarise(rows, cfg.methods, cfg.labelled_fractions)
    report = {**run_metadata(cfg), "rows": rows, "summary": summary, "test_images": len(test),
              "train_images": len(train), "wall_s": round(time.perf_counter() - t0, 1),
              "training": {"accelerator": accelerator, "devices": devices, "strategy": strategy,
                           "processes": fabric.world_size}}
    write_tables(report, out)
    if len(cfg.labelled_fractions) > 1:
        save_fraction_curve(summary, out / "figures" / "label-fraction-curve.png",
                            title=f"top-1 on {len(test)} held-out images, mean ± std over {cfg.seeds} seed(s)")
    if ood:
        report["ood_figures"] = [str(p) for p in draw_ood_figures(out, cfg, ood)]
        atomic_write_json(out / "results.json", report)
    return report


def draw_ood_figures(out: str | Path, cfg: SemisupConfig | None, ood: list) -> list[Path]:
    """Quality maps of every method's seed-0 model at 10 % labels (or the first fraction) on
    ``ood`` frames; ``cfg=None`` reads it from the experiment folder (to draw a finished run
    on other frames)."""
    from ..evaluation.ood_maps import save_ood_figures
    out = Path(out)
    if cfg is None:
        path = out / "semisup_config.json"
        if not path.is_file():
            raise ConfigError(f"{out} holds no semi-supervised experiment (no semisup_config.json)")
        c = json.loads(path.read_text())["config"]
        cfg = SemisupConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in c.items()})
    fraction = 0.1 if 0.1 in cfg.labelled_fractions else cfg.labelled_fractions[0]
    models = {m: out / "models" / f"{_key(m, fraction, 0)}.npz" for m in cfg.methods}
    missing = [str(p) for p in models.values() if not p.is_file()]
    if missing:
        raise ConfigError(f"model file(s) {', '.join(missing)} missing; run the experiment first")
    return save_ood_figures(out, models, f"{fraction:g} labelled, seed 0", ood)


def _pseudo_targets(out: Path, fraction: float, seed: int, cfg: SemisupConfig, x_all, xy, progress, fabric):
    """The teacher's maps of every training image over the eight symmetric views: the run's
    ``ggcnn`` model of this fraction and seed (trained here first when ``ggcnn`` is not a method)."""
    from ..models.base import load_map_model
    from .semisup_methods import symmetric_pseudo_labels
    path = out / "models" / f"{_key('ggcnn', fraction, seed)}.npz"
    if path.is_file():
        teacher = load_map_model(path)
    else:
        teacher, _ = _train("ggcnn", fraction, seed, cfg, x_all, xy, None, progress, fabric)
    return symmetric_pseudo_labels(teacher.to(fabric.device), x_all)


def _train(m: str, fraction: float, seed: int, cfg: SemisupConfig, x_all, xy, ae, progress, fabric,
           pseudo_targets=None):
    """One method at one labelled fraction and seed: (trained network, seconds)."""
    import torch

    from ..models import GGCNN, LatentGraspNet
    from ..models.autoencoders import LatentAutoencoder
    ae_steps = cfg.ae_epochs * max(1, len(x_all) // cfg.batch_size)
    steps = cfg.grasp_steps + ae_steps if m == "joint" else cfg.grasp_steps   # joint: the autoencoder's share too
    task = progress.add_task(f"seed {seed} {fraction:.0%} {m}", total=steps)
    ts = time.perf_counter()
    torch.manual_seed(seed)
    if m == "ggcnn":
        net = _fit_maps(GGCNN(input_channels=x_all.shape[1]), xy, steps, cfg.lr, seed, cfg.batch_size, fabric,
                        progress=progress, task=task)
    elif m in ("pseudo", "consistency"):      # every training image is the unlabelled pool
        from .semisup_methods import unlabelled_term
        net = GGCNN(input_channels=x_all.shape[1])
        net = _fit_maps(net, xy, steps, cfg.lr, seed, cfg.batch_size, fabric, progress=progress, task=task,
                        extra_loss=unlabelled_term(m, net, x_all, pseudo_targets, cfg.batch_size, seed))
    elif m in ("vqvae", "vae-flow"):
        net = LatentGraspNet.from_autoencoder(ae).to(x_all.device)
        # frozen encoder: its latents are cached once, the grasp decoder trains on them
        with torch.no_grad():
            z = torch.cat([ae.latent(xy[0][s:s + 64]) for s in range(0, len(xy[0]), 64)])
        _fit_maps(_LatentHead(net), (z, xy[1]), steps, cfg.lr, seed, cfg.batch_size, fabric, progress=progress,
                  task=task)
    else:   # joint: reconstruction on all images + grasp loss on the labelled, one model
        ae = LatentAutoencoder(x_all.shape[1], kind="vq", hidden=cfg.hidden, res_hidden=cfg.hidden // 2,
                               latent_dim=cfg.latent_dim, num_codes=cfg.num_codes, ema=cfg.ema,
                               restart_dead=True).to(x_all.device)
        ae.fit_input_stats(x_all)
        net = LatentGraspNet.from_autoencoder(ae, freeze_encoder=False)
        net = _fit_maps(net, xy, steps, cfg.lr, seed, cfg.batch_size, fabric,
                        extra_loss=_JointReconstruction(net, ae, x_all, cfg.batch_size, seed),
                        progress=progress, task=task)
    progress.update(task, completed=steps)
    return net.cpu(), time.perf_counter() - ts


def _score(net, m: str, fraction: float, seed: int, cfg: SemisupConfig, test: list, out: Path) -> dict:
    """Save a trained network and plan with it as a policy on the test frames (their object
    masks given, as ``predict --mask``): the test row."""
    from ..evaluation import evaluate_policy
    from ..policies import load_policy
    key = _key(m, fraction, seed)
    path = net.save(out / "models" / f"{key}.npz",
                    metadata={**run_metadata(cfg), "preprocess": cfg.preprocess().to_metadata(), "method": m,
                              "seed": seed, "labelled_fraction": fraction})
    rep = evaluate_policy(load_policy(path), test, k=5, out_dir=out / "eval" / key, figures=cfg.eval_figures,
                          show_progress=False)
    return {"method": m, "labelled_fraction": fraction, "seed": seed, "test_images": rep.top1.total,
            "top1_correct": rep.top1.correct, "top1": rep.top1.value, "top1_low": rep.top1.low,
            "top1_high": rep.top1.high}


class _LatentHead(nn.Module):
    """The trainable part of a ``LatentGraspNet`` (body, up-sampling, heads) as a module on
    cached latents; the frozen encoder's parameters do not train."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, z):
        return self.net.decode(z)
