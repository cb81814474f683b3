"""The semi-supervised experiment's tables: mean ± std of top-1 over seeds with pooled Wilson
intervals, written as results.json, results.csv and results.md."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..storage import atomic_write_bytes, atomic_write_json


def summarise(rows: list[dict], methods, fractions) -> list[dict]:
    """Per method and labelled fraction: mean ± std of top-1 over seeds, pooled Wilson 95 % CI."""
    from ..evaluation.rectangle_metric import accuracy_with_ci
    out = []
    for f in fractions:
        for m in methods:
            r = [x for x in rows if x["method"] == m and x["labelled_fraction"] == f]
            if not r:
                continue
            acc = np.array([x["top1"] for x in r])
            pooled = accuracy_with_ci(sum(x["top1_correct"] for x in r), sum(x["test_images"] for x in r))
            out.append({"method": m, "labelled_fraction": f, "seeds": len(r), "top1_mean": float(acc.mean()),
                        "top1_std": float(acc.std(ddof=1)) if len(r) > 1 else 0.0,
                        "pooled_ci95": [pooled.low, pooled.high], "labelled_images": r[0]["labelled_images"],
                        "train_s_mean": float(np.mean([x["train_s"] for x in r]))})
    return out


def write_tables(report: dict, out: Path) -> None:
    import csv
    import io
    atomic_write_json(out / "results.json", report)
    buf = io.StringIO()
    cols = ["method", "labelled_fraction", "seed", "labelled_images", "train_images", "test_images", "top1_correct",
            "top1", "top1_low", "top1_high", "train_s"]
    w = csv.DictWriter(buf, fieldnames=cols, extrasaction="ignore")
    w.writeheader()
    w.writerows(report["rows"])
    atomic_write_bytes(out / "results.csv", buf.getvalue().encode())
    lines = [f"Top-1 rectangle accuracy on {report['test_images']} held-out test images "
             f"({report['train_images']} training images).", "",
             "| labelled fraction | method | labelled images | top-1 mean ± std over seeds | pooled 95 % CI |",
             "|---:|---|---:|---:|---:|"]
    for s in report["summary"]:
        lines.append(f"| {s['labelled_fraction']:g} | {s['method']} | {s['labelled_images']} | "
                     f"{s['top1_mean']:.1%} ± {s['top1_std']:.1%} ({s['seeds']} seeds) | "
                     f"{s['pooled_ci95'][0]:.1%}–{s['pooled_ci95'][1]:.1%} |")
    atomic_write_bytes(out / "results.md", ("\n".join(lines) + "\n").encode())
