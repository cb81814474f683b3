"""``grasplab synth``: objects → labelled GQ-CNN tensors and Jacquard-layout scenes.

Units (one per object) run serially or on Ray and each writes ``units/<key>.npz`` atomically;
a rerun skips finished units. When all units are done, the GQ-CNN tensors (shards of 1,000
datapoints in object order) and the image-wise and object-wise splits are (re)written from
the unit files, so the dataset does not depend on the number of workers or on interruptions.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from ..datasets.gqcnn_tensors import write_tensor_dataset
from ..datasets.splits import grouped_holdout
from ..errors import ConfigError, GrasplabError
from ..objects import parse_object_source
from ..seeding import derive_rng
from ..storage import atomic_write_json, check_or_write_run_config, folder_lock, run_metadata
from .execution import check_ray_address, run_units
from .heap_units import choose_heap_objects, heap_key, object_sides
from .units import SynthConfig, load_unit, unit_key, unit_path, unit_summary

CONFIG_FILE = "synth_config.json"


@dataclass
class SynthResult:
    out_dir: Path
    units_run: int = 0             # (object, stable pose) units made by this run
    units_skipped: int = 0         # ... found done by an earlier run
    heaps: int = 0                 # clutter heaps in the dataset
    objects: int = 0               # objects this run covers (its shard's, with --shard)
    datapoints: int = 0
    positives: int = 0
    failures: dict[str, str] = field(default_factory=dict)
    no_grasps: dict[str, str] = field(default_factory=dict)    # objects without any candidate
    repaired: dict[str, list] = field(default_factory=dict)    # meshes repaired on loading, and how
    timing: dict[str, float] = field(default_factory=dict)

    @property
    def positive_fraction(self) -> float:
        return self.positives / self.datapoints if self.datapoints else 0.0


def make_splits(obj_labels: np.ndarray, image_labels: np.ndarray, train_fraction: float, seed: int,
                object_train_side: np.ndarray | None = None) -> dict:
    """Image-wise (no view in both) and object-wise (no object in both) train/val index splits.
    With heaps, the object-wise split follows ``object_train_side`` (the sides heaps drew their
    objects from), so no validation object appears in a training image."""
    splits = {}
    for name, groups in (("image_wise", image_labels), ("object_wise", obj_labels)):
        if name == "object_wise" and object_train_side is not None:
            in_train = object_train_side[obj_labels]
            train, val = np.flatnonzero(in_train), np.flatnonzero(~in_train)
        else:
            train, val = grouped_holdout(groups, train_fraction, derive_rng(seed, "split", name))
        splits[name] = {"train": train, "val": val}
    return splits


def consolidate(out_dir: Path, cfg: SynthConfig, keys: list[str], n_objects: int) -> tuple[int, int]:
    """Rewrite the GQ-CNN tensors and splits from the unit files (in object order, then heaps)."""
    parts = [load_unit(out_dir, k) for k in keys if unit_path(out_dir, k).is_file()]
    parts = [p for p in parts if p["hand_poses"].size]
    if not parts:
        return 0, 0
    fields = {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}
    sides = object_sides(n_objects, cfg.train_fraction, cfg.seed) if cfg.heaps else None
    splits = make_splits(fields["obj_labels"], fields["image_labels"], cfg.train_fraction, cfg.seed, sides)
    meta = run_metadata(cfg)
    meta["positive_threshold"] = cfg.quality.positive_threshold
    n = len(fields["hand_poses"])
    positives = int(np.sum(fields["robust_ferrari_canny"] > cfg.quality.positive_threshold))
    meta["positive_fraction"] = positives / n
    write_tensor_dataset(out_dir / "gqcnn", fields, splits, meta, cfg.datapoints_per_file)
    return n, positives


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """``"K/N"`` → (K, N) with 0 ≤ K < N; None passes through."""
    if text is None:
        return None
    k, sep, n = text.partition("/")
    if not sep or not k.strip().isdigit() or not n.strip().isdigit() or not 0 <= int(k) < int(n):
        raise ConfigError(f"--shard {text!r} is not K/N with 0 <= K < N (e.g. 0/4 ... 3/4)")
    return int(k), int(n)


def run_synth(cfg: SynthConfig, out_dir: str | Path, workers: int = 0, address: str | None = None,
              show_progress: bool = True, shard: tuple[int, int] | None = None,
              label_cache: str | Path | None = None) -> SynthResult:
    """Run (or resume) a synthesis job. ``shard=(k, n)`` runs only objects ``i % n == k``, so n
    processes or machines can share one output folder (a batch array, or no Ray); each writes its
    own units, and a final run without a shard skips them all and writes the tensors and splits.
    ``label_cache``: a folder where single objects' grasp labels are kept for other syntheses of
    the same objects and label settings (another style or camera), and read from (same outputs)."""
    out_dir = Path(out_dir)
    if label_cache is not None and Path(label_cache).exists() and not Path(label_cache).is_dir():
        raise ConfigError(f"--label-cache {label_cache}: not a folder; give a folder (made if missing) for the labels")
    specs = parse_object_source(cfg.objects, cfg.seed, cfg.mesh_scale)
    if address:
        check_ray_address(address)
    fresh = not out_dir.exists()
    out_dir.mkdir(parents=True, exist_ok=True)
    lock = "synth" if shard is None else f"synth-shard-{shard[0]}-of-{shard[1]}"
    with folder_lock(out_dir, lock, "synthesis"):
        return _run_synth_locked(cfg, out_dir, workers, address, show_progress, shard, specs, fresh,
                                 None if label_cache is None else Path(label_cache))


def _run_synth_locked(cfg: SynthConfig, out_dir: Path, workers: int, address: str | None, show_progress: bool,
                      shard: tuple[int, int] | None, specs: list, fresh: bool,
                      label_cache: Path | None = None) -> SynthResult:
    with folder_lock(out_dir, "config", "synthesis", wait=True):           # shards share the folder: check-and-write at once
        check_or_write_run_config(out_dir, CONFIG_FILE, cfg, "dataset", may_change=("heaps",))
    (out_dir / "units").mkdir(exist_ok=True)
    result = SynthResult(out_dir)
    todo = []
    keys = []
    for i, spec in enumerate(specs):       # objects that failed before are tried again (the mesh may be fixed)
        if shard is not None and i % shard[1] != shard[0]:
            continue
        result.objects += 1
        for rank in range(cfg.max_poses if cfg.singles else 0):
            keys.append(unit_key(spec.key, rank))
            if unit_path(out_dir, keys[-1]).is_file():
                result.units_skipped += 1
            else:
                todo.append((spec, i, rank))
    # run every object's likeliest pose first: each object's stable-pose analysis is then done
    # once (later poses read it from the disk cache) and the larger units start early
    todo.sort(key=lambda unit: (unit[2], unit[1]))
    heaps = []                             # heaps first: the largest units
    for h in range(cfg.heaps):
        if shard is not None and h % shard[1] != shard[0]:
            continue
        keys.append(heap_key(h))
        if unit_path(out_dir, keys[-1]).is_file():
            result.units_skipped += 1
        else:
            idx, _ = choose_heap_objects(len(specs), h, cfg)
            heaps.append(("heap", h, [specs[i] for i in idx], idx))
    todo = heaps + todo
    total = len(keys)
    columns = [TextColumn("[bold]synth[/]"), BarColumn(), MofNCompleteColumn(), TextColumn("units"),
               TextColumn("{task.fields[points]} datapoints, {task.fields[pos]} positive"), TimeElapsedColumn(),
               TimeRemainingColumn()]
    t_start = time.perf_counter()
    with Progress(*columns, disable=not show_progress) as progress:
        task = progress.add_task("", total=total, completed=total - len(todo), points=0, pos=0)
        points = pos = 0
        had_views: dict[str, bool] = {}            # a unit renders views only if it had candidates
        notes: dict[str, str] = {}
        for res in run_units(todo, cfg, out_dir, workers, address, stats=result.timing, label_cache=label_cache):
            had_views[res.key] = had_views.get(res.key, False) or res.views > 0
            if res.note:
                notes.setdefault(res.key, res.note)
            result.units_run += 1
            if res.error:
                if res.key not in result.failures:
                    progress.console.print(f"[yellow]skipped[/] {res.key}: {res.error}")
                result.failures[res.key] = res.error
            if res.repairs:
                result.repaired[res.key] = res.repairs
            points += res.datapoints
            pos += res.positives
            progress.update(task, advance=1, points=points, pos=pos)
    result.timing["units_s"] = time.perf_counter() - t_start
    keys = [k for k in keys if k.rsplit("__p", 1)[0] not in result.failures]
    t_cons = time.perf_counter()
    if shard is None and "gqcnn" in cfg.formats:
        result.datapoints, result.positives = consolidate(out_dir, cfg, keys, len(specs))
    else:                              # shards: the whole dataset is consolidated by a run without --shard
        summaries = [unit_summary(out_dir, k) for k in keys if unit_path(out_dir, k).is_file()]
        result.datapoints = sum(s.datapoints for s in summaries)
        result.positives = sum(s.positives for s in summaries)
    result.timing["consolidate_s"] = time.perf_counter() - t_cons
    if shard is not None:              # objects.json too is written by the final run
        return result
    done = [k for k in keys if unit_path(out_dir, k).is_file()]
    done_objects = sorted({k.rsplit("__p", 1)[0] for k in done if "__p" in k})
    result.heaps = sum("__p" not in k for k in done)
    result.no_grasps = {k: n for k, n in notes.items() if not had_views.get(k) and k not in result.failures}
    atomic_write_json(out_dir / "objects.json", {"ok": done_objects, "heaps": result.heaps, "failures": result.failures,
                                                 "no_grasps": result.no_grasps, "repaired": result.repaired})
    if result.units_run + result.units_skipped == 0 or not any(unit_path(out_dir, k).is_file() for k in keys):
        first = next(iter(result.failures.items()), None)
        why = f"; first: {first[0]}: {first[1]}" if first else ""
        if fresh:                      # nothing was made: leave nothing behind
            import shutil
            shutil.rmtree(out_dir, ignore_errors=True)
            where = ""
        else:
            where = f"; see {out_dir / 'objects.json'}"
        raise GrasplabError(f"no object produced data ({len(result.failures)} failed{why}){where}")
    return result
