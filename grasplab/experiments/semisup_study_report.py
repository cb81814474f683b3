"""The semi-supervised study's statistics, tables and figures: per cell the mean ± std of top-1
over seeds, the pooled Wilson 95 % interval, the validation mean, and the paired per-seed
difference against labels-only GG-CNN (same labelled subset) with a t interval of its mean;
the best cell chosen on validation and checked against the target (≥ 9 points)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..storage import atomic_write_bytes, atomic_write_json

TARGET_POINTS = 0.09           # the paper's margin at 10 % labels (85.4 % vs 76.4 %)
AXIS_FIELD = {"pool": "pool", "input": "inputs", "latent": "grid", "codebook": "codes", "encoder": "method",
              "scenes": "style"}
AXIS_TITLE = {"pool": "unlabelled pool (× the training pool's images)", "input": "input", "latent": "latent grid",
              "codebook": "codebook size", "encoder": "encoder use", "scenes": "scene style"}


def _t95(n: int) -> float:
    from scipy.stats import t
    return float(t.ppf(0.975, n - 1)) if n > 1 else float("nan")


def summarise_cell(rows: list[dict], ref_rows: list[dict]) -> dict:
    """Statistics of one cell's rows (one per seed) and its paired difference to the reference."""
    from ..evaluation.rectangle_metric import accuracy_with_ci
    test = np.array([r["test_top1"] for r in rows])
    val = np.array([r["val_top1"] for r in rows])
    pooled = accuracy_with_ci(sum(r["test_correct"] for r in rows), sum(r["test_images"] for r in rows))
    ref = {r["seed"]: r for r in ref_rows}
    diffs = [r["test_top1"] - ref[r["seed"]]["test_top1"] for r in rows if r["seed"] in ref]
    val_diffs = [r["val_top1"] - ref[r["seed"]]["val_top1"] for r in rows if r["seed"] in ref]
    d = np.array(diffs)
    n = len(d)
    half = _t95(n) * d.std(ddof=1) / np.sqrt(n) if n > 1 else float("nan")
    return {"seeds": len(rows), "test_mean": float(test.mean()), "test_std": float(test.std(ddof=1)) if len(rows) > 1 else 0.0,
            "pooled_ci95": [pooled.low, pooled.high], "val_mean": float(val.mean()),
            "val_diff_mean": float(np.mean(val_diffs)) if val_diffs else float("nan"),
            "test_by_seed": [float(x) for x in test],
            "paired_diffs": [float(x) for x in d], "diff_mean": float(d.mean()) if n else float("nan"),
            "diff_std": float(d.std(ddof=1)) if n > 1 else 0.0,
            "diff_ci95": [float(d.mean() - half), float(d.mean() + half)] if n > 1 else [float("nan")] * 2,
            "train_s_mean": float(np.mean([r["train_s"] for r in rows])),
            "labelled_images": rows[0]["labelled_images"], "pool_images": rows[0]["pool_images"]}


def study_summary(rows: list[dict], cfg) -> dict:
    """Per-cell statistics, the axes' cell lists and the validation-chosen best cell."""
    from .semisup_cells import Setting, axis_cells, reference_of
    by_key: dict[str, list[dict]] = {}
    for r in rows:
        by_key.setdefault(r["key"], []).append(r)
    cells = {}
    for key, rs in by_key.items():
        setting = Setting(*(rs[0][f] for f in ("style", "inputs", "pool", "grid", "codes", "method")))
        ref = by_key.get(reference_of(setting, cfg).key, [])
        cells[key] = {"setting": {f: rs[0][f] for f in ("style", "inputs", "pool", "grid", "codes", "method")},
                      **summarise_cell(sorted(rs, key=lambda r: r["seed"]), ref)}
    axes = {a: [c.key for c in cs if c.key in cells] for a, cs in axis_cells(cfg).items()}
    candidates = [k for k, c in cells.items() if c["setting"]["method"] != "ggcnn"]
    def verdict(key: str | None, chosen_on: str) -> dict | None:
        if key is None:
            return None
        c = cells[key]
        return {"cell": key, "chosen_on": chosen_on, "val_mean": c["val_mean"], "val_diff_mean": c["val_diff_mean"],
                "test_mean": c["test_mean"], "diff_mean": c["diff_mean"], "diff_ci95": c["diff_ci95"],
                "target_met": bool(c["diff_mean"] >= TARGET_POINTS and c["diff_ci95"][0] > 0)}
    # the most accurate cell on validation, and the one gaining most over its labels-only reference there
    best = max(candidates, key=lambda k: (cells[k]["val_mean"], -len(k))) if candidates else None
    gain = [k for k in candidates if cells[k]["val_diff_mean"] == cells[k]["val_diff_mean"]]
    best_gain = max(gain, key=lambda k: (cells[k]["val_diff_mean"], -len(k))) if gain else None
    return {"cells": cells, "axes": axes, "best": verdict(best, "validation accuracy"),
            "best_gain": verdict(best_gain, "validation gain over labels-only GG-CNN")}


def _pct(x: float) -> str:
    return "–" if x != x else f"{100 * x:.1f}"


def study_markdown(report: dict) -> str:
    s = report["summary"]
    imgs = report["images"]
    lines = ["# Semi-supervised study", "",
             "Top-1 rectangle accuracy (%) of each cell's model used as the `map` policy on held-out-object test "
             "images (object masks given, as `predict --mask`), mean ± std over seeds, pooled Wilson 95 % interval; "
             "validation mean (for selection); paired per-seed difference to labels-only GG-CNN on the same labelled "
             "subset, mean with its t 95 % interval.", "",
             "Images per style: " + "; ".join(f"{k}: pool {v['pool']}, validation {v['val']}, test {v['test']}, "
                                              f"extra unlabelled {v['extra']}" for k, v in imgs.items()), ""]
    if report.get("command"):
        lines += [f"Command: `{report['command']}`; training and evaluation {report['wall_s']:.0f} s in its last run "
                  f"(the data made before it not counted)" + (f", data {report['data_s']:.0f} s" if "data_s" in report else "")
                  + ".", ""]
    timed = [r["cell_s"] for r in report["rows"] if "cell_s" in r]
    if timed:               # rows of earlier (resumed) runs count too: the cells' own time, data and set-up excluded
        lines += [f"Cells' own time (training, teacher labels, evaluation): {sum(timed) / 60:.1f} min over "
                  f"{len(timed)} of {len(report['rows'])} rows.", ""]
    for axis, keys in s["axes"].items():
        lines += [f"## {AXIS_TITLE[axis]}", "",
                  "| style | input | pool | grid | codes | method | labelled | test top-1 | pooled 95 % CI | val | Δ vs GG-CNN (paired) |",
                  "|---|---|---:|---:|---:|---|---:|---:|---:|---:|---:|"]
        for k in keys:
            c = s["cells"][k]
            st = c["setting"]
            diff = "ref." if st["method"] == "ggcnn" else (
                f"{_pct(c['diff_mean'])} [{_pct(c['diff_ci95'][0])}, {_pct(c['diff_ci95'][1])}]")
            lines.append(f"| {st['style']} | {st['inputs']} | {st['pool']}× | {st['grid']}² | {st['codes']} | {st['method']} | "
                         f"{c['labelled_images']} | {_pct(c['test_mean'])} ± {_pct(c['test_std'])} ({c['seeds']}) | "
                         f"{_pct(c['pooled_ci95'][0])}–{_pct(c['pooled_ci95'][1])} | {_pct(c['val_mean'])} | {diff} |")
        lines.append("")
    picks = [(s.get("best"), "Most accurate cell on validation"),
             (s.get("best_gain"), "Largest gain over labels-only GG-CNN on validation")]
    if any(b for b, _ in picks):
        lines += ["## Verdict", ""]
    for b, what in picks:
        if b:
            lines += [f"{what}: `{b['cell']}` (validation {_pct(b['val_mean'])} %, {_pct(b['val_diff_mean'])} points "
                      f"over its reference): test {_pct(b['test_mean'])} %, {_pct(b['diff_mean'])} points over labels-only "
                      f"GG-CNN (t 95 % [{_pct(b['diff_ci95'][0])}, {_pct(b['diff_ci95'][1])}]); target ≥ "
                      f"{100 * TARGET_POINTS:.0f} points beyond the seed spread: "
                      f"{'met' if b['target_met'] else 'not met'}.", ""]
    return "\n".join(lines)


def save_axis_figure(axis: str, summary: dict, path: Path, title: str) -> Path:
    """The headline pool axis as lines (one per method and input, each input's labels-only GG-CNN
    as a dashed or dotted line in its ± std band); other axes as bars grouped by the varied
    setting. Error bars: the seed std; dots: the seeds."""
    from ..viz.figures import finish_figure, plt
    cells = [summary["cells"][k] for k in summary["axes"][axis]]
    field = AXIS_FIELD[axis]
    fig, ax = plt.subplots(figsize=(7.5, 4.2), dpi=100)
    if axis == "pool":
        inputs = list(dict.fromkeys(c["setting"]["inputs"] for c in cells))       # the base input first
        def label(method: str, inputs_: str) -> str:
            return method if len(inputs) == 1 else f"{method} ({inputs_})"
        for c in (c for c in cells if c["setting"]["method"] == "ggcnn"):
            m, sd = 100 * c["test_mean"], 100 * c["test_std"]
            style = ("--", ":", "-.")[inputs.index(c["setting"]["inputs"]) % 3]
            ax.axhspan(m - sd, m + sd, color="0.88", alpha=0.7)
            ax.axhline(m, color="0.3", ls=style, label=label("ggcnn", c["setting"]["inputs"]) + ", labels only")
        lines = sorted({(c["setting"]["inputs"] != inputs[0], c["setting"]["inputs"], c["setting"]["method"])
                        for c in cells} - {(i != inputs[0], i, "ggcnn") for i in inputs})
        for j, (_, inputs_, method) in enumerate(lines):
            sel = sorted((c for c in cells if c["setting"]["method"] == method and c["setting"]["inputs"] == inputs_),
                         key=lambda c: c["setting"]["pool"])
            x = np.array([c["setting"]["pool"] for c in sel], dtype=float) * 2 ** (0.06 * (j - 1))   # side by side
            ax.errorbar(x, [100 * c["test_mean"] for c in sel], yerr=[100 * c["test_std"] for c in sel], marker="o",
                        capsize=3, color=f"C{j}", label=label(method, inputs_))
            for xi, c in zip(x, sel):
                ax.plot([xi] * len(c["test_by_seed"]), 100 * np.array(c["test_by_seed"]), ".", color=f"C{j}", alpha=0.5)
        ax.set_xscale("log", base=2)
        pools = sorted({c["setting"]["pool"] for c in cells})
        ax.set_xticks(pools, [f"{p}×" for p in pools])
        ax.minorticks_off()
    else:
        values = list(dict.fromkeys(str(c["setting"][field]) for c in cells))
        methods = list(dict.fromkeys(c["setting"]["method"] for c in cells)) if field != "method" else [None]
        width = 0.8 / len(methods)
        for j, method in enumerate(methods):
            for i, v in enumerate(values):
                sel = [c for c in cells if str(c["setting"][field]) == v
                       and (method is None or c["setting"]["method"] == method)]
                if not sel:
                    continue
                x = i + (j - (len(methods) - 1) / 2) * width
                colour = f"C{i if method is None else j}"
                ax.bar(x, 100 * sel[0]["test_mean"], width * 0.9, yerr=100 * sel[0]["test_std"], capsize=3,
                       color=colour, alpha=0.85, label=method)
                ax.plot([x] * len(sel[0]["test_by_seed"]), 100 * np.array(sel[0]["test_by_seed"]), "k.", alpha=0.6)
        ax.set_xticks(range(len(values)), values)
    ax.set_xlabel(AXIS_TITLE[axis])
    ax.set_ylabel("test top-1 (%)")
    ax.set_ylim(bottom=0)
    handles, labels = ax.get_legend_handles_labels()
    uniq = {lab: h for lab, h in zip(labels, handles) if lab and not lab.startswith("_")}
    if uniq:
        ax.legend(uniq.values(), uniq.keys(), fontsize=8)
    ax.grid(alpha=0.3)
    return finish_figure(fig, path, title)


def write_study_report(report: dict, cfg, out: Path) -> dict:
    """study.json, study.md and figures/study-<axis>.png."""
    report["summary"] = study_summary(report["rows"], cfg)
    atomic_write_json(out / "study.json", report)
    atomic_write_bytes(out / "study.md", study_markdown(report).encode())
    seeds = max((c["seeds"] for c in report["summary"]["cells"].values()), default=0)
    figures = []
    for axis, keys in report["summary"]["axes"].items():
        if keys:
            figures.append(str(save_axis_figure(axis, report["summary"], out / "figures" / f"study-{axis}.png",
                                                f"{AXIS_TITLE[axis]}: test top-1, mean ± std over {seeds} seed(s)")))
    report["figures"] = figures
    atomic_write_json(out / "study.json", report)
    return report
