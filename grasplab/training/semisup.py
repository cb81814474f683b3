"""The semi-supervised experiment (Mahajan et al. 2020): GG-CNN on the labelled images alone
versus a grasp network on a frozen VQ-VAE / planar-flow VAE trained on all training images,
and the end-to-end ``joint`` variant, on one split with the same labelled subset per seed.

Data flow per seed: an object-wise (or the paper's) train/test split fixed for the run → a
seeded labelled subset of the training images → (a) autoencoders on every training image,
(b) ``V`` seeded augmentations of each labelled image (random quarter turns, zooms, flips;
targets rendered from the transformed rectangles) shared by every method, with the frozen
encoders' latents cached once → grasp networks → the rectangle metric on the test images
(``grasplab.evaluation.evaluate_grasp_map_model``, the same code as ``grasplab evaluate``).
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from ..datasets.grasp_map_dataset import GraspMapDataset, PreprocessConfig
from ..errors import ConfigError
from ..storage import atomic_write_json, run_metadata

METHODS = ("ggcnn", "vqvae", "vae-flow", "joint")


@dataclass(frozen=True)
class SemisupConfig:
    labelled_fraction: float = 0.1
    seeds: int = 3
    methods: tuple[str, ...] = METHODS
    inputs: str = "rgbd"
    size_px: int = 96
    depth_reference: str = "table"
    protocol: str = "objectwise"           # or mahajan2020 (the paper's Cornell counts: 932 train / 103 test, 104 labelled)
    folds: int = 5                         # objectwise: fold 0 of a 5-fold object-wise split is the test set
    augmentations: int = 8                 # cached augmented variants per labelled image
    ae_epochs: int = 20
    grasp_steps: int = 600
    batch_size: int = 16
    lr: float = 1e-3
    hidden: int = 64
    latent_dim: int = 32
    num_codes: int = 256
    flows: int = 4

    def __post_init__(self):
        bad = [m for m in self.methods if m not in METHODS]
        if bad:
            raise ConfigError(f"unknown method(s) {', '.join(bad)}; choose from {', '.join(METHODS)}")
        if not 0 < self.labelled_fraction <= 1:
            raise ConfigError(f"--labelled-fraction {self.labelled_fraction} must lie in (0, 1]")
        if self.size_px % 12:
            raise ConfigError(f"--size {self.size_px} must be a multiple of 12 (GG-CNN and the autoencoders)")
        if self.protocol not in ("objectwise", "mahajan2020"):
            raise ConfigError(f"unknown protocol {self.protocol!r}; use objectwise or mahajan2020")

    def preprocess(self) -> PreprocessConfig:
        return PreprocessConfig(inputs=self.inputs, output_px=self.size_px, crop="resize",
                                depth_reference=self.depth_reference)


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


def labelled_subset(n_train: int, cfg: SemisupConfig, seed: int) -> np.ndarray:
    """Indices of the labelled training images for a seed (104 of 932 under mahajan2020)."""
    n = 104 if cfg.protocol == "mahajan2020" else max(1, int(round(cfg.labelled_fraction * n_train)))
    return np.sort(np.random.default_rng([seed, 7301]).choice(n_train, size=min(n, n_train), replace=False))


def _inputs(ds: GraspMapDataset):
    import torch
    return torch.from_numpy(np.stack([ds.inputs(i) for i in range(len(ds))]))


def _augmented(scenes, pre: PreprocessConfig, variants: int, seed: int):
    """(x, y) tensors: ``variants`` seeded augmentations of each scene (quarter turns, zoom, flip)."""
    import torch
    ds = GraspMapDataset(scenes, replace(pre, augment=True), seed=seed)
    xs, ys = [], []
    for v in range(variants):
        ds.epoch = v
        for i in range(len(ds)):
            x, y, _ = ds[i]
            xs.append(x)
            ys.append(y)
    return torch.stack(xs), torch.stack(ys)


def _train_autoencoder(kind: str, x_all, cfg: SemisupConfig, seed: int, progress, task):
    import torch

    from ..models.autoencoders import LatentAutoencoder
    torch.manual_seed(seed)
    ae = LatentAutoencoder(x_all.shape[1], kind="vq" if kind == "vqvae" else "flow", hidden=cfg.hidden,
                           res_hidden=cfg.hidden // 2, latent_dim=cfg.latent_dim, num_codes=cfg.num_codes,
                           flows=cfg.flows, restart_dead=True)
    opt = torch.optim.Adam(ae.parameters(), lr=cfg.lr)
    gen = torch.Generator().manual_seed(seed)
    log = []
    for epoch in range(cfg.ae_epochs):
        order = torch.randperm(len(x_all), generator=gen)
        terms_epoch = []
        for s in range(0, len(order), cfg.batch_size):
            xb = x_all[order[s:s + cfg.batch_size]]
            k = int(torch.randint(4, (1,), generator=gen))        # quarter turns: free augmentation
            xb = torch.rot90(xb, k, dims=(2, 3))
            loss, terms = ae.loss(xb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            terms_epoch.append({k_: float(v) for k_, v in terms.items() if k_ != "recon"})
        log.append({"epoch": epoch, **{k_: float(np.mean([t[k_] for t in terms_epoch])) for k_ in terms_epoch[0]}})
        progress.update(task, advance=1)
    return ae.eval(), log


def _fit_maps(net, batches, steps: int, lr: float, seed: int, batch_size: int, extra_loss=None, progress=None,
              task=None):
    """Adam on GG-CNN's loss over cached (input, target) pairs; ``extra_loss(step)`` adds a term
    (with parameters of its own)."""
    import torch

    from .grasp_map_module import grasp_map_loss
    torch.manual_seed(seed)
    params = [p for p in net.parameters() if p.requires_grad]
    if extra_loss is not None:
        params += list(extra_loss.parameters())
    opt = torch.optim.Adam(params, lr=lr)
    gen = torch.Generator().manual_seed(seed)
    x, y = batches
    net.train()
    for step in range(steps):
        idx = torch.randint(len(x), (min(batch_size, len(x)),), generator=gen)
        loss = grasp_map_loss(net(x[idx]), y[idx])["loss"]
        if extra_loss is not None:
            loss = loss + extra_loss(step)
        opt.zero_grad()
        loss.backward()
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

    def parameters(self):
        return self.decoder.parameters()

    def __call__(self, step):
        import torch
        import torch.nn.functional as F
        xb = self.x[torch.randint(len(self.x), (self.bs,), generator=self.gen)]
        h = self.net.encoder(xb)
        z, reg, _ = self.net.quantizer(h)
        return F.mse_loss(self.decoder(z), xb) + reg


def run_semisup(scenes: list, cfg: SemisupConfig, out_dir: str | Path, show_progress: bool = True) -> dict:
    """Train and evaluate every method for every seed; write results.{json,csv,md} and figures."""
    import torch
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from ..evaluation.evaluate_maps import evaluate_grasp_map_model
    from ..models import GGCNN, LatentGraspNet
    from ..models.autoencoders import LatentAutoencoder

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    train, test = split_for_protocol(scenes, cfg)
    test = [s for s in test if s.rectangles()]
    if not test:
        raise ConfigError("no test image has a ground-truth grasp")
    pre = cfg.preprocess()
    meta_pre = pre.to_metadata()
    t0 = time.perf_counter()
    x_all = _inputs(GraspMapDataset(train, pre))
    rows = []
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), disable=not show_progress) as progress:
        for seed in range(cfg.seeds):
            lab = labelled_subset(len(train), cfg, seed)
            lab_scenes = [train[i] for i in lab if train[i].rectangles()]
            if not lab_scenes:
                raise ConfigError("no labelled training image has a grasp; raise --labelled-fraction")
            xy = _augmented(lab_scenes, pre, cfg.augmentations, seed)
            for m in cfg.methods:
                ae_steps = cfg.ae_epochs * max(1, len(x_all) // cfg.batch_size)      # joint: the autoencoder's share
                total = {"ggcnn": cfg.grasp_steps, "joint": cfg.grasp_steps + ae_steps}.get(m, cfg.ae_epochs
                                                                                           + cfg.grasp_steps)
                task = progress.add_task(f"seed {seed} {m}", total=total)
                ts = time.perf_counter()
                extra = {}
                if m == "ggcnn":
                    torch.manual_seed(seed)
                    net = _fit_maps(GGCNN(input_channels=x_all.shape[1]), xy, cfg.grasp_steps, cfg.lr, seed,
                                    cfg.batch_size, progress=progress, task=task)
                elif m in ("vqvae", "vae-flow"):
                    ae, log = _train_autoencoder(m, x_all, cfg, seed, progress, task)
                    net = LatentGraspNet.from_autoencoder(ae)
                    # frozen encoder: its latents are cached once, the grasp decoder trains on them
                    with torch.no_grad():
                        z = torch.cat([ae.latent(xy[0][s:s + 64]) for s in range(0, len(xy[0]), 64)])
                    _fit_maps(_LatentHead(net), (z, xy[1]), cfg.grasp_steps, cfg.lr, seed, cfg.batch_size,
                              progress=progress, task=task)
                    extra = {"autoencoder_log": log}
                else:   # joint: reconstruction on all images + grasp loss on the labelled, one model
                    torch.manual_seed(seed)
                    ae = LatentAutoencoder(x_all.shape[1], kind="vq", hidden=cfg.hidden, res_hidden=cfg.hidden // 2,
                                           latent_dim=cfg.latent_dim, num_codes=cfg.num_codes, restart_dead=True)
                    net = LatentGraspNet.from_autoencoder(ae, freeze_encoder=False)
                    net = _fit_maps(net, xy, total, cfg.lr, seed, cfg.batch_size,
                                    extra_loss=_JointReconstruction(net, ae, x_all, cfg.batch_size, seed),
                                    progress=progress, task=task)
                train_s = time.perf_counter() - ts
                path = net.save(out / "models" / f"{m}-seed{seed}.npz",
                                metadata={**run_metadata(cfg), "preprocess": meta_pre, "method": m, "seed": seed,
                                          "labelled_images": len(lab_scenes)})
                rep = evaluate_grasp_map_model(path, test, k=5, out_dir=out / "eval" / f"{m}-seed{seed}", figures=2)
                rows.append({"method": m, "seed": seed, "labelled_images": len(lab_scenes),
                             "train_images": len(train), "test_images": rep.top1.total, "top1_correct": rep.top1.correct,
                             "top1": rep.top1.value, "top1_low": rep.top1.low, "top1_high": rep.top1.high,
                             "train_s": round(train_s, 1), **extra})
                progress.update(task, completed=progress.tasks[task].total)
    summary = summarise(rows, cfg.methods)
    report = {**run_metadata(cfg), "config": asdict(cfg), "rows": rows, "summary": summary,
              "wall_s": round(time.perf_counter() - t0, 1)}
    write_tables(report, out)
    return report


class _LatentHead:
    """The trainable part of a ``LatentGraspNet`` as a module on cached latents."""

    def __init__(self, net):
        self.net = net

    def __call__(self, z):
        return self.net.decode(z)

    def parameters(self):
        return [p for n, p in self.net.named_parameters() if n.split(".")[0] in ("body", "up", "heads")]

    def train(self, mode: bool = True):
        self.net.train(mode)
        return self

    def eval(self):
        return self.train(False)


def summarise(rows: list[dict], methods) -> list[dict]:
    """Mean ± std of top-1 over seeds per method, with the pooled Wilson 95 % interval."""
    from ..evaluation.rectangle_metric import accuracy_with_ci
    out = []
    for m in methods:
        r = [x for x in rows if x["method"] == m]
        if not r:
            continue
        acc = np.array([x["top1"] for x in r])
        pooled = accuracy_with_ci(sum(x["top1_correct"] for x in r), sum(x["test_images"] for x in r))
        out.append({"method": m, "seeds": len(r), "top1_mean": float(acc.mean()),
                    "top1_std": float(acc.std(ddof=1)) if len(r) > 1 else 0.0,
                    "pooled_ci95": [pooled.low, pooled.high], "labelled_images": r[0]["labelled_images"]})
    return out


def write_tables(report: dict, out: Path) -> None:
    import csv
    import io
    atomic_write_json(out / "results.json", report)
    buf = io.StringIO()
    cols = ["method", "seed", "labelled_images", "train_images", "test_images", "top1_correct", "top1", "top1_low",
            "top1_high",
            "train_s"]
    w = csv.DictWriter(buf, fieldnames=cols, extrasaction="ignore")
    w.writeheader()
    w.writerows(report["rows"])
    (out / "results.csv").write_text(buf.getvalue())
    lines = ["| method | labelled images | top-1 mean ± std over seeds | pooled 95 % CI |", "|---|---:|---:|---:|"]
    for s in report["summary"]:
        lines.append(f"| {s['method']} | {s['labelled_images']} | {s['top1_mean']:.1%} ± {s['top1_std']:.1%} "
                     f"({s['seeds']} seeds) | {s['pooled_ci95'][0]:.1%}–{s['pooled_ci95'][1]:.1%} |")
    (out / "results.md").write_text("\n".join(lines) + "\n")
