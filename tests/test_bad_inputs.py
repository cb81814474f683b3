"""A corpus of bad inputs to every command: each must exit 2 with a message naming what was wrong
(the file or the option), print no traceback, leave no partial output, and finish quickly.

Cases are built in a temporary folder from one good Primesense frame (``../shared/data``) and a
small trained model; ``CASES`` lists them by command. A case is (id, builder): the builder gets
the case's folder and the good inputs and returns (argv, the text the message must hold).
"""
from __future__ import annotations

import json
import os
import resource
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from grasplab.cli import main

PRIMESENSE = "gqcnn/primesense"


# --- good inputs ----------------------------------------------------------------------------------
class Good:
    def __init__(self, root: Path, shared: Path):
        self.root = root
        self.depth = root / "depth.npy"
        d = np.load(shared / PRIMESENSE / "depth_0.npy")[..., 0].astype(np.float32)
        np.save(self.depth, d)
        self.shape = d.shape
        self.intr = root / "primesense.intr"
        shutil.copy(shared / "gqcnn/calib/primesense.intr", self.intr)
        self.mask = root / "mask.png"
        shutil.copy(shared / PRIMESENSE / "segmask_0.png", self.mask)
        self.rgb = root / "rgb.png"
        shutil.copy(shared / PRIMESENSE / "color_0.png", self.rgb)
        self.jacquard = shared / "jacquard"
        self.meshes = shared / "meshes"
        self.model = "ggcnn-synth-depth"


def _intr(path: Path, **over) -> Path:
    rec = {"_fx": 525.0, "_fy": 525.0, "_cx": 319.5, "_cy": 239.5, "_width": 640, "_height": 480, "_skew": 0.0,
           "_frame": "primesense_overhead"}
    rec.update({f"_{k}": v for k, v in over.items()})
    path.write_text(json.dumps(rec))
    return path


def _npy(path: Path, array) -> Path:
    np.save(path, np.asarray(array))
    return path


def _bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _png(path: Path, array) -> Path:
    import imageio.v3 as iio
    iio.imwrite(path, np.asarray(array))
    return path


def _huge_npy(path: Path, shape) -> Path:
    """A .npy whose header claims ``shape`` (float32); the file is sparse, so nothing is allocated."""
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(f, {"descr": "<f4", "fortran_order": False, "shape": tuple(shape)})
        f.truncate(f.tell() + 4 * int(np.prod(shape)))
    return path


HEADER = "__grasplab__"


def _load_shipped() -> dict:
    from grasplab.models.pretrained import resolve_model
    with np.load(resolve_model("ggcnn-synth-depth"), allow_pickle=False) as src:
        return {k: src[k] for k in src.files}


def _shipped_header() -> dict:
    return json.loads(str(_load_shipped()[HEADER]))


def _model_file(path: Path, header: dict | None = None, raw_header: str | None = None, drop=(), pickled=False,
                change=None) -> Path:
    """The shipped GG-CNN's file, altered: another header, tensors dropped or changed, a pickle."""
    arrays = _load_shipped()
    if header is not None:
        arrays[HEADER] = np.array(json.dumps(header))
    if raw_header is not None:
        arrays[HEADER] = np.array(raw_header)
    for k in drop:
        arrays.pop(k, None)
    if change:
        change(arrays)
    if pickled:
        arrays["encoder.0.bias"] = np.array([{"a": 1}], dtype=object)
    np.savez(path, **arrays)
    return path


def _under_a_file(path: Path) -> Path:
    """A folder path whose parent is a file (it cannot be made; the case a read-only folder gives
    an ordinary user, and root too)."""
    path.write_bytes(b"a file, not a folder")
    return path / "out"


# --- cases ----------------------------------------------------------------------------------------
def predict(g: Good, *extra, depth=None, intr="good", out=None):
    argv = ["predict", "--model", g.model, "--depth", str(depth or g.depth)]
    if intr == "good":
        argv += ["--intrinsics", str(g.intr)]
    elif intr is not None:
        argv += ["--intrinsics", str(intr)]
    return argv + ["--out", str(out or "CASE/out")] + list(extra)


def depth_cases():
    C = []

    def add(name, make, expect):
        C.append((f"predict-depth-{name}", lambda d, g: (predict(g, depth=make(d, g)), expect(d) if callable(expect)
                                                           else expect)))
    add("missing", lambda d, g: d / "nope.npy", "nope.npy")
    add("empty-npy", lambda d, g: _bytes(d / "e.npy", b""), "e.npy")
    add("corrupt-header", lambda d, g: _bytes(d / "c.npy", b"\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran"
                                              + b" " * 100 + b"\n"), "c.npy")
    add("text-as-npy", lambda d, g: _bytes(d / "t.npy", b"hello world, not an array\n" * 10), "t.npy")
    add("pickled-object-array", lambda d, g: _pickled_npy(d / "p.npy"), "p.npy")
    add("one-dimensional", lambda d, g: _npy(d / "1d.npy", np.ones(100, np.float32)), "1d.npy")
    add("four-dimensional", lambda d, g: _npy(d / "4d.npy", np.ones((2, 3, 4, 5), np.float32)), "4d.npy")
    add("three-channels", lambda d, g: _npy(d / "3c.npy", np.full((480, 640, 3), 0.7, np.float32)), "3c.npy")
    add("all-nan", lambda d, g: _npy(d / "nan.npy", np.full((480, 640), np.nan, np.float32)), "nan.npy")
    add("all-zero", lambda d, g: _npy(d / "z.npy", np.zeros((480, 640), np.float32)), "z.npy")
    add("all-inf", lambda d, g: _npy(d / "inf.npy", np.full((480, 640), np.inf, np.float32)), "inf.npy")
    add("negative", lambda d, g: _npy(d / "neg.npy", np.full((480, 640), -0.7, np.float32)), "neg.npy")
    add("kilometres", lambda d, g: _npy(d / "km.npy", np.load(g.depth) / 1000), "km.npy")
    add("constant", lambda d, g: _npy(d / "const.npy", np.full((480, 640), 0.7, np.float32)), "const.npy")
    add("tiny-2x2", lambda d, g: _npy(d / "tiny.npy", np.full((2, 2), 0.7, np.float32)), "tiny.npy")
    add("one-row", lambda d, g: _npy(d / "row.npy", np.full((1, 640), 0.7, np.float32)), "row.npy")
    add("huge-10000", lambda d, g: _huge_npy(d / "huge.npy", (10000, 10000)), "huge.npy")
    add("huge-wide", lambda d, g: _huge_npy(d / "wide.npy", (100, 2_000_000)), "wide.npy")
    add("complex", lambda d, g: _npy(d / "cx.npy", np.full((480, 640), 0.7 + 1j)), "cx.npy")
    add("strings", lambda d, g: _npy(d / "s.npy", np.full((48, 64), "a")), "s.npy")
    add("bool", lambda d, g: _npy(d / "b.npy", np.ones((480, 640), bool)), "b.npy")
    add("mostly-holes", lambda d, g: _npy(d / "holes.npy", np.where(np.random.default_rng(0).random((480, 640))
                                                                    < 0.995, 0, 0.7).astype(np.float32)), "holes.npy")
    add("unknown-extension", lambda d, g: _bytes(d / "depth.xyz", b"1 2 3\n"), "depth.xyz")
    add("directory", lambda d, g: (d / "adir").mkdir() or d / "adir", "adir")
    add("corrupt-png", lambda d, g: _bytes(d / "d.png", b"\x89PNG\r\n\x1a\nbroken"), "d.png")
    add("corrupt-tiff", lambda d, g: _bytes(d / "d.tiff", b"II*\x00garbage"), "d.tiff")
    add("rgb-png-as-depth", lambda d, g: g.rgb, "rgb.png")
    add("uint8-png-depth", lambda d, g: _png(d / "u8.png", np.full((480, 640), 200, np.uint8)), "u8.png")
    add("npz-as-depth", lambda d, g: (np.savez(d / "a.npz", x=np.ones(3)) or d / "a.npz"), "a.npz")
    return C


def _pickled_npy(path: Path) -> Path:
    np.save(path, np.array([{"depth": 1}], dtype=object), allow_pickle=True)
    return path


def intrinsics_cases():
    C = []

    def add(name, make, expect):
        C.append((f"predict-intrinsics-{name}", lambda d, g: (predict(g, intr=make(d, g)), expect)))
    add("missing", lambda d, g: d / "nope.intr", "nope.intr")
    add("empty", lambda d, g: _bytes(d / "e.intr", b""), "e.intr")
    add("not-json", lambda d, g: _bytes(d / "n.intr", b"fx=525"), "n.intr")
    add("json-list", lambda d, g: _bytes(d / "l.intr", b"[525, 525, 319.5, 239.5]"), "l.intr")
    add("json-number", lambda d, g: _bytes(d / "num.intr", b"525"), "num.intr")
    add("missing-keys", lambda d, g: _bytes(d / "k.intr", b'{"_fx": 525}'), "k.intr")
    add("fx-tiny", lambda d, g: _intr(d / "a.intr", fx=1e-9), "fx")
    add("fx-huge", lambda d, g: _intr(d / "b.intr", fx=1e9, fy=1e9), "fx")
    add("fx-negative", lambda d, g: _intr(d / "c.intr", fx=-525), "fx")
    add("fx-zero", lambda d, g: _intr(d / "z.intr", fx=0), "fx")
    add("fx-nan", lambda d, g: _bytes(d / "nan.intr", b'{"_fx": NaN, "_fy": 525, "_cx": 319.5, "_cy": 239.5, '
                                                     b'"_width": 640, "_height": 480}'), "fx")
    add("fx-text", lambda d, g: _intr(d / "s.intr", fx="five hundred"), "s.intr")
    add("cx-far-left", lambda d, g: _intr(d / "cx.intr", cx=-5000), "cx")
    add("cy-far-down", lambda d, g: _intr(d / "cy.intr", cy=1e6), "cy")
    add("fx-fy-mismatch", lambda d, g: _intr(d / "m.intr", fy=5250), "fy")
    add("other-image-size", lambda d, g: _intr(d / "size.intr", width=1280, height=960, cx=639.5, cy=479.5), "1280")
    add("width-zero", lambda d, g: _intr(d / "w0.intr", width=0), "w0.intr")
    add("millimetre-focal", lambda d, g: _intr(d / "mm.intr", fx=0.525, fy=0.525), "fx")
    return C


def mask_rgb_cases():
    C = []

    def add(name, make, expect, flag="--mask"):
        C.append((f"predict-{flag[2:]}-{name}", lambda d, g: (predict(g, flag, str(make(d, g))), expect)))
    add("missing", lambda d, g: d / "nope.png", "nope.png")
    add("empty-file", lambda d, g: _bytes(d / "e.png", b""), "e.png")
    add("corrupt", lambda d, g: _bytes(d / "c.png", b"\x89PNG\r\n\x1a\nbroken"), "c.png")
    add("all-zero", lambda d, g: _png(d / "z.png", np.zeros((480, 640), np.uint8)), "z.png")
    add("other-size", lambda d, g: _png(d / "s.png", np.full((240, 320), 255, np.uint8)), "s.png")
    add("text-file", lambda d, g: _bytes(d / "t.png", b"mask"), "t.png")
    add("npy-wrong-size", lambda d, g: _npy(d / "m.npy", np.ones((10, 10), bool)), "m.npy")
    add("directory", lambda d, g: (d / "mdir").mkdir() or d / "mdir", "mdir")
    add("missing", lambda d, g: d / "nope.png", "nope.png", "--rgb")
    add("corrupt", lambda d, g: _bytes(d / "c.png", b"\x89PNG\r\n\x1a\nbroken"), "c.png", "--rgb")
    add("other-size", lambda d, g: _png(d / "s.png", np.zeros((240, 320, 3), np.uint8)), "s.png", "--rgb")
    add("empty-file", lambda d, g: _bytes(d / "e.png", b""), "e.png", "--rgb")
    add("to-depth-only-model", lambda d, g: g.rgb, "rgb", "--rgb")
    return C


def model_cases():
    C = []

    def add(name, make, expect):
        def build(d, g):
            argv = predict(g)
            argv[argv.index("--model") + 1] = str(make(d, g))
            return argv, expect
        C.append((f"predict-model-{name}", build))

    def header(**change):
        def make(d, g):
            h = _shipped_header()
            for path, v in change.items():
                node = h
                parts = path.split("__")
                for part in parts[:-1]:
                    node = node[part]
                node[parts[-1]] = v
            return _model_file(d / "m.npz", header=h)
        return make

    def shrink(arrays):
        arrays["encoder.0.weight"] = arrays["encoder.0.weight"][:1]

    def nan(arrays):
        for k in arrays:
            if k != HEADER:
                arrays[k] = np.full_like(arrays[k], np.nan)
    add("missing", lambda d, g: d / "nope.npz", "nope.npz")
    add("empty", lambda d, g: _bytes(d / "e.npz", b""), "e.npz")
    add("not-a-zip", lambda d, g: _bytes(d / "z.npz", b"PK\x03\x04 not really"), "z.npz")
    add("text", lambda d, g: _bytes(d / "t.npz", b"model"), "t.npz")
    add("unknown-name", lambda d, g: "no-such-pretrained-model", "no-such-pretrained-model")
    add("pickled-tensor", lambda d, g: _model_file(d / "p.npz", pickled=True), "p.npz")
    add("no-header", lambda d, g: _model_file(d / "nh.npz", drop=(HEADER,)), "nh.npz")
    add("header-is-list", lambda d, g: _model_file(d / "hl.npz", raw_header="[1, 2, 3]"), "hl.npz")
    add("header-is-string", lambda d, g: _model_file(d / "hs.npz", raw_header='"ggcnn"'), "hs.npz")
    add("header-not-json", lambda d, g: _model_file(d / "hj.npz", raw_header="{not json"), "hj.npz")
    add("config-is-list", header(config=[1, 2]), "m.npz")
    add("other-architecture", header(architecture="resnet9000"), "m.npz")
    add("gqcnn-architecture", header(architecture="gqcnn"), "m.npz")
    add("unknown-setting", header(config__flux_capacitor=3), "m.npz")
    add("huge-filters", header(config__filters=[100000, 100000, 100000]), "m.npz")
    add("negative-filters", header(config__filters=[-1, 16, 8]), "m.npz")
    add("negative-channels", header(config__input_channels=-1), "m.npz")
    add("future-format", header(format_version=99), "m.npz")
    add("tensors-do-not-fit", lambda d, g: _model_file(d / "s.npz", change=shrink), "s.npz")
    add("missing-tensor", lambda d, g: _model_file(d / "mt.npz", drop=("encoder.0.weight",)), "mt.npz")
    add("nan-weights", lambda d, g: _model_file(d / "nan.npz", change=nan), "nan.npz")
    add("a-plain-npy", lambda d, g: _npy(d / "x.npz", np.ones(3)), "x.npz")
    add("directory", lambda d, g: (d / "mdir").mkdir() or d / "mdir", "mdir")
    return C


def predict_option_cases():
    C = []

    def add(name, extra, expect, **kw):
        C.append((f"predict-option-{name}", lambda d, g: (predict(g, *extra, **kw), expect)))
    add("max-grasps-negative", ["--max-grasps", "-1"], "--max-grasps")
    add("max-grasps-zero", ["--max-grasps", "0"], "--max-grasps")
    add("max-grasps-huge", ["--max-grasps", "100000000"], "--max-grasps")
    add("views-zero", ["--views", "0"], "--views")
    add("views-negative", ["--views", "-2"], "--views")
    add("unknown-policy", ["--policy", "telepathy"], "telepathy")
    add("unknown-units", ["--units", "furlongs"], "furlongs")
    add("unknown-gripper", ["--gripper", "hand-of-god"], "hand-of-god")
    add("rerank-missing", ["--rerank", "/nonexistent/r.npz"], "r.npz")
    add("max-grasps-not-int", ["--max-grasps", "many"], "max-grasps")
    C.append(("predict-out-is-a-file", lambda d, g: (predict(g, out=_bytes(d / "file", b"x")), "file")))
    C.append(("predict-out-under-a-file", lambda d, g: (predict(g, out=_under_a_file(d / "ro")), "ro")))
    C.append(("predict-no-intrinsics-mm-units", lambda d, g: (predict(g, "--units", "mm", intr=None), "mm")))
    for pol in ("fc-gqcnn", "gqcnn-rank"):            # the shipped GQ-CNN plans in metres: intrinsics required
        C.append((f"predict-{pol}-no-intrinsics", lambda d, g, pol=pol: (
            ["predict", "--policy", pol, "--depth", str(g.depth), "--out", str(d / "out")], "intrinsics")))
    C.append(("predict-fc-gqcnn-with-a-map-model", lambda d, g: (
        ["predict", "--policy", "fc-gqcnn", "--model", g.model, "--depth", str(g.depth), "--intrinsics", str(g.intr),
         "--out", str(d / "out")], "gqcnn")))
    return C


def synth_cases():
    C = []

    def add(name, extra, expect, objects="procedural:1"):
        C.append((f"synth-{name}", lambda d, g: (["synth", "--objects", objects, "--out", str(d / "out"),
                                                  "--workers", "0", *extra], expect)))
    add("samples-zero", ["--samples", "0"], "--samples")
    add("samples-negative", ["--samples", "-3"], "--samples")
    add("threshold-negative", ["--threshold", "-1"], "--threshold")
    add("threshold-nan", ["--threshold", "nan"], "--threshold")
    add("workers-negative", ["--workers", "-5"], "--workers")
    add("grasps-zero", ["--grasps", "0"], "--grasps")
    add("grasps-negative", ["--grasps", "-10"], "--grasps")
    add("views-per-pose-zero", ["--views-per-pose", "0"], "views")
    add("max-poses-zero", ["--max-poses", "0"], "poses")
    add("scale-zero", ["--scale", "0"], "scale")
    add("scale-negative", ["--scale", "-1"], "scale")
    add("unknown-preset", ["--preset", "dexnet9"], "dexnet9")
    add("unknown-gripper", ["--gripper", "claw"], "claw")
    add("unknown-camera", ["--camera", "pinhole9"], "pinhole9")
    add("unknown-renderer", ["--renderer", "povray"], "povray")
    add("unknown-format", ["--format", "hdf5"], "hdf5")
    add("shard-bad", ["--shard", "5/4"], "5/4")
    add("shard-text", ["--shard", "half"], "half")
    add("address-bad", ["--address", "not an address"], "address")
    add("objects-zero", [], "procedural:0", objects="procedural:0")
    add("objects-negative", [], "procedural:-1", objects="procedural:-1")
    add("objects-unknown-family", [], "dragons", objects="procedural:2:dragons")
    add("objects-bad-source", [], "spheres", objects="spheres:3")
    add("meshes-missing-dir", [], "nowhere", objects="meshes:/nowhere/at/all")
    add("heaps-negative", ["--heaps", "-1"], "--heaps")
    add("heap-objects-text", ["--heaps", "2", "--heap-objects", "abc"], "--heap-objects")
    add("heap-objects-zero", ["--heaps", "2", "--heap-objects", "0-3"], "--heap-objects")
    add("heap-objects-reversed", ["--heaps", "2", "--heap-objects", "5-2"], "--heap-objects")
    add("heap-objects-too-many", ["--heaps", "2", "--heap-objects", "50"], "--heap-objects")
    add("no-singles-no-heaps", ["--no-singles"], "--no-singles")
    C.append(("synth-meshes-empty-dir", lambda d, g: (["synth", "--objects", f"meshes:{(d / 'em').mkdir() or d / 'em'}",
                                                       "--out", str(d / "out"), "--workers", "0"], "em")))
    C.append(("synth-meshes-corrupt-only", lambda d, g: (["synth", "--objects", f"meshes:{_corrupt_mesh_dir(d)}",
                                                          "--out", str(d / "out"), "--workers", "0"], "bad.obj")))
    C.append(("synth-out-is-a-file", lambda d, g: (["synth", "--objects", "procedural:1", "--workers", "0",
                                                    "--out", str(_bytes(d / "file", b"x"))], "file")))
    C.append(("synth-out-under-a-file", lambda d, g: (["synth", "--objects", "procedural:1", "--workers", "0",
                                                    "--out", str(_under_a_file(d / "ro"))], "ro")))
    return C


def _corrupt_mesh_dir(d: Path) -> Path:
    m = d / "meshes"
    m.mkdir()
    (m / "bad.obj").write_text("v 0 0 0\nv 1 nonsense\nf 1 2 3\n")
    return m


def render_cases():
    C = []

    def add(name, extra, expect, objects="procedural:1"):
        C.append((f"render-{name}", lambda d, g: (["render", "--objects", objects, "--out", str(d / "out"), *extra],
                                                  expect)))
    add("views-zero", ["--views", "0"], "--views")
    add("views-negative", ["--views", "-1"], "--views")
    add("scale-zero", ["--scale", "0"], "scale")
    add("unknown-camera", ["--camera", "pinhole9"], "pinhole9")
    add("unknown-renderer", ["--renderer", "povray"], "povray")
    add("gamma-negative", ["--gamma-shape", "-1"], "noise")
    add("gp-sigma-negative", ["--gp-sigma", "-0.1"], "noise")
    add("dropout-above-one", ["--dropout", "2"], "dropout")
    add("edge-dropout-negative", ["--edge-dropout", "-0.5"], "dropout")
    add("objects-bad", [], "spheres", objects="spheres:3")
    add("objects-zero", [], "procedural:0", objects="procedural:0")
    add("meshes-missing", [], "nowhere", objects="meshes:/nowhere")
    C.append(("render-out-is-a-file", lambda d, g: (["render", "--objects", "procedural:1", "--views", "1",
                                                     "--out", str(_bytes(d / "file", b"x"))], "file")))
    C.append(("render-out-under-a-file", lambda d, g: (["render", "--objects", "procedural:1", "--views", "1",
                                                     "--out", str(_under_a_file(d / "ro"))], "ro")))
    return C


def train_cases():
    C = []

    def add(name, extra, expect, data=None, cmd="ggcnn"):
        C.append((f"train-{cmd}-{name}", lambda d, g: (["train", cmd, "--data", str(data(d, g) if data else g.jacquard),
                                                        "--out", str(d / "out"), "--epochs", "1", *extra], expect)))
    add("data-missing", [], "nowhere", data=lambda d, g: d / "nowhere")
    add("data-empty", [], "empty", data=lambda d, g: (d / "empty").mkdir() or d / "empty")
    add("data-a-file", [], "afile", data=lambda d, g: _bytes(d / "afile", b"x"))
    add("format-unknown", ["--format", "coco"], "coco")
    add("size-not-multiple", ["--size", "100"], "100")
    add("size-zero", ["--size", "0"], "size")
    add("size-huge", ["--size", "100008"], "size")
    add("epochs-zero", ["--epochs", "0"], "epochs")
    add("batch-zero", ["--batch-size", "0"], "batch")
    add("lr-negative", ["--lr", "-1"], "lr")
    add("lr-nan", ["--lr", "nan"], "lr")
    add("fold-out-of-range", ["--fold", "7"], "--fold 7")
    add("folds-one", ["--folds", "1"], "folds")
    add("split-unknown", ["--split", "diagonal"], "diagonal")
    add("inputs-unknown", ["--inputs", "lidar"], "lidar")
    add("arch-unknown", ["--arch", "alexnet"], "alexnet")
    add("crop-unknown", ["--crop", "random"], "random")
    add("depth-unknown", ["--depth", "sonar"], "sonar")
    add("teacher-missing", ["--teacher", "/no/teacher.npz"], "teacher.npz")
    add("init-missing", ["--init", "/no/init.npz"], "init.npz")
    add("val-data-missing", ["--val-data", "/no/val"], "/no/val")
    add("workers-negative", ["--workers", "-2"], "workers")
    add("devices-zero", ["--devices", "0"], "devices")
    add("accelerator-unknown", ["--accelerator", "abacus"], "abacus")
    C.append(("train-ggcnn-out-is-a-file", lambda d, g: (["train", "ggcnn", "--data", str(g.jacquard), "--epochs", "1",
                                                          "--out", str(_bytes(d / "file", b"x"))], "file")))
    C.append(("train-ggcnn-out-under-a-file", lambda d, g: (["train", "ggcnn", "--data", str(g.jacquard), "--epochs",
                                                          "1", "--out", str(_under_a_file(d / "ro"))], "ro")))
    add("data-missing", [], "nowhere", data=lambda d, g: d / "nowhere", cmd="gqcnn")
    add("data-empty", [], "empty", data=lambda d, g: (d / "empty").mkdir() or d / "empty", cmd="gqcnn")
    add("data-corrupt-tensor", [], "depth_ims_tf_table_00000.npz", data=lambda d, g: _corrupt_gqcnn(d), cmd="gqcnn")
    add("split-unknown", ["--split", "diagonal"], "diagonal", data=lambda d, g: _corrupt_gqcnn(d), cmd="gqcnn")
    add("filters-zero", ["--filters", "0"], "filters", data=lambda d, g: _corrupt_gqcnn(d), cmd="gqcnn")
    add("filters-huge", ["--filters", "100000"], "filters", data=lambda d, g: _corrupt_gqcnn(d), cmd="gqcnn")
    add("threshold-negative", ["--threshold", "-1"], "threshold", data=lambda d, g: _corrupt_gqcnn(d), cmd="gqcnn")
    add("data-missing", [], "nowhere", data=lambda d, g: d / "nowhere", cmd="reranker")
    add("model-missing", ["--model", "/no/map.npz"], "map.npz", cmd="reranker")
    return C


def _corrupt_gqcnn(d: Path) -> Path:
    t = d / "gq" / "tensors"
    t.mkdir(parents=True, exist_ok=True)
    (d / "gq" / "config.json").write_text('{"positive_threshold": 0.002}')
    (t / "depth_ims_tf_table_00000.npz").write_bytes(b"PK\x03\x04 broken")
    return d / "gq"


def evaluate_cases():
    C = []

    def add(name, extra, expect, data=None, model="ggcnn-synth-depth"):
        C.append((f"evaluate-{name}", lambda d, g: (["evaluate", "--model", model, "--data",
                                                     str(data(d, g) if data else g.jacquard),
                                                     "--out", str(d / "out"), *extra], expect)))
    add("data-missing", [], "nowhere", data=lambda d, g: d / "nowhere")
    add("data-empty", [], "empty", data=lambda d, g: (d / "empty").mkdir() or d / "empty")
    add("model-missing", [], "m.npz", model="/no/m.npz")
    add("policy-unknown", ["--policy", "telepathy"], "telepathy")
    add("depth-unknown", ["--depth", "sonar"], "sonar")
    add("k-zero", ["--k", "0"], "--k")
    add("format-unknown", ["--format", "coco"], "coco")
    add("split-unknown", ["--split", "diagonal"], "diagonal")
    add("fold-out-of-range", ["--split", "object", "--fold", "9"], "--fold 9")
    add("views-zero", ["--views", "0"], "--views")
    C.append(("evaluate-out-is-a-file", lambda d, g: (["evaluate", "--model", "ggcnn-synth-depth", "--data",
                                                       str(g.jacquard), "--out", str(_bytes(d / "file", b"x"))],
                                                      "file")))
    C.append(("export-onnx-model-missing", lambda d, g: (["export", "onnx", "--model", "/no/model.npz", "--out",
                                                         str(d / "m.onnx")], "model.npz")))
    C.append(("export-onnx-input-px-zero", lambda d, g: (["export", "onnx", "--model", "ggcnn-synth-depth",
                                                         "--input-px", "0", "--out", str(d / "m.onnx")], "input")))
    C.append(("models-card-unknown", lambda d, g: (["models", "no-such-model"], "no-such-model")))
    return C


CASES = (depth_cases() + intrinsics_cases() + mask_rgb_cases() + model_cases() + predict_option_cases()
         + synth_cases() + render_cases() + train_cases() + evaluate_cases())


def test_the_corpus_is_large_and_its_names_unique():
    names = [n for n, _ in CASES]
    assert len(names) >= 150 and len(set(names)) == len(names)


@pytest.fixture(scope="module")
def good(tmp_path_factory, shared_data):
    return Good(tmp_path_factory.mktemp("good"), shared_data)


@pytest.mark.parametrize("name,build", CASES, ids=[n for n, _ in CASES])
def test_bad_input_gives_a_clear_error(name, build, good, tmp_path, capsys):
    case = tmp_path / "case"
    case.mkdir()
    argv, expect = build(case, good)
    argv = [a.replace("CASE", str(case)) for a in argv]
    before = _snapshot(case)
    limit = 2 * 1024 ** 3
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    t0 = time.perf_counter()
    try:
        resource.setrlimit(resource.RLIMIT_AS, (max(limit, _current_vm_bytes() + limit), hard))
        with pytest.raises(SystemExit) as exc:
            main(argv)
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    elapsed = time.perf_counter() - t0
    out = capsys.readouterr()
    text = out.out + out.err
    assert exc.value.code == 2, f"exit {exc.value.code}; output:\n{text}"
    assert "Traceback" not in text
    assert expect.lower() in text.lower(), f"the message does not name {expect!r}:\n{text}"
    if "error:" in out.err:                      # grasplab's own errors: one line
        assert len(out.err.strip().splitlines()) == 1, out.err
    if "no grasp" not in text:          # "no grasp" is an answer: predict records why (README: exit codes)
        assert _snapshot(case) == before, "the failed command left output behind"
    assert elapsed < 10, f"{elapsed:.1f} s"


def _snapshot(folder: Path) -> set:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def _current_vm_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


# --- the Python API: the same rule (a GrasplabError naming what was wrong) ----------------------------
def _api_cases():
    from grasplab.geometry import CameraIntrinsics
    depth = np.full((120, 160), 0.7)
    depth[40:80, 60:100] = 0.65
    cam = CameraIntrinsics(140.0, 140.0, 79.5, 59.5, 160, 120)
    return [
        ("frame-depth-list-ragged", dict(depth=[[0.7, 0.7], [0.7]]), "depth"),
        ("frame-depth-3-channels", dict(depth=np.full((120, 160, 3), 0.7)), "shape"),
        ("frame-depth-huge", dict(depth=np.broadcast_to(np.float32(0.7), (10000, 10000))), "million pixels"),
        ("frame-depth-all-nan", dict(depth=np.full((120, 160), np.nan)), "valid pixels"),
        ("frame-mask-python-list-ragged", dict(depth=depth, mask=[[1, 2], [3]]), "mask"),
        ("frame-mask-wrong-shape", dict(depth=depth, mask=np.ones((10, 10), bool)), "mask"),
        ("frame-mask-empty", dict(depth=depth, mask=np.zeros((120, 160), bool)), "mask is empty"),
        ("frame-mask-nan", dict(depth=depth, mask=np.full((120, 160), np.nan)), "nan"),
        ("frame-mask-strings", dict(depth=depth, mask=np.full((120, 160), "x")), "mask"),
        ("frame-rgb-wrong-shape", dict(depth=depth, rgb=np.zeros((10, 10, 3), np.uint8)), "rgb"),
        ("frame-intrinsics-a-dict", dict(depth=depth, intrinsics={"fx": 140}), "CameraIntrinsics"),
        ("frame-intrinsics-other-size", dict(depth=depth, intrinsics=CameraIntrinsics(525., 525., 319.5, 239.5,
                                                                                      640, 480)), "640"),
        ("plan-max-grasps-negative", dict(depth=depth, intrinsics=cam, max_grasps=-1), "max_grasps"),
        ("plan-max-grasps-float", dict(depth=depth, intrinsics=cam, max_grasps=2.5), "max_grasps"),
        ("plan-not-a-frame", dict(plan_on=np.zeros((120, 160))), "Frame"),
        ("policy-negative-width", dict(policy_options={"max_width_m": -1}), "width"),
        ("policy-unknown-option", dict(policy_options={"flux": 1}), "flux"),
        ("policy-unknown-name", dict(policy_name="telepathy"), "telepathy"),
    ]


@pytest.mark.parametrize("name,kw,expect", _api_cases(), ids=[c[0] for c in _api_cases()])
def test_python_api_refuses_bad_input_clearly(name, kw, expect):
    from grasplab.errors import GrasplabError
    from grasplab.imaging import Frame
    from grasplab.policies import load_policy
    kw = dict(kw)
    with pytest.raises(GrasplabError) as exc:
        policy = load_policy(kw.pop("policy_name", None), **kw.pop("policy_options", {}))
        if "plan_on" in kw:
            policy.plan(kw["plan_on"])
        max_grasps = kw.pop("max_grasps", 3)
        frame = Frame.from_images(kw.pop("depth"), **kw)
        policy.plan(frame, max_grasps=max_grasps)
    assert expect.lower() in str(exc.value).lower()
