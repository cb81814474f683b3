"""Render benchmark: ms per 640×480 depth / RGB frame, MuJoCo beside ray casting, one core.

Usage: python benchmarks/bench_render.py [--frames N] [--cores C] [--json]
(the same as `grasplab bench render`). Record results in BENCHMARKS.md.
"""
import sys

from grasplab.cli import main

if __name__ == "__main__":
    main(["bench", "render", *sys.argv[1:]])
