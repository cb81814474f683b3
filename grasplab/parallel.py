"""Running independent tasks: serially in this process (``workers=0``) or on Ray workers (a
private loopback-only local instance, or an existing cluster with ``address``).

A job gives a worker class: ``Worker(*args)`` is built once per worker (keeping what is costly
to make, such as a GL context or a loaded model) and ``worker.run(task)`` returns a result.
Results arrive in completion order; jobs make their outputs independent of that order.
"""
from __future__ import annotations

import os
import time
from contextlib import ExitStack
from typing import Any, Iterator, Sequence

from .errors import ConfigError, GrasplabError
from .ray_local import local_ray

#: environment variables workers inherit (GL backend, thread limits, caches)
WORKER_ENV = ("MUJOCO_GL", "LP_NUM_THREADS", "OMP_NUM_THREADS", "GRASPLAB_CACHE_DIR", "PYOPENGL_PLATFORM")


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


def _serial(tasks, worker_cls, worker_args, stats: dict) -> Iterator:
    t0 = time.perf_counter()
    worker = worker_cls(*worker_args)
    stats["startup_s"] = time.perf_counter() - t0
    try:
        for task in tasks:
            yield worker.run(task)
    finally:
        close = getattr(worker, "close", None)
        if close is not None:
            close()
    stats["shutdown_s"] = 0.0


def _ray(tasks, worker_cls, worker_args, workers: int, address: str | None, stats: dict) -> Iterator:
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
                # a private, loopback-only instance that is stopped and removed however this process ends
                env = {k: v for k, v in os.environ.items() if k in WORKER_ENV}
                stack.enter_context(local_ray(workers, env, **init_kwargs))
        except (ConnectionError, RuntimeError, ValueError) as e:
            raise GrasplabError(f"cannot start or reach Ray at {address or 'a new local instance'} ({e}); "
                                "check --address (e.g. ray://host:10001 or host:6379), or use --workers 0") from None
        try:
            yield from _run_on_pool(ray, tasks, worker_cls, worker_args, workers, stats, t0)
        finally:
            t1 = time.perf_counter()
            stack.close()
            stats["shutdown_s"] = time.perf_counter() - t1


class _Host:
    """The Ray actor: builds the job's worker in the actor's process (one thread per worker)."""

    def __init__(self, worker_cls, worker_args):
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        self.worker = worker_cls(*worker_args)

    def ready(self) -> bool:
        return True

    def run(self, task):
        return self.worker.run(task)


def _run_on_pool(ray, tasks, worker_cls, worker_args, workers: int, stats: dict, t0: float) -> Iterator:
    """One actor per worker; tasks handed out as actors free up."""
    Actor = ray.remote(num_cpus=1)(_Host)
    n = workers if workers > 0 else int(ray.cluster_resources().get("CPU", 1))
    pool = [Actor.remote(worker_cls, worker_args) for _ in range(max(1, min(n, len(tasks))))]
    ray.get([a.ready.remote() for a in pool])
    stats["startup_s"] = time.perf_counter() - t0
    pending = {}
    queue = list(tasks)
    idle = list(pool)
    while queue or pending:
        while queue and idle:
            actor = idle.pop()
            pending[actor.run.remote(queue.pop(0))] = actor
        done, _ = ray.wait(list(pending), num_returns=1)
        for ref in done:
            idle.append(pending.pop(ref))
            yield ray.get(ref)


def run_tasks(tasks: Sequence[Any], worker_cls, worker_args: tuple = (), workers: int = 0,
              address: str | None = None, stats: dict | None = None) -> Iterator:
    """Yield ``worker.run(task)`` for every task as they finish. ``workers=0``: in this process
    (debugging, tests); ``stats`` receives ``startup_s`` (until the workers are ready) and
    ``shutdown_s``."""
    stats = {} if stats is None else stats
    if not tasks:
        return iter(())
    if workers < 0:
        raise ConfigError("--workers must be 0 (in process) or a positive number of Ray workers")
    if workers == 0 and not address:
        return _serial(tasks, worker_cls, worker_args, stats)
    return _ray(tasks, worker_cls, worker_args, workers, address, stats)
