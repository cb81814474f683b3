"""What every command module shares: the consoles, help texts, and turning options into calls."""
from __future__ import annotations

from rich.console import Console
from rich.table import Table

from ..errors import ConfigError

console = Console()
err_console = Console(stderr=True)

MODEL_HELP = ("A model: a pretrained name (see `grasplab models`) or a model file (.npz, or .onnx from `grasplab "
              "export onnx`); default: the default pretrained model.")
POLICY_HELP = ("A registered policy (see `grasplab policies`: map, map-rerank, gqcnn-rank, gqcnn-cem, fc-gqcnn, "
               "random-antipodal; rank and cem are short for the GQ-CNN ones; --clearance wraps any of them) or a "
               "policy spec file (.json; e.g. a fallback chain, {\"policy\": \"fallback\", \"options\": "
               "{\"policies\": [SPEC, SPEC]}}); "
               "default: with --model, the one the model is planned with (a grasp-map model: map, a GQ-CNN: "
               "gqcnn-cem); without, auto (with intrinsics the FC-GQ-CNN behind --clearance, else sample-and-rank "
               "behind it; without intrinsics, or with --views or --rerank, the GG-CNN2).")
RERANK_HELP = ("Re-rank a grasp-map model's grasps with a crop classifier (`grasplab train reranker`): a pretrained "
               "name (see `grasplab models`) or a model file.")
VIEWS_HELP = ("Grasp-map models: average the maps over 1, 2 (mirror), 4 (quarter turns) or 8 views; one network "
              "pass each (no reliable accuracy gain measured: BENCHMARKS.md).")
CLEARANCE_HELP = ("Keep only grasps whose fingers and palm clear the surfaces the camera saw on a top-down "
                  "approach, each closed as deep as is clear (clutter; needs intrinsics). Checked for --gripper's "
                  "hand (default robotiq_2f85).")
GRIPPER_HELP = "Drop grasps wider than this gripper opens (yumi, robotiq_2f85 or a gripper JSON); needs intrinsics."
ACCELERATOR_HELP = "Lightning accelerator: cpu (default), gpu/cuda, mps or auto."
DEVICES_HELP = "Devices (processes) to train on: a number, or e.g. '0,1' (more than one: data-parallel, see --strategy)."
STRATEGY_HELP = "Lightning strategy: auto (default), ddp, ddp_spawn, …; ddp is the one for several GPUs."


def make_policy(policy: str | None, model: str | None, clearance: str | None = None, **options):
    """``load_policy`` from the command's options: ``--policy`` (a name or spec) with ``--model``,
    or the model alone (planned with its own policy); options left at ``None`` are not passed,
    so a policy is never handed one it does not take. ``clearance``: a gripper whose approach
    clearance the grasps must have (``--clearance``)."""
    from ..policies import AutoPolicy, load_policy, with_clearance
    opts = {k: v for k, v in options.items() if v is not None}
    if policy is not None:
        pol = load_policy(policy, **({"model": model} if model is not None else {}), **opts)
    elif model is None and set(opts) <= {"gripper"}:
        pol = load_policy("auto", **({"gripper": clearance} if clearance else opts))
    else:
        pol = load_policy(model, **opts)
    if isinstance(pol, AutoPolicy):
        return pol if clearance is None else pol.metric      # --clearance: the checked chain, intrinsics required
    return pol if clearance is None else with_clearance(pol, clearance)


def comma_list(text: str, kind=str, what: str = "values", option: str = "") -> tuple:
    """``"a,b,c"`` → a tuple, each converted by ``kind``; a clear error for a malformed list."""
    try:
        return tuple(kind(v.strip()) for v in text.split(",") if v.strip())
    except ValueError:
        raise ConfigError(f"{option + ' ' if option else ''}{text!r}: give comma-separated {what}") from None


def table(title: str, columns: list[str], rows: list[list], left: tuple[str, ...] = ()) -> Table:
    """A rich table; the columns named in ``left`` are left-aligned, the others right-aligned. Only
    the last column wraps (a description); names people copy into commands, numbers and headers are
    never cut short."""
    t = Table(title=title)
    last = len(columns) - 1
    for i, c in enumerate(columns):
        t.add_column(c, justify="left" if c in left else "right", no_wrap=i < last,
                     min_width=len(c) if i < last else None)
    for r in rows:
        t.add_row(*[str(v) for v in r])
    return t
