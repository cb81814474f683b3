"""How much of a public mesh set loads as graspable objects, what was repaired, and why the rest
was refused: a table per set (README: "Meshes as people have them"; figures in BENCHMARKS.md).

    python scripts/mesh_load_survey.py                       # pybullet's random_urdfs (pip install pybullet)
    python scripts/mesh_load_survey.py ../shared/data/meshes my_meshes/ --json
"""
from __future__ import annotations

import argparse
import json
import re
import time
from collections import Counter
from pathlib import Path

from grasplab.errors import MeshError
from grasplab.objects.mesh_files import list_mesh_files, load_mesh_object


def urdf_scale(mesh: Path) -> float:
    """The scale a URDF beside the mesh gives it (pybullet's random_urdfs are drawn at 0.015)."""
    urdf = mesh.with_suffix(".urdf")
    m = re.search(r'scale="([0-9.eE+-]+)', urdf.read_text()) if urdf.is_file() else None
    return float(m.group(1)) if m else 1.0


def kind(text: str) -> str:
    """A repair or refusal with its numbers and file names taken out, to count alike ones."""
    return re.sub(r"\d+(\.\d+)?(e-?\d+)?", "N", text.split(" (")[0] if "(" in text and "shape" not in text else text)


def survey(folder: Path) -> dict:
    files = list_mesh_files(folder)
    loaded, repaired, refused = 0, Counter(), Counter()
    t0 = time.perf_counter()
    for f in files:
        try:
            obj = load_mesh_object(f, scale=urdf_scale(f))
        except MeshError as e:
            refused[kind(e.problem)] += 1
            continue
        loaded += 1
        for note in obj.notes:
            repaired[kind(note)] += 1
    return {"set": str(folder), "meshes": len(files), "loaded": loaded, "loaded_fraction": loaded / len(files),
            "repairs": dict(repaired.most_common()), "refusals": dict(refused.most_common()),
            "seconds": round(time.perf_counter() - t0, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folders", nargs="*", type=Path)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    folders = list(args.folders)
    if not folders:
        import pybullet_data
        folders = [Path(pybullet_data.getDataPath()) / "random_urdfs"]
    results = [survey(f) for f in folders]
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for r in results:
        print(f"{r['set']}: {r['loaded']}/{r['meshes']} loaded ({r['loaded_fraction']:.1%}), {r['seconds']} s")
        for k, n in r["repairs"].items():
            print(f"  repaired {n:4d}  {k}")
        for k, n in r["refusals"].items():
            print(f"  refused  {n:4d}  {k}")


if __name__ == "__main__":
    main()
