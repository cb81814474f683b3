"""Running work units: serially in this process (``workers=0``) or on Ray (local or a cluster).

On Ray, each worker is an actor that keeps its own renderer (GL context and compiled models)
across units. Results arrive in completion order; outputs do not depend on that order.
"""
from __future__ import annotations

import os
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Iterator

from ..errors import ConfigError, GrasplabError
from ..objects import ObjectSpec
from ..ray_local import local_ray


def _serial(units, cfg, out_dir: Path, stats: dict) -> Iterator:
    from ..scene import make_renderer
    from .units import process_unit
    t0 = time.perf_counter()
    with make_renderer(cfg.renderer) as renderer:
        stats["startup_s"] = time.perf_counter() - t0
        for spec, index, rank in units:
            yield process_unit(spec, index, rank, cfg, out_dir, renderer)
    stats["shutdown_s"] = 0.0


def check_ray_address(address: str, timeout_s: float = 3.0) -> None:
    """Fail fast when a Ray address does not accept connections (ray.init would wait minutes)."""
    import socket
    if address in ("auto", "local"):
        return
    hostport = address.split("://", 1)[-1].rstrip("/")
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"Ray address {address!r} is not host:port (e.g. 10.0.0.5:6379 or ray://10.0.0.5:10001)")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout_s):
            pass
    except OSError as e:
        raise GrasplabError(f"cannot reach a Ray cluster at {address} ({e}); is `ray start --head` running "
                            "there and the port open? Or run locally without --address") from None


def _ray(units, cfg, out_dir: Path, workers: int, address: str | None, stats: dict) -> Iterator:
    try:
        import ray
    except ImportError:
        raise ConfigError("Ray is not installed: pip install 'ray' (or run with --workers 0)") from None
    init_kwargs = dict(include_dashboard=False, log_to_driver=False, ignore_reinit_error=True,
                       configure_logging=False)
    if address:
        check_ray_address(address)
    t0 = time.perf_counter()
    with ExitStack() as stack:
        try:
            if address:
                ray.init(address=address, **init_kwargs)
                stack.callback(ray.shutdown)
            else:
                # a private, loopback-only instance that is stopped and removed however this process
                # ends; workers inherit this process's environment (MUJOCO_GL, thread limits)
                env = {k: v for k, v in os.environ.items() if k in ("MUJOCO_GL", "LP_NUM_THREADS", "OMP_NUM_THREADS",
                                                                      "GRASPLAB_CACHE_DIR", "PYOPENGL_PLATFORM")}
                stack.enter_context(local_ray(workers, env, **init_kwargs))
        except (ConnectionError, RuntimeError, ValueError) as e:
            raise GrasplabError(f"cannot start or reach Ray at {address or 'a new local instance'} ({e}); "
                                "check --address (e.g. ray://host:10001 or host:6379), or use --workers 0") from None
        try:
            yield from _run_on_pool(ray, units, cfg, out_dir, workers, stats, t0)
        finally:
            t1 = time.perf_counter()
            stack.close()
            stats["shutdown_s"] = time.perf_counter() - t1


def _run_on_pool(ray, units, cfg, out_dir: Path, workers: int, stats: dict, t0: float) -> Iterator:
    """One actor per worker (each keeps its renderer); units handed out as actors free up."""

    @ray.remote(num_cpus=1)
    class Worker:
        def __init__(self, renderer_name: str):
            os.environ.setdefault("OMP_NUM_THREADS", "1")
            from ..scene import make_renderer
            self.renderer = make_renderer(renderer_name)

        def ready(self):
            return True

        def run(self, spec, index, rank, cfg, out_dir):
            from .units import process_unit
            return process_unit(spec, index, rank, cfg, Path(out_dir), self.renderer)

    n = workers if workers > 0 else int(ray.cluster_resources().get("CPU", 1))
    pool = [Worker.remote(cfg.renderer) for _ in range(max(1, min(n, len(units))))]
    ray.get([a.ready.remote() for a in pool])
    stats["startup_s"] = time.perf_counter() - t0
    pending = {}
    queue = list(units)
    idle = list(pool)
    while queue or pending:
        while queue and idle:
            actor = idle.pop()
            spec, index, rank = queue.pop(0)
            pending[actor.run.remote(spec, index, rank, cfg, str(out_dir))] = actor
        done, _ = ray.wait(list(pending), num_returns=1)
        for ref in done:
            idle.append(pending.pop(ref))
            yield ray.get(ref)


def run_units(units: list[tuple[ObjectSpec, int, int]], cfg, out_dir: Path, workers: int = 0,
              address: str | None = None, stats: dict | None = None) -> Iterator:
    """Yield unit results as units (object spec, object index, pose rank) finish.

    ``workers=0``: in this process (debugging, tests). ``stats`` receives ``startup_s`` (until
    the workers are ready) and ``shutdown_s``.
    """
    stats = {} if stats is None else stats
    if not units:
        return iter(())
    if workers < 0:
        raise ConfigError("--workers must be 0 (in process) or a positive number of Ray workers")
    if workers == 0 and not address:
        return _serial(units, cfg, out_dir, stats)
    return _ray(units, cfg, out_dir, workers, address, stats)

