"""``grasplab models``, ``policies`` and ``export``: what ships, what plans, and ONNX export."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .common import MODEL_HELP, console, table

export_group = typer.Typer(no_args_is_help=True, help="Export models for other runtimes.")


def models_list(name: Optional[str] = typer.Argument(None, help="Show this model's card.")):
    """List the pretrained models shipped with grasplab (or print one model card)."""
    from ..models.pretrained import describe_pretrained, model_card, resolve_model
    if name:
        resolve_model(name)
        console.print(model_card(name) or f"{name}: no model card")
        return
    found = describe_pretrained()
    rows = [[r["name"] + (" *" if r["default"] else ""), r["architecture"], r["policy"] or "--rerank",
             r["inputs"], f"{r['parameters']:,}"] for r in found]
    if not rows:
        console.print("no pretrained models installed")
        return
    console.print(table("pretrained models (--model NAME; * the default; crop re-rankers: --rerank NAME)",
                        ["name", "architecture", "policy", "inputs", "parameters"], rows,
                        left=("name", "architecture", "policy", "inputs")))
    for r in found:                   # whole sentences, below the table: they do not fit a narrow column
        console.print(f"[bold]{r['name']}[/]: {r['summary']}", soft_wrap=True)
    console.print("grasplab models NAME prints a model's card (data, training, measured accuracy).")


def policies_list():
    """List the registered grasp policies (--policy NAME; `grasplab.load_policy(NAME, ...)` in Python)."""
    from ..policies import POLICIES, policy_names, policy_options
    rows = [[n, ", ".join(policy_options(n))] for n in policy_names()]
    console.print(table("grasp policies (--policy NAME)", ["policy", "options"], rows, left=("policy", "options")))
    for n in policy_names():          # whole sentences, below the table
        console.print(f"[bold]{n}[/]: {POLICIES[n].summary}; plans with {POLICIES[n].models}", soft_wrap=True)


@export_group.command("onnx")
def export_onnx_cmd(
    model: Optional[str] = typer.Option(None, help=MODEL_HELP),
    out: Path = typer.Option(Path("model.onnx"), help="Output .onnx file."),
    input_px: Optional[int] = typer.Option(None, help="Input side in pixels (default: the model's)."),
):
    """Write the model as ONNX (fixed input size, any batch) with its grasplab metadata."""
    from ..models.onnx_export import export_onnx
    from ..models.pretrained import resolve_model
    path = export_onnx(resolve_model(model), out, input_px)
    console.print(f"wrote {path}; use it with grasplab predict --model {path} or onnxruntime")


def register(app: typer.Typer) -> None:
    app.command("models")(models_list)
    app.command("policies")(policies_list)
    app.add_typer(export_group, name="export")
