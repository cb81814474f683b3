"""Running synthesis work units on ``grasplab.parallel``: serially in this process
(``workers=0``) or on Ray (local or a cluster). Each worker keeps its own renderer (GL context
and compiled models) across units. Results arrive in completion order; outputs do not depend
on that order.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

from ..objects import ObjectSpec
from ..parallel import check_ray_address, run_tasks

__all__ = ["check_ray_address", "run_units", "UnitWorker"]


class UnitWorker:
    """One worker's renderer and the job's settings; ``run`` processes one (spec, index, rank)."""

    def __init__(self, cfg, out_dir: str, label_cache: str | None = None):
        from ..scene import make_renderer
        self.cfg, self.out_dir = cfg, Path(out_dir)
        self.label_cache = None if label_cache is None else Path(label_cache)
        self.renderer = make_renderer(cfg.renderer)

    def run(self, unit):
        if unit[0] == "heap":                        # ("heap", heap index, its object specs, their indices)
            from .heap_units import process_heap
            return process_heap(unit[2], unit[3], unit[1], self.cfg, self.out_dir)
        from .units import process_unit
        spec, index, rank = unit
        return process_unit(spec, index, rank, self.cfg, self.out_dir, self.renderer, self.label_cache)

    def close(self) -> None:
        self.renderer.close()


def run_units(units: list[tuple[ObjectSpec, int, int]], cfg, out_dir: Path, workers: int = 0,
              address: str | None = None, stats: dict | None = None, label_cache: Path | None = None) -> Iterator:
    """Yield unit results as units (object spec, object index, pose rank; or a heap) finish.
    ``label_cache``: a folder of single objects' grasp labels shared between syntheses.

    ``workers=0``: in this process (debugging, tests). ``stats`` receives ``startup_s`` (until
    the workers are ready) and ``shutdown_s``.
    """
    return run_tasks(units, UnitWorker, (cfg, str(out_dir), None if label_cache is None else str(label_cache)),
                     workers, address, stats)
