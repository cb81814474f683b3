"""Labelled synthesis of a second scene style with and without the first style's label cache (the
semi-supervised study makes its plain and Cornell-like scenes of the same objects). Serial, in one
process: the plain run (labels computed, cache written), then the Cornell-like run labelling by
itself and reading the cache, alternately per repeat. Prints a table with the ratio.

    python benchmarks/bench_label_cache.py [--objects 10 --repeats 2 --preset semisup]
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--objects", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--preset", default="semisup")
    ap.add_argument("--style", default="cornell")
    args = ap.parse_args()
    from grasplab.bench.machine import machine_info
    from grasplab.synth import SynthConfig, run_synth

    work = Path(tempfile.mkdtemp(prefix="bench-label-cache-"))
    try:
        cache = work / "labels"
        plain = SynthConfig.from_preset(args.preset, objects=f"procedural:{args.objects}", formats=("jacquard",))
        styled = SynthConfig.from_preset(args.preset, objects=f"procedural:{args.objects}", formats=("jacquard",),
                                         style=args.style)
        t = time.perf_counter()
        res = run_synth(plain, work / "plain", show_progress=False, label_cache=cache)
        plain_s = time.perf_counter() - t
        times: dict[str, list[float]] = {"labelling": [], "label cache": []}
        for r in range(args.repeats):
            for name, lc in (("labelling", None), ("label cache", cache)):
                out = work / f"{name.replace(' ', '-')}-{r}"
                t = time.perf_counter()
                run_synth(styled, out, show_progress=False, label_cache=lc)
                times[name].append(time.perf_counter() - t)
                shutil.rmtree(out)
        info = machine_info()
        print(f"# {args.objects} objects ({res.units_run} poses) of preset {args.preset}, serial; {info['machine']}, "
              f"{info['date_utc']} UTC")
        print(f"plain style, labelling and writing the cache: {plain_s:.1f} s")
        print(f"| {args.style} style | best s | all s |")
        print("|---|---:|---:|")
        for name, ts in times.items():
            print(f"| {name} | {min(ts):.1f} | {', '.join(f'{x:.1f}' for x in ts)} |")
        print(f"ratio (cache / labelling, best): {min(times['label cache']) / min(times['labelling']):.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
