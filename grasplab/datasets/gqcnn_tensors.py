"""The GQ-CNN tensor dataset layout (gqcnn / autolab_core), read and written by grasplab.

``config.json``; ``tensors/<field>_%05d.npz`` each holding one array under ``arr_0`` with up
to ``datapoints_per_file`` rows; ``splits/<name>/{train,val}_indices.npz`` (datapoint
indices under ``arr_0``). Shards are written atomically.
"""
from __future__ import annotations

import io
import json
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import GrasplabError
from ..storage import atomic_write_bytes, atomic_write_json

#: The fields grasplab writes (DESIGN B4) and what they hold.
FIELDS = {
    "depth_ims_tf_table": "float32 (N, 32, 32, 1): noisy depth crop centred and rotated on the grasp (m)",
    "hand_poses": "float32 (N, 7): centre row, centre col, gripper depth m, angle rad, row − cy, col − cx, width px",
    "robust_ferrari_canny": "float32 (N,): robust ε × collision_free",
    "ferrari_canny": "float32 (N,): nominal ε (no perturbation)",
    "force_closure": "float32 (N,): probability of force closure under perturbation",
    "collision_free": "uint8 (N,): 1 if fingers and palm clear the object and table (in a heap: every object)",
    "obj_labels": "int32 (N,): object index in the object source",
    "pose_labels": "int32 (N,): object index × 1000 + stable pose index; −1 − heap index for heaps",
    "image_labels": "int32 (N,): unique view id",
    "camera_intrs": "float32 (N, 4): fx, fy, cx, cy",
    "camera_poses": "float32 (N, 7): T_world_camera as tx, ty, tz, qw, qx, qy, qz",
}


def _npz_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, arr_0=arr)
    return buf.getvalue()


def write_tensor_dataset(out_dir: str | Path, fields: dict[str, np.ndarray], splits: dict[str, dict[str, np.ndarray]],
                         config: dict, datapoints_per_file: int = 1000) -> None:
    """Write all fields as shards, the split index files and ``config.json`` (last)."""
    out = Path(out_dir)
    n = len(next(iter(fields.values())))
    if any(len(v) != n for v in fields.values()):
        raise ValueError("all fields must have the same number of datapoints")
    tensors = out / "tensors"
    tensors.mkdir(parents=True, exist_ok=True)
    num_files = int(np.ceil(n / datapoints_per_file))
    for name, arr in fields.items():
        for k in range(num_files):
            atomic_write_bytes(tensors / f"{name}_{k:05d}.npz",
                               _npz_bytes(arr[k * datapoints_per_file:(k + 1) * datapoints_per_file]))
    for old in tensors.glob("*_*.npz"):               # shards left over from a larger earlier run
        m = re.match(r"(.+)_(\d{5})\.npz$", old.name)
        if m and int(m.group(2)) >= num_files:
            old.unlink()
    for split, parts in splits.items():
        for part, idx in parts.items():
            atomic_write_bytes(out / "splits" / split / f"{part}_indices.npz", _npz_bytes(np.asarray(idx, np.int64)))
    atomic_write_json(out / "config.json", {**config, "num_datapoints": n, "datapoints_per_file": datapoints_per_file,
                                            "num_files": num_files, "fields": {k: FIELDS.get(k, "") for k in fields}})


@dataclass
class TensorDataset:
    """Read access to a GQ-CNN tensor dataset (grasplab's or gqcnn's)."""

    root: Path
    config: dict

    @classmethod
    def open(cls, root: str | Path) -> "TensorDataset":
        root = Path(root)
        cfg_path = root / "config.json"
        if not cfg_path.is_file():
            raise GrasplabError(f"{root}: not a GQ-CNN tensor dataset (no config.json)")
        try:
            cfg = json.loads(cfg_path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise GrasplabError(f"{cfg_path}: unreadable ({e})") from None
        if not isinstance(cfg, dict):
            raise GrasplabError(f"{cfg_path}: holds a JSON {type(cfg).__name__}, not a dataset config object")
        if not (root / "tensors").is_dir():
            raise GrasplabError(f"{root}: no tensors/ folder")
        return cls(root, cfg)

    @property
    def field_names(self) -> list[str]:
        return sorted({re.sub(r"_\d{5}\.npz$", "", p.name) for p in (self.root / "tensors").glob("*_?????.npz")})

    def num_files(self, field: str) -> int:
        return len(list((self.root / "tensors").glob(f"{field}_?????.npz")))

    def load_file(self, field: str, k: int) -> np.ndarray:
        path = self.root / "tensors" / f"{field}_{k:05d}.npz"
        try:
            with np.load(path, allow_pickle=False) as z:
                return z["arr_0"]
        except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile) as e:
            raise GrasplabError(f"{path}: cannot read tensor shard ({type(e).__name__}: {e}); the file is corrupt or "
                                f"truncated: rerun `grasplab synth` into this folder to rewrite it") from None

    def field(self, name: str) -> np.ndarray:
        k = self.num_files(name)
        if k == 0:
            raise GrasplabError(f"{self.root}: no field {name!r}; fields: {', '.join(self.field_names)}")
        return np.concatenate([self.load_file(name, i) for i in range(k)])

    def __len__(self) -> int:
        return int(self.config.get("num_datapoints", len(self.field("hand_poses"))))

    def split(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        d = self.root / "splits" / name
        if not d.is_dir():
            names = sorted(p.name for p in (self.root / "splits").glob("*")) if (self.root / "splits").is_dir() else []
            raise GrasplabError(f"{self.root}: no split {name!r}; splits: {', '.join(names) or 'none'}")
        out = []
        for part in ("train", "val"):
            with np.load(d / f"{part}_indices.npz", allow_pickle=False) as z:
                out.append(z["arr_0"])
        return out[0], out[1]
