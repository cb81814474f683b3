"""``grasplab objects``: the procedural families and pictures of generated objects."""
from __future__ import annotations

from pathlib import Path

import typer

from .common import console

group = typer.Typer(no_args_is_help=True, help="Procedural and mesh objects.")


@group.command("families")
def objects_families():
    """List the procedural object families."""
    from ..objects import FAMILIES, NON_CONVEX_FAMILIES
    for f in FAMILIES:
        console.print(f"{f}{'  (non-convex)' if f in NON_CONVEX_FAMILIES else ''}")


@group.command("preview")
def objects_preview(
    family: str = typer.Option("all", help="Family name, or 'all' for one of each in turn."),
    count: int = typer.Option(8, help="How many objects."),
    seed: int = typer.Option(0, help="Random seed."),
    out: Path = typer.Option(Path("objects.png"), help="Output PNG."),
    renderer: str = typer.Option("auto", help="auto, mujoco or raycast."),
):
    """Render generated objects on a table into one picture."""
    from ..synth import preview_objects
    path = preview_objects(family, count, seed, out, renderer)
    console.print(f"wrote {path}")


def register(app: typer.Typer) -> None:
    app.add_typer(group, name="objects")
