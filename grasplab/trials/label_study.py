"""Do the analytic labels predict physical success? Each trial settles an object, labels mesh
candidates where it lies (robust Ferrari–Canny ε, P(force closure), collision-free) and executes
every one of them from the same settled state; the report relates the labels to the outcomes."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ..errors import GrasplabError, MeshError, StablePoseError
from ..evaluation.classification import classification_report
from ..evaluation.rectangle_metric import accuracy_with_ci
from ..grasps import load_gripper
from ..objects import ObjectSpec
from ..seeding import derive_rng
from .grasp_execution import SUCCESS, execute_grasp
from ..grasps.labelled import label_object_in_place
from .trial import TrialConfig, set_up_trial, trial_seed

THRESHOLDS = (0.0, 0.0005, 0.001, 0.002, 0.003, 0.005, 0.01)
EPSILON_BINS = (0.0, 1e-9, 0.0005, 0.001, 0.002, 0.003, 0.005, 0.01, np.inf)


def run_label_trial(spec: ObjectSpec, trial: int, seed: int, config: TrialConfig, renderer, n_grasps: int) -> dict:
    """Execute up to ``n_grasps`` labelled mesh candidates of one settled object."""
    rec = {"object": spec.key, "family": spec.family, "trial": int(trial), "seed": trial_seed(seed, spec.key, trial)}
    rng = derive_rng(seed, "trial", spec.key, trial)
    try:
        obj = spec.build()
        setup = set_up_trial(obj, config, rng, renderer, render=False)
    except (MeshError, StablePoseError, GrasplabError) as e:
        return {**rec, "outcome": "error", "error": str(e)}
    labels = label_object_in_place(obj, setup.T_world_obj, load_gripper(config.gripper),
                                   derive_rng(rec["seed"], "labels"), num_grasps=n_grasps, quality=config.quality)
    world = setup.world
    start = world.snapshot()
    grasps = []
    t0 = time.perf_counter()
    for i in range(len(labels)):
        world.restore(start)
        result = execute_grasp(world, labels.grasp(i), 0, setup.hull_vertices, config.execution)
        grasps.append({"robust_epsilon": float(labels.robust_epsilon[i]), "p_force_closure": float(labels.p_force_closure[i]),
                       "collision_free": bool(labels.collision_free[i]), "outcome": result.outcome})
    return {**rec, "outcome": "done" if grasps else "no grasp", "pose_index": setup.pose_index,
            "friction": round(setup.friction, 4), "grasps": grasps, "sim_ms": round(1e3 * (time.perf_counter() - t0), 1)}


def _arrays(records: list[dict]) -> dict[str, np.ndarray]:
    g = [x for r in records for x in r.get("grasps", [])]
    return {"eps": np.array([x["robust_epsilon"] for x in g], float),
            "pfc": np.array([x["p_force_closure"] for x in g], float),
            "free": np.array([x["collision_free"] for x in g], bool),
            "ok": np.array([x["outcome"] == SUCCESS for x in g], bool),
            "outcome": np.array([x["outcome"] for x in g], object)}


def summarise_labels(records: list[dict]) -> dict:
    """Success against the labels: binned rates, ROC AUC and precision/recall of ε > t."""
    a = _arrays(records)
    n = len(a["ok"])
    if n == 0:
        return {"grasps": 0}
    label = a["eps"] * a["free"]              # what a dataset stores: robust ε where collision-free, else 0
    out = {"grasps": n, "objects": len({r["object"] for r in records if r.get("grasps")}),
           "success_rate": float(a["ok"].mean()),
           "collision_free": {"success": _rate(a["ok"][a["free"]]), "colliding": _rate(a["ok"][~a["free"]])}}
    bins = []
    for lo, hi in zip(EPSILON_BINS[:-1], EPSILON_BINS[1:]):
        sel = (label >= lo) & (label < hi)
        if sel.any():
            bins.append({"label_from": lo, "label_to": None if np.isinf(hi) else hi, **_rate(a["ok"][sel]),
                         "mean_label": float(label[sel].mean())})
    out["by_label"] = bins
    out["by_p_force_closure"] = []
    for lo, hi in ((0.0, 0.2), (0.2, 0.4), (0.4, 0.6), (0.6, 0.8), (0.8, 1.01)):
        sel = (a["pfc"] >= lo) & (a["pfc"] < hi) & a["free"]
        if sel.any():
            out["by_p_force_closure"].append({"from": lo, "to": min(hi, 1.0), **_rate(a["ok"][sel])})
    if a["ok"].any() and not a["ok"].all():
        out["roc_auc"] = {"robust_label": classification_report(label, a["ok"]).roc_auc,
                          "robust_epsilon_ignoring_collisions": classification_report(a["eps"], a["ok"]).roc_auc,
                          "p_force_closure_collision_free": classification_report(a["pfc"] * a["free"], a["ok"]).roc_auc}
    rows = []
    for t in THRESHOLDS:
        pred = label > t
        tp, fp = int((pred & a["ok"]).sum()), int((pred & ~a["ok"]).sum())
        fn, tn = int((~pred & a["ok"]).sum()), int((~pred & ~a["ok"]).sum())
        tpr = tp / (tp + fn) if tp + fn else float("nan")
        tnr = tn / (tn + fp) if tn + fp else float("nan")
        rows.append({"threshold": t, "predicted_positive": tp + fp, "precision": tp / (tp + fp) if tp + fp else float("nan"),
                     "recall": tpr, "balanced_accuracy": (tpr + tnr) / 2})
    out["thresholds"] = rows
    valid = [r for r in rows if np.isfinite(r["balanced_accuracy"])]
    out["best_threshold"] = max(valid, key=lambda r: r["balanced_accuracy"])["threshold"] if valid else None
    out["outcomes"] = {k: int((a["outcome"] == k).sum()) for k in sorted(set(a["outcome"].tolist()))}
    return out


def _rate(ok: np.ndarray) -> dict:
    acc = accuracy_with_ci(int(ok.sum()), int(ok.size))
    return {"n": int(ok.size), "successes": int(ok.sum()), "success_rate": acc.value, "ci95": [acc.low, acc.high]}


def _f(x, digits=3) -> str:
    return "—" if x is None or not np.isfinite(x) else f"{x:.{digits}f}"


def labels_markdown(summary: dict, meta: dict) -> str:
    cfg = meta["config"]
    lines = [f"# Do the analytic labels predict success? — `{cfg['objects']}`", "",
             f"{summary.get('grasps', 0)} labelled mesh grasps executed on {summary.get('objects', 0)} objects "
             f"({cfg['trials']} settled poses each, up to {cfg['grasps_per_trial']} grasps per pose), gripper "
             f"`{cfg['trial']['gripper']}`, seed {cfg['seed']}; command: `{' '.join(meta['command'])}`.", ""]
    if not summary.get("grasps"):
        return "\n".join(lines + ["No grasp was executed."]) + "\n"
    cf = summary["collision_free"]
    lines += [f"Overall success {100 * summary['success_rate']:.1f} %; collision-free by the label's check "
              f"{100 * cf['success']['success_rate']:.1f} % (n = {cf['success']['n']}), colliding "
              f"{_f(100 * cf['colliding']['success_rate'], 1)} % (n = {cf['colliding']['n']}).", "",
              "| label (robust ε, 0 if colliding) | grasps | success (Wilson 95 %) |", "|---|---:|---:|"]
    for b in summary["by_label"]:
        hi = "∞" if b["label_to"] is None else f"{b['label_to']:g}"
        lines.append(f"| [{b['label_from']:g}, {hi}) | {b['n']} | {100 * b['success_rate']:.1f} % "
                     f"({100 * b['ci95'][0]:.0f}–{100 * b['ci95'][1]:.0f}) |")
    lines += ["", "| P(force closure), collision-free | grasps | success |", "|---|---:|---:|"]
    lines += [f"| [{b['from']:g}, {b['to']:g}) | {b['n']} | {100 * b['success_rate']:.1f} % |"
              for b in summary["by_p_force_closure"]]
    if "roc_auc" in summary:
        r = summary["roc_auc"]
        lines += ["", f"ROC AUC of the label as a success predictor: **{_f(r['robust_label'])}** (robust ε alone, "
                      f"collisions ignored: {_f(r['robust_epsilon_ignoring_collisions'])}; P(force closure) where "
                      f"collision-free: {_f(r['p_force_closure_collision_free'])})."]
    lines += ["", "| positive when label > | predicted positive | precision | recall | balanced accuracy |",
              "|---:|---:|---:|---:|---:|"]
    lines += [f"| {t['threshold']:g} | {t['predicted_positive']} | {_f(t['precision'])} | {_f(t['recall'])} | "
              f"{_f(t['balanced_accuracy'])} |" for t in summary["thresholds"]]
    lines += ["", f"Best-separating threshold (balanced accuracy): {summary['best_threshold']}."]
    return "\n".join(lines) + "\n"


def save_reliability_curve(records: list[dict], path: Path) -> Path | None:
    """Success rate against the label (robust ε, 0 where colliding) and against P(force closure)."""
    from ..viz.figures import finish_figure, plt
    s = summarise_labels(records)
    if not s.get("grasps"):
        return None
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4), dpi=90)
    for ax, rows, key, label in ((axes[0], s["by_label"], "mean_label", "label: robust ε (0 if colliding)"),
                                 (axes[1], s["by_p_force_closure"], None, "P(force closure), collision-free")):
        xs = [r[key] if key else (r["from"] + r["to"]) / 2 for r in rows]
        ys = [r["success_rate"] for r in rows]
        err = [[y - r["ci95"][0] for y, r in zip(ys, rows)], [r["ci95"][1] - y for y, r in zip(ys, rows)]]
        ax.errorbar(xs, ys, yerr=err, marker="o", capsize=3)
        for x, y, r in zip(xs, ys, rows):
            ax.annotate(str(r["n"]), (x, y), textcoords="offset points", xytext=(4, -10), fontsize=7)
        ax.set_xlabel(label)
        ax.set_ylabel("physical success (Wilson 95 %)")
        ax.set_ylim(-0.02, 1.02)
    return finish_figure(fig, path, f"{s['grasps']} executed mesh grasps: success against the labels (n per point)")
