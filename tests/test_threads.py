"""Planning holds numpy's BLAS to one thread (its spinning threads slowed PyTorch ~2.5× on 2 cores)."""
import numpy as np
import pytest

from grasplab.threads import blas_single_threaded

threadpoolctl = pytest.importorskip("threadpoolctl", reason="threadpoolctl comes with scikit-learn")


def _blas_threads() -> list[int]:
    return [p["num_threads"] for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas"]


def test_blas_runs_on_one_thread_inside_and_as_before_after():
    np.ones((4, 4)) @ np.ones((4, 4))                 # BLAS loaded
    before = _blas_threads()
    if not before:
        pytest.skip("no BLAS library that threadpoolctl can see")
    with blas_single_threaded():
        assert set(_blas_threads()) == {1}
    assert _blas_threads() == before


def test_a_plan_runs_with_blas_on_one_thread(monkeypatch):
    from grasplab.policies.random_antipodal import RandomAntipodalPolicy
    from test_gqcnn_policy import INTR, box_scene
    from grasplab.imaging import Frame
    np.ones((4, 4)) @ np.ones((4, 4))
    if not _blas_threads():
        pytest.skip("no BLAS library that threadpoolctl can see")
    seen = []
    original = RandomAntipodalPolicy._candidates
    monkeypatch.setattr(RandomAntipodalPolicy, "_candidates",
                        lambda self, *a: seen.append(_blas_threads()) or original(self, *a))
    d, mask, _, _ = box_scene()
    RandomAntipodalPolicy(gripper="robotiq_2f85").plan(Frame.from_images(d, mask=mask, intrinsics=INTR))
    assert seen and all(s and set(s) == {1} for s in seen)
