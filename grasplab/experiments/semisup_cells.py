"""The semi-supervised study's design: its settings (``StudyConfig``), the cells (a setting and a
method) each axis compares, the labels-only reference every cell is paired with, and the order
the cells run in. No training here: the runner (``semisup_study``) and the report
(``semisup_study_report``) both read it."""
from __future__ import annotations

from dataclasses import dataclass, replace

from ..errors import ConfigError

AXES = ("pool", "input", "latent", "codebook", "encoder", "scenes")
STUDY_METHODS = ("ggcnn", "vqvae", "vqvae-finetune", "joint", "pseudo", "consistency", "pseudo-depth")
UNLABELLED_METHODS = STUDY_METHODS[1:]


@dataclass(frozen=True)
class StudyConfig:
    seeds: int = 3
    labelled_fraction: float = 0.1
    pools: tuple[int, ...] = (1, 4, 16)        # unlabelled pool in multiples of the training pool's images
    inputs: tuple[str, ...] = ("rgbd", "rgb", "depth")
    latent_grids: tuple[int, ...] = (24, 48)   # latent side at ``size_px`` input
    codebooks: tuple[int, ...] = (256, 64)      # the first is every other cell's; ``--full`` adds 1024
    styles: tuple[str, ...] = ("plain", "cornell")
    axes: tuple[str, ...] = AXES
    scenes_pool: int = 4                       # pool at which scene styles, and the inputs' pseudo/consistency, are compared
    pool_methods: tuple[str, ...] = ("vqvae", "pseudo", "consistency")
    # vqvae at 1×, the others at scenes_pool; pseudo-depth only where the input is not depth alone
    # (``--full`` adds pseudo and consistency on every input: on RGB-D the pool axis has them)
    input_methods: tuple[str, ...] = ("vqvae", "pseudo-depth")
    scene_methods: tuple[str, ...] = ("vqvae", "pseudo")      # beside GG-CNN on each style (``--full``: + consistency)
    # inputs on which the pool axis also runs pseudo-labels from the depth GG-CNN at every pool:
    # the cross-modal method's curve against the pool (on RGB the study's winner at 16×)
    cross_modal_inputs: tuple[str, ...] = ("rgb",)
    val_folds: int = 8
    size_px: int = 96
    augmentations: int = 8
    ae_steps: int = 800                        # reduced settings: the whole study in ≤ 3 h on 2 CPU cores
    grasp_steps: int = 600
    finetune_steps: int = 300
    batch_size: int = 16
    lr: float = 1e-3
    hidden: int = 32
    latent_dim: int = 32
    unlabelled_weight: float = 1.0

    def __post_init__(self):
        bad = [a for a in self.axes if a not in AXES]
        if bad:
            raise ConfigError(f"unknown study axis {', '.join(bad)}; choose from {', '.join(AXES)}")
        if not 0 < self.labelled_fraction < 1:
            raise ConfigError(f"--labelled-fraction {self.labelled_fraction}: give a fraction in (0, 1)")
        if not self.pools or any(p < 1 for p in self.pools) or self.scenes_pool < 1:
            raise ConfigError(f"--pools {self.pools}: give multiples ≥ 1 of the training pool (1 = its own images)")
        for grid in self.latent_grids:
            if grid not in (self.size_px // 4, self.size_px // 2):
                raise ConfigError(f"latent grid {grid}: at {self.size_px}² input the latent is "
                                  f"{self.size_px // 4}² or {self.size_px // 2}²")
        for i in self.inputs + self.cross_modal_inputs:
            if i not in ("rgb", "depth", "rgbd"):
                raise ConfigError(f"input {i!r}: choose rgb, depth or rgbd")
        bad = [m for m in self.pool_methods + self.input_methods + self.scene_methods if m not in UNLABELLED_METHODS]
        if bad:
            raise ConfigError(f"unknown method(s) {', '.join(bad)}; choose from {', '.join(UNLABELLED_METHODS)}")
        from ..scene.styles import scene_style
        for s in self.styles:
            if s != "data":                    # "data": the user's --data folder
                scene_style(s)
        if self.seeds < 1:
            raise ConfigError("--seeds must be at least 1")


#: the whole grid the study was first run with (~35–40 min more on 2 cores, projected from a
#: default run): the input axis' pseudo-label and consistency cells on RGB and depth, 1024 codes,
#: consistency on Cornell-like scenes — cells whose results (BENCHMARKS) did not change any
#: conclusion, left out of the default to keep it within 3 hours on 2 CPU cores
FULL_STUDY = dict(input_methods=("vqvae", "pseudo", "consistency", "pseudo-depth"), codebooks=(256, 64, 1024),
                  scene_methods=("vqvae", "pseudo", "consistency"))

QUICK_STUDY = dict(seeds=2, pools=(1, 4), inputs=("rgbd", "rgb"), codebooks=(128, 32), ae_steps=150,
                   grasp_steps=150, finetune_steps=75, hidden=16, augmentations=4, scenes_pool=4,
                   pool_methods=("vqvae", "pseudo", "consistency"), input_methods=("vqvae",), cross_modal_inputs=(),
                   scene_methods=("vqvae", "pseudo", "consistency"))


@dataclass(frozen=True, order=True)
class Setting:
    style: str
    inputs: str
    pool: int
    grid: int
    codes: int
    method: str

    @property
    def key(self) -> str:
        return f"{self.method}-{self.style}-{self.inputs}-x{self.pool}-g{self.grid}-k{self.codes}"

    @property
    def uses_pool(self) -> bool:
        return self.method != "ggcnn"

    @property
    def pseudo_labelled(self) -> bool:
        return self.method in ("pseudo", "pseudo-depth")

    @property
    def uses_autoencoder(self) -> bool:
        return self.method in ("vqvae", "vqvae-finetune")


def base_setting(cfg: StudyConfig, method: str = "ggcnn") -> Setting:
    return Setting(cfg.styles[0], cfg.inputs[0], cfg.pools[0], cfg.latent_grids[0], cfg.codebooks[0], method)


def axis_cells(cfg: StudyConfig) -> dict[str, list[Setting]]:
    """The cells of each axis: one setting varied from the base, with the methods that axis
    compares (each axis also holds its labels-only references)."""
    b = base_setting(cfg)
    cells: dict[str, list[Setting]] = {}
    if "pool" in cfg.axes:
        cells["pool"] = [b] + [replace(b, pool=p, method=m) for p in cfg.pools for m in cfg.pool_methods
                               if not _redundant(m, b.inputs)]
        cross = [replace(b, inputs=i, pool=p, method="pseudo-depth") for i in cfg.cross_modal_inputs
                 if not _redundant("pseudo-depth", i) for p in cfg.pools]
        cells["pool"] += list(dict.fromkeys(reference_of(c, cfg) for c in cross)) + cross
    if "input" in cfg.axes:
        cells["input"] = [replace(b, inputs=i, method=m, pool=b.pool if m in ("ggcnn", "vqvae") else cfg.scenes_pool)
                          for i in cfg.inputs for m in ("ggcnn",) + cfg.input_methods if not _redundant(m, i)]
    if "latent" in cfg.axes:
        cells["latent"] = [b] + [replace(b, grid=g, method="vqvae") for g in cfg.latent_grids]
    if "codebook" in cfg.axes:
        cells["codebook"] = [b] + [replace(b, codes=k, method="vqvae") for k in cfg.codebooks]
    if "encoder" in cfg.axes:
        cells["encoder"] = [b] + [replace(b, method=m) for m in ("vqvae", "vqvae-finetune", "joint")]
    if "scenes" in cfg.axes:
        p = cfg.scenes_pool
        cells["scenes"] = [replace(b, style=s, pool=p if m != "ggcnn" else b.pool, method=m) for s in cfg.styles
                           for m in ("ggcnn",) + cfg.scene_methods]
    return cells


def all_cells(cfg: StudyConfig) -> list[Setting]:
    """Every distinct cell of the study, references first (pseudo-labelling needs its teacher)."""
    cells = _with_prerequisites({c for cs in axis_cells(cfg).values() for c in cs}, cfg)
    return sorted(cells, key=lambda c: (c.method != "ggcnn", c.style, c.inputs, c.pool, c.grid, c.codes, c.method))


def schedule(cfg: StudyConfig) -> list[tuple[int, Setting]]:
    """(seed, cell) in the order they run: axis by axis in ``cfg.axes`` order (the headline pool
    axis first by default), all seeds of an axis before the next, each labels-only reference
    before the cells paired with it: a study stopped early has whole axes with every seed."""
    order = {c: i for i, c in enumerate(all_cells(cfg))}
    groups = axis_cells(cfg)
    done: set = set()
    out = []
    for axis in cfg.axes:
        cells = _with_prerequisites(set(groups.get(axis, [])), cfg)
        for seed in range(cfg.seeds):
            for c in sorted(cells, key=order.__getitem__):
                if (seed, c) not in done:
                    done.add((seed, c))
                    out.append((seed, c))
    return out


def _redundant(method: str, inputs: str) -> bool:
    """``pseudo-depth`` on depth input is plain ``pseudo`` (the teacher is its own reference)."""
    return method == "pseudo-depth" and inputs == "depth"


def _with_prerequisites(cells: set[Setting], cfg: StudyConfig) -> set[Setting]:
    """The cells, their labels-only references and their teachers (which must train first)."""
    return cells | {reference_of(c, cfg) for c in cells} | {t for c in cells if (t := teacher_of(c, cfg))}


def reference_of(cell: Setting, cfg: StudyConfig) -> Setting:
    """The labels-only GG-CNN a cell is paired with (same style, input and labelled subset)."""
    return Setting(cell.style, cell.inputs, cfg.pools[0], cfg.latent_grids[0], cfg.codebooks[0], "ggcnn")


def teacher_of(cell: Setting, cfg: StudyConfig) -> Setting | None:
    """The labels-only GG-CNN that pseudo-labels a cell's pool: its own reference (``pseudo``), or
    the reference on depth alone (``pseudo-depth``: a cross-modal teacher, depth seen in training
    only; the student plans on the cell's input); None for the other methods."""
    if cell.method == "pseudo":
        return reference_of(cell, cfg)
    if cell.method == "pseudo-depth":
        return replace(reference_of(cell, cfg), inputs="depth")
    return None
