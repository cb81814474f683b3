"""The ``grasplab`` command: a thin shell over the package, one module per command group.

Everything is reachable from Python; these modules only parse options, call the layer that
owns the work and print what came back. A ``GrasplabError`` (bad input or settings) is printed
as one line without a traceback and exits with status 2.
"""
from __future__ import annotations

import sys
from typing import Optional

import typer

from ..errors import GrasplabError
from . import bench, data, evaluate, experiments, models, objects, predict, train
from .common import console, err_console

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="grasplab: parallel-jaw grasp detection in depth and RGB-D images.")


@app.command()
def version():
    """Print the grasplab version."""
    from .. import __version__
    console.print(__version__)


for module in (objects, data, train, predict, evaluate, models, bench, experiments):
    module.register(app)


def main(argv: Optional[list[str]] = None) -> None:
    try:
        app(args=argv, prog_name="grasplab")
    except GrasplabError as e:
        err_console.print(f"[bold red]error:[/] {e}", highlight=False)
        sys.exit(2)


__all__ = ["app", "main"]
