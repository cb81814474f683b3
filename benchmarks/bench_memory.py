"""Peak memory (resident set) of the README's commands on its own inputs, one process each, with
the wall time: the README promises every one stays under ~2 GB. Prints a table; --json for JSON.

    python benchmarks/bench_memory.py [--shared ../shared/data] [--keep DIR]

Each command runs in a fresh ``python -m grasplab`` process; the peak is the child's
``ru_maxrss`` as the kernel counts it (Ray workers and loader processes are not children here:
the commands run with --workers 0).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LIMIT_GB = 2.0


def commands(shared: Path, work: Path) -> list[tuple[str, list[str]]]:
    ps = shared / "gqcnn" / "primesense"
    return [
        ("demo", ["demo", "--out", str(work / "demo")]),
        ("predict (Primesense frame, mask)", ["predict", "--depth", str(ps / "depth_0.npy"), "--intrinsics",
                                              str(shared / "gqcnn" / "calib" / "primesense.intr"), "--mask",
                                              str(ps / "segmask_0.png"), "--out", str(work / "predict")]),
        ("predict --policy map-rerank", ["predict", "--policy", "map-rerank", "--depth", str(ps / "depth_0.npy"),
                                         "--intrinsics", str(shared / "gqcnn" / "calib" / "primesense.intr"),
                                         "--out", str(work / "predict-rerank")]),
        ("render (procedural:8, 4 views)", ["render", "--objects", "procedural:8", "--views", "4",
                                            "--out", str(work / "render")]),
        ("synth (jacquard-like, procedural:8)", ["synth", "--preset", "jacquard-like", "--objects", "procedural:8",
                                                 "--format", "gqcnn,jacquard", "--workers", "0",
                                                 "--out", str(work / "synth")]),
        ("dataset stats", ["dataset", "stats", str(work / "synth")]),
        ("evaluate (Jacquard samples)", ["evaluate", "--data", str(shared / "jacquard"), "--out", str(work / "eval")]),
        ("train ggcnn (Jacquard, 1 epoch)", ["train", "ggcnn", "--data", str(shared / "jacquard"), "--epochs", "1",
                                             "--out", str(work / "train")]),
        ("train gqcnn (synth output, 1 epoch)", ["train", "gqcnn", "--data", str(work / "synth"), "--epochs", "1",
                                                 "--split", "object_wise", "--out", str(work / "gqcnn")]),
        ("export onnx", ["export", "onnx", "--out", str(work / "model.onnx")]),
    ]


def run(argv: list[str]) -> tuple[int, float, float]:
    """(exit code, peak resident GB, seconds) of one command in a fresh process."""
    script = ("import resource, subprocess, sys, json\n"
              "r = subprocess.run([sys.executable, '-m', 'grasplab', *json.loads(sys.argv[1])],"
              " stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
              "print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n")
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", script, json.dumps(argv)], capture_output=True, text=True,
                         env={**os.environ, "MUJOCO_GL": os.environ.get("MUJOCO_GL", "egl")}).stdout.split()
    return int(out[0]), int(out[1]) / 1024 ** 2, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    ap.add_argument("--keep", type=Path, default=None, help="Keep the outputs here (default: a temporary folder).")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="grasplab-mem-"))
    rows = []
    for name, argv in commands(args.shared, work):
        code, gb, s = run(argv)
        rows.append({"command": name, "exit": code, "peak_gb": round(gb, 3), "seconds": round(s, 1)})
        if not args.json:
            print(f"{name:40s} exit {code}  peak {gb:5.2f} GB  {s:6.1f} s  {'OK' if gb < LIMIT_GB else 'OVER'}",
                  flush=True)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(f"largest peak {max(r['peak_gb'] for r in rows):.2f} GB (limit {LIMIT_GB} GB); "
              f"{sum(r['exit'] != 0 for r in rows)} commands failed")


if __name__ == "__main__":
    main()
