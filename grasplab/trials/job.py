"""A trial job: every (object, trial) of a protocol for one policy, on ``grasplab.parallel``
workers, each record written atomically as it finishes, resumable, the same records for any
number of workers.

Output folder: ``trial_config.json`` (settings, version, command; another job's settings are
refused), ``trials/<object>__t<k>.json`` (one record per trial; present = finished),
``thumbs/`` (the frame and the planned grasp of each failed trial), ``videos/``, and the report
(``results.md``, ``results.json``, ``figures/``) written by ``report.write_report``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import ConfigError, GrasplabError
from ..objects import parse_object_source
from ..storage import atomic_write_json, check_or_write_run_config, folder_lock
from .trial import TrialConfig, run_trial

PROTOCOLS = ("singulated", "clutter", "labels")
ORACLE = "oracle"


@dataclass(frozen=True)
class TrialJobConfig:
    policy: dict                          # a policy spec {"policy": name, "options": {...}}, or {"policy": "oracle"}
    objects: str = "procedural:20"
    protocol: str = "singulated"
    trials: int = 5                       # per object
    seed: int = 0
    mesh_scale: float = 1.0
    videos: int = 0                       # trials recorded as video (the first ones in order)
    grasps_per_trial: int = 40            # the label study: labelled mesh grasps executed per trial
    heap_sizes: tuple[int, ...] = (5, 10)  # clutter: objects per heap (``trials`` heaps of each size)
    trial: TrialConfig = field(default_factory=TrialConfig)

    def __post_init__(self):
        if self.protocol not in PROTOCOLS:
            raise ConfigError(f"unknown protocol {self.protocol!r}; choose {', '.join(PROTOCOLS)}")
        if not self.heap_sizes or any(isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 20
                                      for n in self.heap_sizes):
            raise ConfigError(f"--heap-sizes {self.heap_sizes}: give whole numbers of objects from 1 to 20")
        for name, v, lo in (("--trials", self.trials, 1), ("--video", self.videos, 0),
                            ("--grasps", self.grasps_per_trial, 1)):
            if isinstance(v, bool) or not isinstance(v, int) or v < lo:
                raise ConfigError(f"{name} {v!r}: give a whole number ≥ {lo}")
        if not (np.isfinite(self.mesh_scale) and self.mesh_scale > 0):
            raise ConfigError(f"--scale {self.mesh_scale}: must be a positive number (0.001 for meshes in mm)")

def record_path(out_dir: Path, key: str, trial: int) -> Path:
    return Path(out_dir) / "trials" / f"{key}__t{trial:03d}.json"


def heap_key(n_objects: int) -> str:
    return f"heap{n_objects:02d}"


def build_policy(spec: dict):
    """The policy under test from its spec (``"oracle"`` stays a name: it reads the mesh)."""
    if spec.get("policy") == ORACLE:
        return ORACLE
    from ..policies import load_policy
    return load_policy(spec["policy"], **spec.get("options", {}))


class TrialWorker:
    """One worker's renderer and policy; ``run`` does one (object spec, trial) and writes its record."""

    def __init__(self, config: TrialJobConfig, out_dir: str):
        import torch
        from ..scene import make_renderer
        # one thread per worker, in this process as on Ray (the same outcomes; a network's scores
        # may still differ in their last float digits between processes)
        self._threads = torch.get_num_threads()
        torch.set_num_threads(1)
        self.config, self.out_dir = config, Path(out_dir)
        self.renderer = make_renderer("auto")
        self.policy = build_policy(config.policy)
        self.specs = parse_object_source(config.objects, seed=config.seed, scale=config.mesh_scale)

    def run(self, task: tuple) -> dict:
        spec, k = task
        cfg = self.config
        if cfg.protocol == "clutter":
            from .clutter import run_heap
            rec = run_heap(self.specs, spec, k, cfg.seed, cfg.trial, self.policy)
            rec.update(object=heap_key(spec), trial=k)
            from .media import write_frame_thumb
            for j, frame, grasp, outcome in rec.pop("_thumbs", []):
                write_frame_thumb(frame, None, grasp, f"{heap_key(spec)} h{k} attempt {j + 1}: {outcome}",
                                  self.out_dir / "thumbs" / f"{heap_key(spec)}__t{k:03d}_a{j:02d}.png")
            atomic_write_json(record_path(self.out_dir, heap_key(spec), k), rec)
            return rec
        if cfg.protocol == "labels":
            from .label_study import run_label_trial
            rec = run_label_trial(spec, k, cfg.seed, cfg.trial, self.renderer, cfg.grasps_per_trial)
        else:
            video = k < cfg.videos
            rec = run_trial(spec, k, cfg.seed, cfg.trial, self.policy, self.renderer, record_every=10 if video else 0)
            setup, frames = rec.pop("_setup", None), rec.pop("_frames", None)
            if video and setup is not None and frames:
                from .media import write_trial_video
                rec["video"] = str(write_trial_video(setup, frames, self.out_dir / "videos" / f"{spec.key}__t{k:03d}.gif")
                                   .relative_to(self.out_dir))
            if setup is not None and rec.get("outcome") not in ("success", "error"):
                from .media import write_failure_thumb
                write_failure_thumb(rec, setup, self.out_dir / "thumbs" / f"{spec.key}__t{k:03d}.png")
        atomic_write_json(record_path(self.out_dir, spec.key, k), rec)
        return rec

    def close(self) -> None:
        import torch
        self.renderer.close()
        torch.set_num_threads(self._threads)


def load_records(out_dir: Path) -> list[dict]:
    """Every finished trial's record, in (object, trial) order."""
    recs = []
    for p in sorted((Path(out_dir) / "trials").glob("*.json")):
        try:
            recs.append(json.loads(p.read_text()))
        except (json.JSONDecodeError, UnicodeDecodeError, OSError):
            p.unlink(missing_ok=True)           # a torn record (cannot happen with atomic writes): redo it
    return recs


def _refuse_first_protocol_heaps(out_dir: Path) -> None:
    """Heaps of the first clutter protocol (a camera that followed the heap, no workspace; their
    records say nothing of how they ended) cannot be resumed into, nor mixed with, today's."""
    old = [r["object"] + f" trial {r['trial']}" for r in load_records(out_dir)
           if "error" not in r and "ended_by" not in r]
    if old:
        raise ConfigError(f"{out_dir} holds {len(old)} clutter heap(s) of the first protocol (before the fixed camera "
                          f"and workspace; e.g. {old[0]}), which cannot be mixed with new ones; choose another --out")


def run_trial_job(config: TrialJobConfig, out_dir: Path, *, workers: int = 0, address: str | None = None,
                  progress=None) -> list[dict]:
    """Run the missing trials of ``config`` into ``out_dir`` and return every record."""
    from ..parallel import run_tasks
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ConfigError(f"--out {out_dir} is a file; give a folder")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(f"cannot create --out {out_dir} ({e.strerror}); choose a writable folder") from None
    specs = parse_object_source(config.objects, seed=config.seed, scale=config.mesh_scale)
    if not specs:
        raise GrasplabError(f"{config.objects}: no objects found")
    if config.protocol == "clutter" and max(config.heap_sizes) > len(specs):
        raise ConfigError(f"--heap-sizes {max(config.heap_sizes)} needs at least that many objects; {config.objects} "
                          f"gives {len(specs)}: give more objects or smaller heaps")
    build_policy(config.policy)               # a bad policy or model fails here, before any work
    with folder_lock(out_dir, "trial", "trial job"):
        # more trials per object (or heap) may be added later: each trial's seed depends on its own
        # index only, so the first N are the same whatever the count; fewer report the first N.
        # Videos only film trials, so their count may change too.
        check_or_write_run_config(out_dir, "trial_config.json", config, what="trial job",
                                  may_change=("trials", "videos"))
        if config.protocol == "clutter":
            _refuse_first_protocol_heaps(out_dir)
            todo = [(n, k) for n in config.heap_sizes for k in range(config.trials)
                    if not record_path(out_dir, heap_key(n), k).is_file()]
        else:
            # trial-major order: two workers never build the same new object (its convex parts) at once
            todo = [(s, k) for k in range(config.trials) for s in specs if not record_path(out_dir, s.key, k).is_file()]
        stats: dict = {}
        for rec in run_tasks(todo, TrialWorker, (config, str(out_dir)), workers, address, stats):
            if progress is not None:
                progress(rec)
    keys = {heap_key(n) for n in config.heap_sizes} if config.protocol == "clutter" else {s.key for s in specs}
    return [r for r in load_records(out_dir) if r["object"] in keys and r["trial"] < config.trials]
