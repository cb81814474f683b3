"""Grasp labels of one object pose kept on disk, so that another synthesis of the same objects
(another scene style, camera or view count: anything that changes the images, not the grasps)
reads them instead of labelling again. Labelling is most of a labelled unit's time (~80 % for
the semi-supervised study's Cornell-like scenes).

An entry is named by a digest of everything the labels depend on: the seed and object key (the
labels' random streams), the pose's index and transformed mesh, the gripper and the antipodal,
collision and quality settings. Anything else (style, camera, views, formats) may differ. The
stored arrays are the computed ones, so a unit's outputs are the same with or without the cache.
"""
from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import asdict
from pathlib import Path

import numpy as np

from ..geometry import GraspSet
from ..quality import QualityLabels
from ..storage import atomic_write_bytes

#: bump when the labelling code changes what it computes, so older entries are not read
LABELS_VERSION = 2              # 2: the palm spans the whole stroke in the collision check (2026-12-07)


def label_key(seed: int, spec_key: str, pose_index: int, mesh_t, com_t: np.ndarray, gripper, antipodal, collision,
              quality) -> str:
    """The digest that names one object pose's labels (see the module docstring): ``antipodal``,
    ``collision`` and ``quality`` are the settings the pose was labelled with."""
    h = hashlib.sha256()
    h.update(json.dumps({"version": LABELS_VERSION, "seed": seed, "object": spec_key, "pose": int(pose_index),
                         "gripper": gripper.to_dict(), "antipodal": asdict(antipodal),
                         "collision": asdict(collision), "quality": asdict(quality)},
                        sort_keys=True, default=str).encode())
    for a in (mesh_t.vertices, mesh_t.faces, com_t):
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:24]


def load_labels(folder: Path, key: str) -> tuple[GraspSet, np.ndarray, QualityLabels] | None:
    """(grasps, collision_free, labels) stored under ``key``, or None (absent or unreadable)."""
    path = Path(folder) / f"{key}.npz"
    if not path.is_file():
        return None
    try:
        with np.load(path) as z:
            grasps = GraspSet(z["centers_m"], z["axes"], z["widths_m"], z["contacts_m"], z["normals"],
                              str(z["frame"]))
            labels = QualityLabels(z["ferrari_canny"], z["robust_ferrari_canny"], z["p_force_closure"])
            return grasps, z["collision_free"], labels
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile):   # damaged: labelled again, rewritten
        return None


def store_labels(folder: Path, key: str, grasps: GraspSet, collision_free: np.ndarray, labels: QualityLabels) -> None:
    """Write one pose's labels atomically (concurrent workers may write the same entry)."""
    buf = io.BytesIO()
    np.savez(buf, centers_m=grasps.centers_m, axes=grasps.axes, widths_m=grasps.widths_m,
             contacts_m=grasps.contacts_m, normals=grasps.normals, frame=np.array(grasps.frame),
             collision_free=collision_free, ferrari_canny=labels.ferrari_canny,
             robust_ferrari_canny=labels.robust_ferrari_canny, p_force_closure=labels.p_force_closure)
    atomic_write_bytes(Path(folder) / f"{key}.npz", buf.getvalue())
