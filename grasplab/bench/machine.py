"""What every benchmark records about the machine, and how it pins itself to cores."""
from __future__ import annotations

import os
import platform
from datetime import datetime, timezone


def limit_to_cores(cores: int | None) -> list[int]:
    """Pin this process to ``cores`` CPUs and size the thread pools of llvmpipe (Mesa's CPU GL),
    BLAS and OpenMP to match. Must run before the first GL context or BLAS call.

    On one core llvmpipe rasterises in the calling thread (LP_NUM_THREADS=0) rather than hand
    each frame to a worker thread competing for the same core. Returns the CPUs in use.
    """
    if cores:
        available = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, available[:cores])
        os.environ["LP_NUM_THREADS"] = "0" if cores == 1 else str(cores)
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = str(cores)
    return sorted(os.sched_getaffinity(0))


def machine_info() -> dict:
    return {
        "machine": f"{platform.machine()} {os.cpu_count()} cpus",
        "python": platform.python_version(),
        "date_utc": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M"),
    }
