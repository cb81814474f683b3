"""Looking at synthesised datasets: statistics and pictures (``grasplab dataset stats|show``)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..errors import GrasplabError
from ..geometry import Grasp2D
from ..quality import QualityConfig
from .gqcnn_arrays import dataset_threshold
from .gqcnn_tensors import TensorDataset


def _locate(path: Path) -> tuple[Path | None, Path | None]:
    """(GQ-CNN dataset folder, Jacquard scenes folder) found at or under ``path``."""
    path = Path(path)
    if not path.exists():
        raise GrasplabError(f"{path}: no such dataset folder")
    gq = path if (path / "config.json").is_file() and (path / "tensors").is_dir() else None
    if gq is None and (path / "gqcnn" / "config.json").is_file():
        gq = path / "gqcnn"
    jq = path / "jacquard" if (path / "jacquard").is_dir() else None
    if jq is None and any(path.glob("*/*_grasps.txt")):
        jq = path
    if gq is None and jq is None:
        raise GrasplabError(f"{path}: neither a GQ-CNN tensor dataset nor Jacquard-layout scenes")
    return gq, jq


def _object_names(config: dict) -> dict[int, tuple[str, str]]:
    from ..objects import parse_object_source
    cfg = config.get("config", {})
    try:
        specs = parse_object_source(cfg["objects"], int(cfg["seed"]), float(cfg.get("mesh_scale", 1.0)))
    except (KeyError, GrasplabError, ValueError):
        return {}
    return {i: (s.key, s.family) for i, s in enumerate(specs)}


def dataset_stats(path: str | Path) -> dict:
    gq, jq = _locate(Path(path))
    if gq is not None:
        ds = TensorDataset.open(gq)
        thr = dataset_threshold(ds, None)
        rfc = ds.field("robust_ferrari_canny")
        cf = ds.field("collision_free").astype(bool)
        obj = ds.field("obj_labels")
        names = _object_names(ds.config)
        pos = rfc > thr
        per_object, per_family = {}, {}
        for o in np.unique(obj):
            m = obj == o
            key, fam = names.get(int(o), (f"object {o}", "unknown"))
            per_object[key] = {"datapoints": int(m.sum()), "positive_fraction": float(pos[m].mean()),
                               "collision_free_fraction": float(cf[m].mean())}
            f = per_family.setdefault(fam, {"m": np.zeros(len(obj), bool)})
            f["m"] |= m
        per_family = {k: {"datapoints": int(v["m"].sum()), "positive_fraction": float(pos[v["m"]].mean()),
                          "collision_free_fraction": float(cf[v["m"]].mean())} for k, v in per_family.items()}
        splits = {}
        for name in ("image_wise", "object_wise"):
            try:
                tr, va = ds.split(name)
                splits[name] = {"train": int(len(tr)), "val": int(len(va))}
            except GrasplabError:
                pass
        return {"source": str(gq), "datapoints": int(len(rfc)), "positive_fraction": float(pos.mean()),
                "collision_free_fraction": float(cf.mean()), "threshold": thr, "objects": len(per_object),
                "per_object": per_object, "per_family": per_family, "splits": splits}
    # Jacquard scenes only: count from the sidecars
    per_object, total, positives, free = {}, 0, 0, 0
    thr = QualityConfig().positive_threshold
    for side in sorted(jq.glob("*/*_grasps.json")):
        d = json.loads(side.read_text())
        thr = d.get("positive_threshold", thr)
        cands = d["candidates"]
        key = d["object"]["key"]
        row = per_object.setdefault(key, {"datapoints": 0, "positives": 0, "free": 0, "family": d["object"]["family"]})
        row["datapoints"] += len(cands)
        row["positives"] += sum(c["positive"] for c in cands)
        row["free"] += sum(c["collision_free"] for c in cands)
    fams: dict[str, dict] = {}
    for row in per_object.values():
        f = fams.setdefault(row["family"], {"datapoints": 0, "positives": 0, "free": 0})
        for k in ("datapoints", "positives", "free"):
            f[k] += row[k]
    total = sum(r["datapoints"] for r in per_object.values())
    positives = sum(r["positives"] for r in per_object.values())
    free = sum(r["free"] for r in per_object.values())

    def fmt(r):
        n = max(r["datapoints"], 1)
        return {"datapoints": r["datapoints"], "positive_fraction": r["positives"] / n,
                "collision_free_fraction": r["free"] / n}
    return {"source": str(jq), "datapoints": total, "positive_fraction": positives / max(total, 1),
            "collision_free_fraction": free / max(total, 1), "threshold": thr, "objects": len(per_object),
            "per_object": {k: fmt(v) for k, v in per_object.items()},
            "per_family": {k: fmt(v) for k, v in fams.items()}, "splits": {}}


def _spread_views(jq: Path, count: int) -> list[Path]:
    """Up to ``count`` views from different objects: views with positive grasps first, then
    objects evenly spaced through the dataset (so that every family tends to appear)."""
    with_pos, without = [], []
    for obj_dir in sorted(p for p in jq.iterdir() if p.is_dir()):
        sides = sorted(obj_dir.glob("*_grasps.json"))
        pos = [s for s in sides if Path(str(s)[: -len(".json")] + ".txt").stat().st_size > 0]
        if pos:
            with_pos.append(pos[0])
        elif sides:
            without.append(sides[0])
    picked: list[Path] = []
    for group in (with_pos, without):
        need = count - len(picked)
        if need <= 0 or not group:
            continue
        idx = np.unique(np.linspace(0, len(group) - 1, min(need, len(group))).round().astype(int))
        picked += [group[i] for i in idx]
    return picked


def show_dataset(path: str | Path, out: str | Path, count: int = 6) -> list[Path]:
    """Write pictures: Jacquard scenes with grasps drawn, and/or a grid of GQ-CNN crops."""
    from ..imaging import read_mask, read_rgb
    from ..viz.figures import save_grasp_scenes, save_image_grid
    gq, jq = _locate(Path(path))
    out = Path(out)
    written = []
    if jq is not None:
        scenes = []
        for side in _spread_views(jq, count):
            d = json.loads(side.read_text())
            stem = str(side)[: -len("_grasps.json")]
            pos, neg = [], []
            for c in d["candidates"]:
                g = Grasp2D(tuple(c["center_xy_px"]), c["angle_rad"], c["width_px"], c["jaw_px"], c["depth_m"])
                (pos if c["positive"] else neg).append(g)
            scenes.append({"title": Path(stem).name, "image": read_rgb(f"{stem}_RGB.png"),
                           "mask": read_mask(f"{stem}_mask.png"), "positives": pos, "negatives": neg})
        if scenes:
            target = out if gq is None else out.with_name(out.stem + "_scenes.png")
            written.append(save_grasp_scenes(scenes, target, title=f"{jq}: grasp candidates"))
    if gq is not None:
        ds = TensorDataset.open(gq)
        ims = ds.load_file("depth_ims_tf_table", 0)
        rfc = ds.load_file("robust_ferrari_canny", 0)
        thr = dataset_threshold(ds, None)
        rng = np.random.default_rng(0)
        order = np.concatenate([rng.permutation(np.flatnonzero(rfc > thr))[: count * 4],
                                rng.permutation(np.flatnonzero(rfc <= thr))[: count * 4]])
        import matplotlib
        cmap = matplotlib.colormaps["viridis"]
        images = []
        for i in order:
            im = ims[i, ..., 0]
            lo, hi = np.percentile(im, 1), np.percentile(im, 99)
            rgb = (cmap(np.clip((im - lo) / max(hi - lo, 1e-6), 0, 1))[..., :3] * 255).astype(np.uint8)
            images.append((f"{'POS' if rfc[i] > thr else 'neg'} ε={rfc[i]:.4f}", rgb))
        if images:
            target = out if jq is None else out.with_name(out.stem + "_crops.png")
            written.append(save_image_grid(images, target, cols=8,
                                           title=f"{gq}: GQ-CNN depth crops (grasp axis horizontal)"))
    return written
