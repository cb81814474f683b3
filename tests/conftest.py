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
