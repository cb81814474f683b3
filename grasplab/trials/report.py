"""The report of a trial job: success rates with Wilson 95 % intervals overall, per family and
per object, failure reasons, timings; ``results.json``, ``results.md`` and figures (failures
contact sheet, success against the policy's score)."""
from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from ..evaluation.rectangle_metric import accuracy_with_ci
from ..storage import atomic_write, atomic_write_json, run_metadata
from ..policies.clearance import ClearanceConfig
from .grasp_execution import FAILURES, SUCCESS


def policy_label(spec: dict) -> str:
    """A policy spec's name for tables: ``map``, ``map + clearance`` for a wrapped one,
    ``fc-gqcnn + clearance, else gqcnn-rank + clearance`` for a fallback."""
    name = spec.get("policy", "?")
    options = spec.get("options", {})
    inner = options.get("policy")
    if name == "clearance" and isinstance(inner, dict):
        return f"{policy_label(inner)} + clearance"
    if name == "fallback" and options.get("policies"):
        return ", else ".join(policy_label(p) if isinstance(p, dict) else str(p) for p in options["policies"])
    return name


def _rate(recs: list[dict]) -> dict:
    n = len(recs)
    k = sum(r.get("outcome") == SUCCESS for r in recs)
    acc = accuracy_with_ci(k, n)
    return {"trials": n, "successes": k, "success_rate": acc.value, "ci95": [acc.low, acc.high]}


def summarise(records: list[dict]) -> dict:
    """Numbers of a singulated job (objects that could not be simulated are listed apart)."""
    errors = [r for r in records if r.get("outcome") == "error"]
    recs = [r for r in records if r.get("outcome") != "error"]
    out = {"overall": _rate(recs), "failures": {f: 0 for f in FAILURES}}
    out["failures"].update(Counter(r["outcome"] for r in recs if r["outcome"] != SUCCESS))
    by_family, by_object = defaultdict(list), defaultdict(list)
    for r in recs:
        by_family[r["family"]].append(r)
        by_object[r["object"]].append(r)
    out["per_family"] = {f: _rate(v) for f, v in sorted(by_family.items())}
    out["per_object"] = {o: {**_rate(v), "family": v[0]["family"]} for o, v in sorted(by_object.items())}
    planned = [r["planning_ms"] for r in recs if "planning_ms" in r]
    simulated = [r["sim_ms"] for r in recs if r.get("sim_ms")]
    out["timing"] = {"planning_ms_median": float(np.median(planned)) if planned else None,
                     "sim_ms_median": float(np.median(simulated)) if simulated else None,
                     "sim_s_per_trial_mean": float(np.mean([r["sim_s"] for r in recs if "sim_s" in r] or [0.0]))}
    out["errors"] = [{"object": r["object"], "error": r.get("error", "")} for r in errors]
    by_face = by_draw_in(recs)
    if by_face:
        out["by_draw_in"] = by_face
    return out


PREFERRED_DRAW_IN = ClearanceConfig.max_draw_in
DRAW_IN_BINS = (PREFERRED_DRAW_IN, 2 * PREFERRED_DRAW_IN)      # the clearance check's default preference, twice it


def by_draw_in(picks: list[dict]) -> dict:
    """Executed grasps grouped by how much the faces between the jaws drew in (the clearance
    check's measure, ``checks.draw_in``): picks, success (Wilson) and slips per group; empty
    where no grasp carries the measure."""
    measured = [p for p in picks if "draw_in" in p.get("checks", {}) and p.get("outcome") not in ("no grasp", "error")]
    out = {}
    edges = (-np.inf, *DRAW_IN_BINS, np.inf)
    for lo, hi in zip(edges[:-1], edges[1:]):
        group = [p for p in measured if lo < p["checks"]["draw_in"] <= hi]
        if group:
            name = f"≤ {hi:g}" if lo == -np.inf else f"> {lo:g}" if hi == np.inf else f"{lo:g}–{hi:g}"
            out[name] = {**_rate(group), "slips": sum(p["outcome"] == "slipped during lift" for p in group)}
    return out


def _draw_in_lines(groups: dict, what: str = "Executed grasps") -> list[str]:
    if not groups:
        return []
    return ["", f"{what} by how much the faces between the jaws draw in over the 1 cm above the fingertips "
            f"(the clearance check's measure: the cotangent of the faces' slope; by default it prefers "
            f"≤ {PREFERRED_DRAW_IN:g}):", "",
            "| draw-in | picks | success (Wilson 95 %) | slips |", "|---|---:|---:|---:|",
            *[f"| {k} | {v['trials']} | {_pct(v)} | {v['slips']} |" for k, v in groups.items()]]


def summarise_clutter(records: list[dict]) -> dict:
    """Per heap size: pick success rate (Wilson), objects cleared, heaps cleared, picks per hour
    (successful picks per hour of simulated execution plus measured planning time), failures."""
    out = {}
    for n in sorted({r["n_objects"] for r in records if r.get("outcome") == "done"}):
        heaps = [r for r in records if r.get("outcome") == "done" and r["n_objects"] == n]
        attempts = [a for h in heaps for a in h["attempts"] if a["outcome"] != "no grasp"]
        ok = sum(a["outcome"] == SUCCESS for a in attempts)
        acc = accuracy_with_ci(ok, len(attempts))
        objects = sum(h.get("on_table", h["n_objects"]) for h in heaps)
        cleared = sum(h["cleared"] for h in heaps)
        # the same over the objects that fit the gripper in their likeliest resting pose
        wide = [set(h.get("too_wide", [])) for h in heaps]
        fit_objects = sum(len(set(h["objects"]) - set(h.get("unplaced", [])) - w) for h, w in zip(heaps, wide))
        fit_cleared = sum(a["outcome"] == SUCCESS and a.get("object") not in w
                          for h, w in zip(heaps, wide) for a in h["attempts"])
        seconds = sum(a["sim_s"] + a["planning_ms"] / 1e3 for h in heaps for a in h["attempts"])
        fails = Counter(a["outcome"] for h in heaps for a in h["attempts"] if a["outcome"] != SUCCESS)
        strays = sum(len(h.get("left_workspace", [])) for h in heaps)
        if strays:
            fails["objects that left the workspace"] = strays
        ends = Counter(h.get("ended_by") or
                       ("cleared" if h["cleared"] == h.get("on_table", h["n_objects"]) else
                        "no grasp" if h["attempts"] and h["attempts"][-1]["outcome"] == "no grasp" else "two failures")
                       for h in heaps)
        by_face = by_draw_in(attempts)
        out[str(n)] = {"heaps": len(heaps), "attempts": len(attempts), "successes": ok, "trials": len(attempts),
                       **({"by_draw_in": by_face} if by_face else {}),
                       "success_rate": acc.value, "ci95": [acc.low, acc.high],
                       "cleared_fraction": cleared / objects if objects else float("nan"),
                       "cleared_fraction_fitting": fit_cleared / fit_objects if fit_objects else float("nan"),
                       "objects": objects, "objects_fitting": fit_objects,
                       "heaps_cleared": ends.get("cleared", 0), "ended_by": dict(ends),
                       "picks_per_hour": 3600 * ok / seconds if seconds else float("nan"),
                       "failures": dict(fails),
                       "planning_ms_median": float(np.median([a["planning_ms"] for h in heaps for a in h["attempts"]]))
                       if attempts else None}
    return out


def clutter_errors(records: list[dict]) -> list[dict]:
    """The heaps that could not be simulated (a mesh that cannot be loaded or dropped), one entry
    per error with the heaps it stopped, so that a table with fewer heaps than asked says why."""
    by_error: dict[str, list[str]] = {}
    for r in sorted((r for r in records if r.get("outcome") == "error"), key=lambda r: (r["n_objects"], r["heap"])):
        by_error.setdefault(r.get("error", ""), []).append(f"{r['n_objects']}-object heap {r['heap']}")
    return [{"error": e, "heaps": h} for e, h in by_error.items()]


def _heap_setting(trial: dict) -> str:
    """Where the heaps lie: picked from a bin that stays, or dropped into one taken away, or freely."""
    inner, kept = trial.get("heap_bin_m"), trial.get("keep_bin_m")
    if kept:
        return (f"The heaps are picked from a {100 * inner:g} cm bin whose walls stand {100 * kept:g} cm high "
                f"(touching them is a collision). ")
    if inner:
        return f"The heaps fall into a {100 * inner:g} cm bin, taken away once they rest. "
    return "The heaps are dropped freely. "


def clutter_markdown(summary: dict, meta: dict, errors: list[dict] = ()) -> str:
    cfg = meta["config"]
    lines = [f"# Clutter clearing: {policy_label(cfg['policy'])}", "",
             f"Objects drawn from `{cfg['objects']}`, {cfg['trials']} heaps per size, seed {cfg['seed']}, gripper "
             f"`{cfg['trial']['gripper']}`, camera `{cfg['trial']['camera']}`; command: `{' '.join(meta['command'])}`; "
             f"grasplab {meta['grasplab_version']}. {_heap_setting(cfg['trial'])}A heap ends when the table is clear, "
             f"after two failed attempts "
             f"in a row, or when the policy finds no grasp; an object whose centre rolls more than "
             f"{100 * cfg['trial'].get('workspace_radius_m', float('nan')):.0f} cm from the heap's centre leaves the "
             f"workspace (taken away, not cleared). Picks per hour: successful picks per hour of simulated "
             f"execution (approach, close, lift, hold, shake) plus measured planning time; arm motion to and from a "
             f"bin is not modelled. *Of those that fit*: objects cleared among those no wider than the gripper "
             f"opens in their likeliest resting pose (the others need a tilted heap to be grasped top-down).", "",
             "| objects per heap | heaps | pick success (Wilson 95 %) | objects cleared | of those that fit | heaps cleared "
             "| picks per hour | failures |",
             "|---:|---:|---:|---:|---:|---:|---:|---|"]
    for n, v in summary.items():
        fails = ", ".join(f"{k} {c}" for k, c in v["failures"].items()) or "—"
        lines.append(f"| {n} | {v['heaps']} | {_pct(v)} | {_cleared(v)} | {v['heaps_cleared']} | "
                     f"{v['picks_per_hour']:.0f} | {fails} |")
    if errors:
        lines += ["", f"Heaps that could not be simulated, left out of the table "
                      f"({sum(len(e['heaps']) for e in errors)}):", ""]
        lines += [f"- {e['error']} ({', '.join(e['heaps'])})" for e in errors]
    for n, v in summary.items():
        lines += _draw_in_lines(v.get("by_draw_in", {}), f"{n}-object heaps: executed grasps")
    return "\n".join(lines) + "\n"


def _cleared(v: dict) -> str:
    """Objects cleared and, of those that fit the gripper, cleared (two table cells)."""
    fit = v.get("cleared_fraction_fitting")
    return (f"{100 * v['cleared_fraction']:.1f} % | "
            + ("—" if fit is None or fit != fit else f"{100 * fit:.1f} % (of {v['objects_fitting']})"))


def _pct(x: dict) -> str:
    lo, hi = x["ci95"]
    return f"{100 * x['success_rate']:.1f} % ({x['successes']}/{x['trials']}, CI {100 * lo:.1f}–{100 * hi:.1f})"


def results_markdown(summary: dict, meta: dict) -> str:
    cfg = meta["config"]
    lines = [f"# Grasp trials: {policy_label(cfg['policy'])} — {cfg['protocol']}", "",
             f"Objects `{cfg['objects']}`, {cfg['trials']} trials each, seed {cfg['seed']}, gripper "
             f"`{cfg['trial']['gripper']}`, camera `{cfg['trial']['camera']}`; command: `{' '.join(meta['command'])}`; "
             f"grasplab {meta['grasplab_version']}.", "",
             f"**Success: {_pct(summary['overall'])}** (Wilson 95 % interval).", "",
             "| failure | trials |", "|---|---:|"]
    lines += [f"| {k} | {v} |" for k, v in summary["failures"].items()]
    t = summary["timing"]
    if t["planning_ms_median"] is not None:
        lines += ["", f"Planning {t['planning_ms_median']:.1f} ms median per frame; simulation "
                      f"{(t['sim_ms_median'] or 0):.1f} ms median wall per executed grasp "
                      f"({t['sim_s_per_trial_mean']:.2f} s simulated)."]
    lines += _draw_in_lines(summary.get("by_draw_in", {}))
    lines += ["", "| family | success |", "|---|---:|"]
    lines += [f"| {f} | {_pct(v)} |" for f, v in summary["per_family"].items()]
    lines += ["", "| object | family | success |", "|---|---|---:|"]
    lines += [f"| {o} | {v['family']} | {_pct(v)} |" for o, v in summary["per_object"].items()]
    if summary["errors"]:
        lines += ["", "Objects that could not be simulated:", ""]
        lines += [f"- {e['object']}: {e['error']}" for e in summary["errors"]]
    return "\n".join(lines) + "\n"


def save_score_curve(records: list[dict], path: Path, bins: int = 5) -> Path | None:
    """Success rate against the policy's score (quantile bins): does a higher score mean a grasp
    that holds?"""
    from ..viz.figures import finish_figure, plt
    pts = [(r["score"], r["outcome"] == SUCCESS) for r in records if "score" in r and r.get("outcome") != "error"]
    if len(pts) < 2 * bins:
        return None
    s, ok = np.array(pts, dtype=float).T
    edges = np.unique(np.quantile(s, np.linspace(0, 1, bins + 1)))
    idx = np.clip(np.searchsorted(edges, s, side="right") - 1, 0, len(edges) - 2)
    xs, ys, lo, hi = [], [], [], []
    for b in range(len(edges) - 1):
        sel = idx == b
        if sel.any():
            a = accuracy_with_ci(int(ok[sel].sum()), int(sel.sum()))
            xs.append(s[sel].mean()), ys.append(a.value), lo.append(a.value - a.low), hi.append(a.high - a.value)
    fig, ax = plt.subplots(figsize=(4.5, 3.4), dpi=90)
    ax.errorbar(xs, ys, yerr=[lo, hi], marker="o", capsize=3)
    ax.set_xlabel("policy score of the executed grasp")
    ax.set_ylabel("success rate (Wilson 95 %)")
    ax.set_ylim(-0.02, 1.02)
    return finish_figure(fig, path, "success against score")


def save_draw_in_chart(series: dict[str, dict], path: Path) -> Path | None:
    """Success (Wilson 95 %) per draw-in group (``by_draw_in``'s), one set of bars per series
    (a heap size, or all trials): do grasps on steep faces hold and grasps on wedges slip?"""
    series = {k: v for k, v in series.items() if v}
    if not series:
        return None
    from ..viz.figures import finish_figure, plt
    groups = list(dict.fromkeys(g for v in series.values() for g in v))
    fig, ax = plt.subplots(figsize=(4.8, 3.4), dpi=90)
    width = 0.8 / len(series)
    for i, (label, v) in enumerate(series.items()):
        xs = [groups.index(g) + (i - (len(series) - 1) / 2) * width for g in v]
        ys = [x["success_rate"] for x in v.values()]
        err = [[y - x["ci95"][0] for y, x in zip(ys, v.values())], [x["ci95"][1] - y for y, x in zip(ys, v.values())]]
        ax.bar(xs, ys, width, yerr=err, capsize=3, label=f"{label} ({sum(x['trials'] for x in v.values())} grasps)")
    ax.set_xticks(range(len(groups)), [f"draw-in {g}" for g in groups])
    ax.set_ylabel("success rate (Wilson 95 %)")
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=7)
    return finish_figure(fig, path, "success by the faces the pads meet")


def save_failure_sheet(out_dir: Path, path: Path, limit: int = 24) -> Path | None:
    """A grid of the first failed trials' (clutter: attempts') frames with the executed grasp."""
    from PIL import Image
    from ..viz.figures import save_image_grid
    files = sorted((Path(out_dir) / "thumbs").glob("*.png"))[:limit]
    if not files:
        return None
    thumbs = [("", np.asarray(Image.open(p).convert("RGB"))) for p in files]
    return save_image_grid(thumbs, path, cols=6, title=f"failures (first {len(thumbs)}): executed grasp in blue")


def write_report(out_dir: Path, records: list[dict]) -> dict:
    """Write ``results.json``, ``results.md`` and the figures; return the summary."""
    import json
    out_dir = Path(out_dir)
    meta = json.loads((out_dir / "trial_config.json").read_text())
    meta = {**run_metadata(meta["config"]), "config": meta["config"]}
    if meta["config"]["protocol"] == "clutter":
        summary, errors = summarise_clutter(records), clutter_errors(records)
        md = clutter_markdown(summary, meta, errors)
        meta["errors"] = errors
        save_failure_sheet(out_dir, out_dir / "figures" / "failures.png")
        save_draw_in_chart({f"{n}-object heaps": v.get("by_draw_in", {}) for n, v in summary.items()},
                           out_dir / "figures" / "success-by-draw-in.png")
    elif meta["config"]["protocol"] == "labels":
        from .label_study import summarise_labels, labels_markdown, save_reliability_curve
        summary = summarise_labels(records)
        md = labels_markdown(summary, meta)
        save_reliability_curve(records, out_dir / "figures" / "reliability.png")
    else:
        summary = summarise(records)
        md = results_markdown(summary, meta)
        save_failure_sheet(out_dir, out_dir / "figures" / "failures.png")
        save_score_curve(records, out_dir / "figures" / "score-vs-success.png")
        save_draw_in_chart({"all trials": summary.get("by_draw_in", {})}, out_dir / "figures" / "success-by-draw-in.png")
    atomic_write_json(out_dir / "results.json", {**meta, "summary": summary})
    atomic_write(out_dir / "results.md", lambda p: p.write_text(md))
    return summary


def compare_runs(runs: list[Path], oracle: Path | None = None) -> str:
    """A Markdown table of several runs on the same trials (the same objects, trials and seed)."""
    import json
    from ..errors import ConfigError
    from .job import load_records

    def load(d: Path) -> tuple[dict, dict]:
        d = Path(d)
        if not (d / "trial_config.json").is_file():
            raise ConfigError(f"{d} is not a trial output folder (no trial_config.json); give `grasplab trial --out` folders")
        cfg = json.loads((d / "trial_config.json").read_text())["config"]
        return cfg, {(r["object"], r["trial"]): r for r in load_records(d) if r.get("outcome") != "error"}

    configs = [load(d)[0] for d in runs]
    if any(c.get("protocol") == "clutter" for c in configs):
        return _compare_clutter(runs, configs)
    graspable = None
    if oracle is not None:
        ocfg, orecs = load(oracle)
        graspable = {k for k, r in orecs.items() if r["outcome"] != "no grasp"}
    rows = ["| policy | trials | success (Wilson 95 %) | on trials the oracle grasps | failures | planning ms (median) |",
            "|---|---:|---:|---:|---|---:|"]
    keys, lifted = None, []
    for d in runs:
        cfg, recs = load(d)
        lifted.append((f"{policy_label(cfg['policy'])} (`{Path(d).name}`)",
                       {None: {k: float(r["outcome"] == "success") for k, r in recs.items()}}))
        if keys is not None and set(recs) != keys:
            raise ConfigError(f"{d} holds other trials than {runs[0]}: compare runs of the same --objects, --trials "
                              f"and --seed")
        keys = set(recs)
        name = policy_label(cfg["policy"]) + (" (open fully)" if cfg["trial"]["execution"].get("open_fully") else "")
        s = summarise(list(recs.values()))
        fails = ", ".join(f"{k} {v}" for k, v in s["failures"].items() if v) or "—"
        on = "—"
        if graspable is not None:
            sub = [r for k, r in recs.items() if k in graspable]
            on = _pct(_rate(sub))
        t = s["timing"]["planning_ms_median"]
        rows.append(f"| {name} | {s['overall']['trials']} | {_pct(s['overall'])} | {on} | {fails} | "
                    f"{'—' if t is None else f'{t:.0f}'} |")
    return "\n".join(rows) + "\n" + _paired_lines(lifted, "trials", "success")


def paired_change(base: dict, other: dict) -> dict | None:
    """``other`` against ``base`` over the keys both hold (the same trials or heaps): the mean change
    of the per-key values, its standard error (the spread of the paired differences over √n), and
    how many keys went up and down; None where they share fewer than two keys. Paired over the same
    objects, poses and heaps, two runs differ far less by chance than their separate rates suggest."""
    keys = sorted(set(base) & set(other))
    if len(keys) < 2:
        return None
    d = np.array([other[k] - base[k] for k in keys], dtype=np.float64)
    return {"n": len(keys), "change": float(d.mean()), "se": float(d.std(ddof=1) / np.sqrt(len(d))),
            "up": int((d > 0).sum()), "down": int((d < 0).sum())}


def _paired_lines(runs: list[tuple[str, dict]], unit: str, what: str) -> str:
    """A Markdown table of each run after the first paired against the first (``runs``: name and
    {group: {key: value}}, the group the heap size or None); empty for one run."""
    if len(runs) < 2:
        return ""
    grouped = any(g is not None for _, groups in runs for g in groups)
    lines = ["", f"Paired against {runs[0][0]} over the {unit} both ran: the change in {what}, in points, with its "
             f"standard error (a change within about two of them is within the {unit}' own variation).", "",
             f"| policy | {'objects per heap | ' if grouped else ''}{unit} paired | change (SE) | {unit} better / worse |",
             f"|---|{'---:|' if grouped else ''}---:|---:|---:|"]
    for name, groups in runs[1:]:
        for group, values in groups.items():
            c = paired_change(runs[0][1].get(group, {}), values)
            cells = "— | — | —" if c is None else \
                f"{c['n']} | {100 * c['change']:+.1f} ({100 * c['se']:.1f}) | {c['up']} / {c['down']}"
            lines.append(f"| {name} | {f'{group} | ' if grouped else ''}{cells} |")
    return "\n".join(lines) + "\n"


def _compare_clutter(runs: list[Path], configs: list[dict]) -> str:
    from ..errors import ConfigError
    from .job import load_records
    if any(c.get("protocol") != "clutter" for c in configs) or \
            len({(c["objects"], c["seed"], c["trials"], tuple(c["heap_sizes"])) for c in configs}) > 1:
        raise ConfigError("compare clutter runs only with clutter runs of the same --objects, --seed, --trials and "
                          "--heap-sizes")
    rows = ["| policy | objects per heap | heaps | pick success (Wilson 95 %) | objects cleared | of those that fit | "
            "heaps cleared | picks per hour | failures | planning ms (median) |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---|---:|"]
    cleared = []
    for d, cfg in zip(runs, configs):
        records = load_records(Path(d))
        s = summarise_clutter(records)
        cleared.append((f"{policy_label(cfg['policy'])} (`{Path(d).name}`)", {}))
        for n, v in s.items():
            fails = ", ".join(f"{k} {c}" for k, c in v["failures"].items()) or "—"
            t = v["planning_ms_median"]
            rows.append(f"| {policy_label(cfg['policy'])} | {n} | {v['heaps']} | {_pct(v)} | "
                        f"{_cleared(v)} | {v['heaps_cleared']} | {v['picks_per_hour']:.0f} | "
                        f"{fails} | {'—' if t is None else f'{t:.0f}'} |")
            cleared[-1][1][n] = {r["heap"]: r["cleared"] / r["on_table"] for r in records
                                 if r.get("outcome") == "done" and str(r["n_objects"]) == n and r.get("on_table")}
    return "\n".join(rows) + "\n" + _paired_lines(cleared, "heaps", "the fraction of each heap's objects cleared")
