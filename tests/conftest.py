"""Shared fixtures: paths to the third-party samples in ../shared/data (skip if absent)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("MUJOCO_GL", "egl")

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"third-party samples not found at {SHARED_DATA} (CI has them beside the checkout)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def mujoco_renderer():
    from grasplab.errors import RenderError
    from grasplab.scene.rendering.mujoco_renderer import MujocoRenderer
    try:
        r = MujocoRenderer()
    except RenderError as e:
        pytest.skip(f"no GL context for MuJoCo here: {e}")
    yield r
    r.close()


@pytest.fixture(scope="session")
def raycast_renderer():
    from grasplab.scene.rendering.raycast_renderer import RaycastRenderer
    return RaycastRenderer()


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GRASPLAB_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture(autouse=True)
def _restore_cpu_limits():
    """Benchmarks pin the process to their core count (``bench.machine.limit_to_cores``) and set
    torch's threads; give later tests the machine back."""
    import sys
    keys = ("LP_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
    cpus, env = os.sched_getaffinity(0), {k: os.environ.get(k) for k in keys}
    torch = sys.modules.get("torch")
    threads = torch.get_num_threads() if torch else len(cpus)     # torch's default: one thread per core
    yield
    if os.sched_getaffinity(0) != cpus:
        os.sched_setaffinity(0, cpus)
    for k, v in env.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    torch = sys.modules.get("torch")
    if torch is not None and torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
