"""Thread pools of the numerical libraries under one process: keep them from fighting.

numpy and scipy link OpenBLAS, which starts its own threads and keeps them spinning for a while
after each call; PyTorch's OpenMP threads then share the cores with spinning threads. On a
2-core machine a GQ-CNN cross-entropy plan (antipodal sampling and mixture fits in numpy/scipy,
crops and the network in PyTorch) ran ~2.5× slower that way than with OpenBLAS on one thread.
Planning holds OpenBLAS to one thread; PyTorch keeps its own setting.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

_controller = None


@contextmanager
def blas_single_threaded() -> Iterator[None]:
    """Within the block, BLAS libraries (OpenBLAS, MKL) run on one thread; restored after."""
    global _controller
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:                     # a declared dependency; without it, no limit
        yield
        return
    if _controller is None:
        _controller = ThreadpoolController()     # ~10 ms: looks up the loaded libraries once
    with _controller.limit(limits=1, user_api="blas"):
        yield
