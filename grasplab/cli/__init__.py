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
from . import bench, data, evaluate, experiments, models, objects, predict, train, trial
from .common import console, err_console

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="grasplab: parallel-jaw grasp detection in depth and RGB-D images.")


@app.command()
def version():
    """Print the grasplab version."""
    from .. import __version__
    console.print(__version__)


for module in (objects, data, train, predict, evaluate, trial, models, bench, experiments):
    module.register(app)


def main(argv: Optional[list[str]] = None) -> None:
    try:
        app(args=argv, prog_name="grasplab")
    except GrasplabError as e:
        _fail(str(e))
    except OSError as e:                # a path that cannot be read or written (a file where a folder goes,
        if e.filename is None:          # no permission, a full disk): the path and the reason, no traceback
            raise
        _fail(f"{e.filename}: {e.strerror or e}; check the path (a folder where one is expected, permissions, "
              f"free space) or choose another")
    except MemoryError:
        _fail("out of memory: the input or the settings ask for more than this machine has; use smaller "
              "frames or models (see the README's limits)")


def _fail(message: str) -> None:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    sys.exit(2)


__all__ = ["app", "main"]
