"""The semi-supervised study: when do unlabelled frames pay for grasp detection?

One object-wise split (test: fold 0 of five; validation: one of eight object folds of the rest;
the remaining training images are the pool the labelled subsets come from) and one seeded
labelled subset per seed, shared by every cell. A *cell* is a setting (scene style, input,
unlabelled pool size, latent grid, codebook size) and a method:

- ``ggcnn``: GG-CNN on the labelled images only (the reference every cell is paired with);
- ``vqvae``: the paper's method, a VQ-VAE trained on the unlabelled pool, frozen, and a grasp
  decoder on its latents; ``vqvae-finetune``: then the encoder fine-tuned with the grasp loss;
  ``joint``: encoder, quantiser and grasp decoder trained together with reconstruction;
- ``pseudo``: teacher–student pseudo-labelling (the seed's ``ggcnn`` labels the pool, averaged
  over the eight symmetric views; a GG-CNN student trains on labels + pseudo-labels);
- ``consistency``: GG-CNN on the labels with an equivariance loss on the pool's frames;
- ``pseudo-depth``: pseudo-labelling with a cross-modal teacher, the seed's ``ggcnn`` on depth
  alone, labelling the pool's depth images for a student on the cell's input (RGB or RGB-D):
  depth is needed for the unlabelled frames in training, not when planning.

The unlabelled pool ``k×`` holds the training pool's images (labels unused) and ``(k − 1)``
times as many extra frames: synthesised without labels (``synth --no-labels``) from other
objects, or a user's folder (``--unlabelled``). The axes vary one setting at a time from the
base (first value of each): pool size (the headline), input (RGB, depth, RGB-D), latent grid
(24² or 48² at 96²), codebook size, encoder use, scene style. Each cell is evaluated on the
validation and test images as the policy ``predict`` gives; every selection (the best method for
the target) is made on validation. Rows, autoencoders and models are stored as they finish: a
killed study resumes.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from ..imaging import PreprocessConfig
from ..storage import atomic_write, atomic_write_bytes, atomic_write_json, run_metadata
from .semisup_cells import Setting, StudyConfig, all_cells, schedule, teacher_of

# ---------------------------------------------------------------------------------------------
# data


def study_splits(scenes: list, cfg: StudyConfig) -> tuple[list, list, list]:
    """(pool, validation, test): test is fold 0 of a 5-fold object-wise split (as ``experiment
    semisup``), validation one of ``val_folds`` object folds of the rest, the pool the others."""
    from ..datasets.scene_sources import split_scenes
    has_ids = all(getattr(s, "object_id", None) is not None for s in scenes)
    split = "object" if has_ids else "image"
    train, test = split_scenes(scenes, split, 5, 0, seed=0)
    pool, val = split_scenes(train, split, cfg.val_folds, 0, seed=1)
    test = [s for s in test if s.rectangles()]
    val = [s for s in val if s.rectangles()]
    if not test or not val:
        raise ConfigError(f"the split left {len(test)} test and {len(val)} validation images with a grasp; "
                          "give a dataset with more objects")
    return pool, val, test


def labelled_indices(n_pool: int, fraction: float, seed: int) -> np.ndarray:
    """The seed's labelled subset of the pool (the same for every style and input)."""
    n = max(1, int(round(fraction * n_pool)))
    return np.sort(np.random.default_rng([seed, 7301]).permutation(n_pool)[:n])


def preprocess_for(inputs: str, size_px: int, scenes: list) -> PreprocessConfig:
    """The network input: the object crop (half the view around the mask, label-free) where the
    scenes have masks, else the centre crop."""
    from ..errors import GrasplabError
    crop = "object"
    try:
        scenes[0].mask()
    except GrasplabError:
        crop = "center"
    return PreprocessConfig(inputs=inputs, output_px=size_px, crop=crop, object_fraction=0.5,
                            depth_reference="table")


def cached_inputs(scenes: list, pre: PreprocessConfig, path: Path):
    """Network inputs of ``scenes`` (N, C, S, S) float32, stored once at ``path`` (.npy)."""
    import io

    import torch

    from .semisup import _inputs
    from ..datasets.grasp_map_dataset import GraspMapDataset
    if path.is_file():
        x = np.load(path)
        if len(x) == len(scenes):
            return torch.from_numpy(x)
    x = _inputs(GraspMapDataset(scenes, pre)).numpy()
    buf = io.BytesIO()
    np.save(buf, x)
    atomic_write_bytes(path, buf.getvalue())
    return torch.from_numpy(x)


def unlabelled_synth_config(style: str, n_frames: int, quick: bool):
    """Render-only synthesis of ``n_frames`` frames of objects no labelled image shows (another
    seed), with the labelled data's camera and style."""
    from ..synth import SynthConfig
    per_object = 6                                   # 3 poses × 2 views
    n_objects = max(1, math.ceil(n_frames * 1.1 / per_object))       # a margin for objects that fail
    return SynthConfig.from_preset("semisup-quick" if quick else "semisup", objects=f"procedural:{n_objects}",
                                   seed=4040, style=style, labels=False, formats=("jacquard",))


def labelled_synth_config(style: str, quick: bool):
    from ..synth import SynthConfig
    return SynthConfig.from_preset("semisup-quick" if quick else "semisup", style=style)


def load_unlabelled(folder: str | Path, depth: str = "stereo") -> list:
    """A user's unlabelled frames: a folder of ``depth_N`` [+ ``color_N.png``, ``segmask_N.png``]
    frames, or a Jacquard-layout folder (its grasps, if any, unused)."""
    from ..datasets.frame_folder import list_frames
    from ..datasets.scene_sources import load_scenes
    from ..errors import GrasplabError
    folder = Path(folder)
    if not folder.is_dir():
        raise ConfigError(f"--unlabelled {folder}: not a folder")
    frames = list_frames(folder)
    if frames:
        return frames
    try:
        return load_scenes(folder, "jacquard", depth)
    except GrasplabError:
        raise ConfigError(f"--unlabelled {folder}: neither depth_N.* frames nor Jacquard-layout scenes found") from None


def prepare_study_data(cfg: StudyConfig, out: Path, data: Path | None = None, fmt: str = "jacquard",
                       depth: str = "stereo", unlabelled: Path | None = None, quick: bool = False,
                       workers: int = 0) -> dict[str, StudyData]:
    """Each style's split and extra unlabelled frames: the user's ``data`` (style ``data``) or
    scenes synthesised into ``out/data/<style>`` (resumed if there), and the user's
    ``unlabelled`` frames or render-only synthesis into ``out/data/<style>-unlabelled``."""
    from ..datasets.scene_sources import load_scenes
    from ..synth import run_synth
    need = {}
    for c in all_cells(cfg):
        need[c.style] = max(need.get(c.style, 1), c.pool)
    result = {}
    for style in cfg.styles:
        if style == "data":
            if data is None:
                raise ConfigError("style 'data' needs --data")
            scenes = load_scenes(data, fmt, depth)
        else:
            folder = out / "data" / style
            # the styles share objects, poses and grasps: the labels are computed once, for the first
            run_synth(labelled_synth_config(style, quick), folder, workers=workers, label_cache=out / "data" / "labels")
            scenes = load_scenes(folder, "jacquard", depth)
        pool, val, test = study_splits(scenes, cfg)
        n_extra = (need.get(style, 1) - 1) * len(pool)
        extra: list = []
        if n_extra and unlabelled is not None and style == cfg.styles[0]:
            extra = load_unlabelled(unlabelled, depth)
        elif n_extra:
            if style == "data":
                raise ConfigError(f"pools above 1× need {n_extra} unlabelled frames like --data's: give --unlabelled DIR")
            folder = out / "data" / f"{style}-unlabelled"
            run_synth(unlabelled_synth_config(style, n_extra, quick), folder, workers=workers)
            extra = load_scenes(folder, "jacquard", depth)
        if len(extra) < n_extra:
            raise ConfigError(f"the {need[style]}× pool of style {style} needs {n_extra} extra unlabelled frames, "
                              f"{len(extra)} found; give a larger --unlabelled folder or smaller --pools")
        result[style] = StudyData(pool, val, test, extra[:n_extra])
    return result


# ---------------------------------------------------------------------------------------------
# training


def _vq_autoencoder(x_pool, cell: Setting, cfg: StudyConfig):
    """An untrained VQ-VAE of a cell's latent grid and codebook, its inputs standardised on the pool."""
    from ..models.autoencoders import LatentAutoencoder
    ae = LatentAutoencoder(x_pool.shape[1], kind="vq", hidden=cfg.hidden, res_hidden=cfg.hidden // 2,
                           latent_dim=cfg.latent_dim, num_codes=cell.codes, restart_dead=True, ema=True,
                           downsamples=1 if cell.grid == cfg.size_px // 2 else 2)
    ae.fit_input_stats(x_pool)
    return ae


def _train_ae_steps(x_pool, cell: Setting, cfg: StudyConfig, seed: int, fabric, progress=None, task=None):
    """A VQ-VAE on the pool for ``ae_steps`` random batches (quarter turns as free augmentation)."""
    import torch

    from .semisup import _share
    torch.manual_seed(seed)
    ae = _vq_autoencoder(x_pool, cell, cfg)
    model, opt = fabric.setup(ae, torch.optim.Adam(ae.parameters(), lr=cfg.lr))
    model.mark_forward_method("loss")
    gen = torch.Generator().manual_seed(seed)
    log, recent = [], []
    for step in range(cfg.ae_steps):
        idx, weight = _share(torch.randint(len(x_pool), (cfg.batch_size,), generator=gen), fabric)
        k = int(torch.randint(4, (1,), generator=gen))
        loss, terms = model.loss(torch.rot90(x_pool[idx].to(fabric.device), k, dims=(2, 3)))
        opt.zero_grad()
        fabric.backward(loss * weight)
        opt.step()
        recent.append({k_: float(v) for k_, v in terms.items() if k_ != "recon"})
        if len(recent) == 100 or step == cfg.ae_steps - 1:
            log.append({"epoch": step // 100, **{k_: float(np.mean([t[k_] for t in recent])) for k_ in recent[0]}})
            recent = []
            if progress is not None:
                progress.update(task, completed=step + 1)
    return ae.eval(), log


def train_cell(cell: Setting, cfg: StudyConfig, seed: int, xy, x_pool, ae, pseudo_targets, fabric, progress=None,
               task=None):
    """The network of one cell at one seed; ``xy``: augmented labelled (inputs, maps); ``x_pool``:
    the unlabelled pool's inputs; ``ae``: the pool's trained VQ-VAE (vqvae cells);
    ``pseudo_targets``: the teacher's maps of the pool (pseudo)."""
    import torch

    from ..models import GGCNN, LatentGraspNet
    from .semisup import _fit_maps, _JointReconstruction, _LatentHead
    from .semisup_methods import unlabelled_term
    torch.manual_seed(seed)
    kw = dict(steps=cfg.grasp_steps, lr=cfg.lr, seed=seed, batch_size=cfg.batch_size, fabric=fabric,
              progress=progress, task=task)
    channels = xy[0].shape[1]
    if cell.method == "ggcnn":
        return _fit_maps(GGCNN(input_channels=channels), xy, **kw)
    if cell.method in ("pseudo", "pseudo-depth", "consistency"):
        net = GGCNN(input_channels=channels)
        method = "pseudo" if cell.pseudo_labelled else cell.method
        return _fit_maps(net, xy, extra_loss=unlabelled_term(method, net, x_pool, pseudo_targets, cfg.batch_size,
                                                             seed, cfg.unlabelled_weight), **kw)
    if cell.method in ("vqvae", "vqvae-finetune"):
        net = LatentGraspNet.from_autoencoder(ae).to(fabric.device)
        with torch.no_grad():
            z = torch.cat([ae.latent(xy[0][s:s + 64].to(fabric.device)) for s in range(0, len(xy[0]), 64)])
        _fit_maps(_LatentHead(net), (z, xy[1]), **kw)
        if cell.method == "vqvae-finetune":            # then the encoder too, gently, on the grasp loss
            net.freeze_encoder = False
            net._set_frozen()
            net = _fit_maps(net, xy, **{**kw, "steps": cfg.finetune_steps, "lr": cfg.lr * 0.3, "progress": None})
        return net.eval()
    # joint: reconstruction on the pool and the grasp loss on the labels, one model from scratch
    ae = _vq_autoencoder(x_pool, cell, cfg).to(fabric.device)
    net = LatentGraspNet.from_autoencoder(ae, freeze_encoder=False)
    return _fit_maps(net, xy, extra_loss=_JointReconstruction(net, ae, x_pool, cfg.batch_size, seed),
                     **{**kw, "steps": cfg.grasp_steps + cfg.ae_steps})


def _evaluate(path: Path, scenes: list, out_dir: Path | None, figures: int) -> dict:
    from ..evaluation import evaluate_policy
    from ..policies import load_policy
    rep = evaluate_policy(load_policy(path), scenes, k=5, out_dir=out_dir, figures=figures, show_progress=False)
    return {"images": rep.top1.total, "correct": rep.top1.correct, "top1": rep.top1.value}


# ---------------------------------------------------------------------------------------------
# the runner


@dataclass
class StudyData:
    """One style's scenes: the pool / validation / test split and the extra unlabelled frames."""
    pool: list
    val: list
    test: list
    extra: list


#: a network below this validation top-1 found (almost) no grasp: trained again from another start
COLLAPSED_VAL_TOP1 = 0.05
RESTARTS = 2


class _StudyRunner:
    """The state one study run shares across cells: cached inputs, labelled sets, teacher labels."""

    def __init__(self, data: dict[str, StudyData], cfg: StudyConfig, out: Path, plan: list, fabric, progress):
        self.data, self.cfg, self.out, self.plan, self.fabric, self.progress = data, cfg, out, plan, fabric, progress
        self._inputs: dict = {}
        self._xy: dict = {}
        self._pseudo: dict = {}
        self.position = -1                         # the plan entry being run (``run_study``)

    def inputs_of(self, style: str, inputs: str, part: str):
        """One part's (pool / val / test / extra) network inputs, standardised on the pool, cached on disk."""
        key = (style, inputs, part)
        if key not in self._inputs:
            d = self.data[style]
            pre = preprocess_for(inputs, self.cfg.size_px, d.pool)
            self._inputs[key] = cached_inputs(getattr(d, part), pre, self.out / "cache" / f"{style}-{inputs}-{part}.npy")
        return self._inputs[key]

    def pool_of(self, cell: Setting):
        """The cell's unlabelled pool: the training pool's images, then (pool − 1)× as many extra frames."""
        import torch
        x_train = self.inputs_of(cell.style, cell.inputs, "pool")
        n_extra = (cell.pool - 1) * len(x_train)
        if n_extra == 0:
            return x_train
        x_extra = self.inputs_of(cell.style, cell.inputs, "extra")
        if len(x_extra) < n_extra:
            raise ConfigError(f"the {cell.pool}× pool needs {n_extra} extra unlabelled frames of style {cell.style}, "
                              f"{len(x_extra)} given; give a larger --unlabelled folder or smaller --pools")
        return torch.cat([x_train, x_extra[:n_extra]])

    def labelled(self, cell: Setting, seed: int) -> tuple[list, tuple]:
        """The seed's labelled scenes (those with grasps) and their augmented (inputs, maps)."""
        from .semisup import _augmented
        d = self.data[cell.style]
        scenes = [d.pool[i] for i in labelled_indices(len(d.pool), self.cfg.labelled_fraction, seed)
                  if d.pool[i].rectangles()]
        key = (seed, cell.style, cell.inputs)
        if key not in self._xy:
            pre = preprocess_for(cell.inputs, self.cfg.size_px, d.pool)
            self._xy[key] = _augmented(scenes, pre, self.cfg.augmentations, seed)
        return scenes, self._xy[key]

    def autoencoder(self, cell: Setting, seed: int, x_pool):
        """The pool's VQ-VAE for the cell's setting: loaded when stored, else trained and stored."""
        from ..models.autoencoders import load_autoencoder, save_autoencoder
        path = (self.out / "models" /
                f"ae-{cell.style}-{cell.inputs}-x{cell.pool}-g{cell.grid}-k{cell.codes}-seed{seed}.npz")
        if path.is_file():
            return load_autoencoder(path)[0]
        task = self.progress.add_task(f"seed {seed} VQ-VAE {cell.style} {cell.inputs} {cell.pool}× "
                                      f"{cell.grid}² {cell.codes} codes", total=self.cfg.ae_steps)
        ae, log = _train_ae_steps(x_pool, cell, self.cfg, seed, self.fabric, self.progress, task)
        save_autoencoder(ae, path, metadata={**run_metadata(self.cfg), "seed": seed, "log": log,
                                             "pool_images": len(x_pool)})
        self.progress.remove_task(task)
        return ae

    def pseudo_targets(self, cell: Setting, seed: int, n_pool: int):
        """The teacher's (``teacher_of``: this seed's labels-only GG-CNN) symmetric maps of the first
        ``n_pool`` frames of the pool, seen on the teacher's input, computed once per seed and
        teacher for the largest pool its pseudo cells use. One teacher's labels are held in memory
        at a time (GBs for 16× pools); labels a later axis needs again, after another teacher's,
        wait on disk (``cache/pseudo-*.npy``) until their last use instead of being recomputed."""
        import torch

        from ..models.base import load_map_model
        from .semisup_methods import symmetric_pseudo_labels
        teacher_cell = teacher_of(cell, self.cfg)
        key = (seed, teacher_cell)
        if key not in self._pseudo or len(self._pseudo[key]) < n_pool:
            self._pseudo.clear()
            largest = max(c.pool for s_, c in self.plan if s_ == seed and teacher_of(c, self.cfg) == teacher_cell)
            model = self.out / "models" / f"{teacher_cell.key}-seed{seed}.npz"
            path = self._pseudo_path(teacher_cell, seed, largest, model)
            if path.is_file():
                labels = torch.from_numpy(np.load(path))
            else:
                teacher = load_map_model(model)
                frames = self.pool_of(replace(cell, inputs=teacher_cell.inputs, pool=largest))
                labels = symmetric_pseudo_labels(teacher.to(self.fabric.device), frames.to(self.fabric.device)).cpu()
                if self._needed_again(key):
                    atomic_write(path, lambda p: np.save(p, labels.numpy()), suffix=".npy")
            self._pseudo[key] = labels
        return self._pseudo[key][:n_pool]

    def _pseudo_path(self, teacher_cell: Setting, seed: int, pool: int, model: Path) -> Path:
        """Where a teacher's labels of a pool wait on disk; named by the teacher model's digest, so
        a teacher trained again is never paired with its predecessor's labels."""
        import hashlib
        digest = hashlib.sha256(model.read_bytes()).hexdigest()[:12]
        return self.out / "cache" / f"pseudo-{teacher_cell.key}-seed{seed}-x{pool}-{digest}.npy"

    def _needed_again(self, key) -> bool:
        """Whether (seed, teacher) labels a cell after another teacher's cell, later in the plan."""
        others = False
        for seed, c in self.plan[self.position + 1:]:
            t = teacher_of(c, self.cfg)
            if t is not None and (seed, t) == key:
                if others:
                    return True
            elif t is not None:
                others = True
        return False

    def release_pseudo_labels(self, done_through: int) -> None:
        """Delete the stored teacher labels that no plan entry after ``done_through`` uses."""
        later = {(s, teacher_of(c, self.cfg)) for s, c in self.plan[done_through + 1:]}
        for path in (self.out / "cache").glob("pseudo-*.npy"):
            if not any(path.name.startswith(f"pseudo-{t.key}-seed{s}-") for s, t in later if t is not None):
                path.unlink(missing_ok=True)

    def run_cell(self, cell: Setting, seed: int) -> dict:
        """Train one cell at one seed, store its model, evaluate it on test and validation: its row.
        A network that finds no grasp on validation (below ``COLLAPSED_VAL_TOP1``: GG-CNN's quality
        map sometimes collapses to zero from an unlucky start on few labels) is trained again from
        another start, up to ``RESTARTS`` times — the same labelled subset, chosen on validation
        alone, for every method alike (labels-only references and teachers included)."""
        cfg, out = self.cfg, self.out
        t_cell = time.perf_counter()
        d = self.data[cell.style]
        lab_scenes, xy = self.labelled(cell, seed)
        ts = time.perf_counter()
        x_pool = self.pool_of(cell) if cell.uses_pool else None
        ae = self.autoencoder(cell, seed, x_pool) if cell.uses_autoencoder else None
        targets = self.pseudo_targets(cell, seed, len(x_pool)) if cell.pseudo_labelled else None
        steps = cfg.grasp_steps + (cfg.ae_steps if cell.method == "joint" else 0)
        pre = preprocess_for(cell.inputs, cfg.size_px, d.pool)
        eval_s = 0.0                              # validation checks, not counted as training
        for restart in range(RESTARTS + 1):
            task = self.progress.add_task(f"seed {seed} {cell.key}" + (f" (restart {restart})" if restart else ""),
                                          total=steps)
            net = train_cell(cell, cfg, seed + 1000 * restart, xy, x_pool, ae, targets, self.fabric, self.progress,
                             task).cpu()
            self.progress.remove_task(task)
            path = net.save(out / "models" / f"{cell.key}-seed{seed}.npz",
                            metadata={**run_metadata(cfg), "preprocess": pre.to_metadata(), "cell": asdict(cell),
                                      "seed": seed, "restarts": restart, "labelled_images": len(lab_scenes)})
            te = time.perf_counter()
            val = _evaluate(path, d.val, None, figures=0)
            eval_s += time.perf_counter() - te
            if val["top1"] >= COLLAPSED_VAL_TOP1:
                break
        train_s = time.perf_counter() - ts - eval_s
        test = _evaluate(path, d.test, out / "eval" / f"{cell.key}-seed{seed}", figures=2 if seed == 0 else 0)
        return {**asdict(cell), "key": cell.key, "seed": seed, "labelled_images": len(lab_scenes),
                "pool_images": 0 if x_pool is None else len(x_pool), "train_s": round(train_s, 1),
                "cell_s": round(time.perf_counter() - t_cell, 1), "restarts": restart,
                "test_images": test["images"], "test_correct": test["correct"], "test_top1": test["top1"],
                "val_images": val["images"], "val_correct": val["correct"], "val_top1": val["top1"]}


def run_study(data: dict[str, StudyData], cfg: StudyConfig, out_dir: str | Path, show_progress: bool = True,
              accelerator: str = "cpu", devices: int | str = 1, command: str = "", data_s: float | None = None) -> dict:
    """Train and evaluate every cell at every seed (resuming finished rows), then write
    ``study.json``/``study.md`` and a figure per axis. ``wall_s`` is this call's time; ``data_s``, when
    given, the time spent making or reading its data before it."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from ..storage import check_or_write_run_config
    from .semisup import _fabric
    from .semisup_study_report import write_study_report
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    check_or_write_run_config(out, "study_config.json", cfg, "semi-supervised study",
                              may_change=("seeds", "axes", "pool_methods", "input_methods", "scene_methods", "codebooks",
                                          "cross_modal_inputs"))
    fabric = _fabric(accelerator, devices)
    t0 = time.perf_counter()
    rows: list[dict] = []

    def report(rows: list[dict]) -> dict:
        rep = {**run_metadata(cfg), "command": command, "rows": rows, "wall_s": round(time.perf_counter() - t0, 1),
               **({} if data_s is None else {"data_s": round(data_s, 1)}),
               "images": {s: {"pool": len(d.pool), "val": len(d.val), "test": len(d.test), "extra": len(d.extra)}
                          for s, d in data.items()}}
        return write_study_report(rep, cfg, out)

    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), disable=not show_progress) as progress:
        plan = schedule(cfg)
        runner = _StudyRunner(data, cfg, out, plan, fabric, progress)
        overall = progress.add_task("study cells", total=len(plan))
        for i, (seed, cell) in enumerate(plan):
            runner.position = i
            row_path = out / "rows" / f"{cell.key}-seed{seed}.json"
            if row_path.is_file():
                rows.append(json.loads(row_path.read_text()))
            else:
                rows.append(runner.run_cell(cell, seed))
                atomic_write_json(row_path, rows[-1])
                if len(rows) % 10 == 0:           # a report to look at while the study runs
                    report(rows)
                runner.release_pseudo_labels(i)
            progress.advance(overall)
        runner.release_pseudo_labels(len(plan))
    return report(rows)
