"""Pretrained models shipped inside the package: ``<name>.npz`` with a model card ``<name>.md``.

Each was trained by grasplab's own commands on grasplab's synthetic data; ``scripts/
train_pretrained.sh`` reproduces them. ``DEFAULT`` is what commands use when ``--model`` is
left out; ``FAST`` is the GG-CNN that ``grasplab bench detect`` times; ``DEFAULT_RERANKER`` re-ranks ``DEFAULT``'s grasps;
``DEFAULT_GQCNN`` is the GQ-CNN of the Dex-Net policies (``gqcnn-rank``, ``gqcnn-cem``, ``fc-gqcnn``).
"""
from __future__ import annotations

from pathlib import Path

from ...errors import GrasplabError

HERE = Path(__file__).parent
DEFAULT = "ggcnn2-synth-depth"       # the most accurate
FAST = "ggcnn-synth-depth"           # GG-CNN: what `grasplab bench detect` times against the paper's pipeline
DEFAULT_RERANKER = "rerank-ggcnn2-synth-depth"   # the crop re-ranker trained for DEFAULT
DEFAULT_GQCNN = "gqcnn-synth-clutter"             # Dex-Net 2.0's GQ-CNN (reduced): gqcnn-rank, gqcnn-cem, fc-gqcnn


def available() -> list[str]:
    return sorted(p.stem for p in HERE.glob("*.npz"))


def model_card(name: str) -> str:
    p = HERE / f"{name}.md"
    return p.read_text() if p.is_file() else ""


def resolve_model(name_or_path: str | Path | None) -> Path:
    """A model file from a pretrained name, a path, or ``None`` (the default pretrained model)."""
    if name_or_path is None or str(name_or_path) == "":
        name_or_path = DEFAULT
    p = Path(name_or_path)
    if p.is_file():
        return p
    if (HERE / f"{name_or_path}.npz").is_file():
        return HERE / f"{name_or_path}.npz"
    names = ", ".join(available()) or "none installed"
    raise GrasplabError(f"{name_or_path}: neither a model file nor a pretrained model name "
                        f"(pretrained: {names}; see `grasplab models`)")


def describe_pretrained() -> list[dict]:
    """One row per shipped model: name, architecture, the policy it plans with (``None``: a crop
    re-ranker, used with ``rerank=``), inputs, parameters and summary."""
    from .. import MODELS, read_header
    rows = []
    for n in available():
        h = read_header(resolve_model(n))
        meta = h.get("metadata", {})
        pre = meta.get("preprocess") or meta.get("map_preprocess") or {}     # a re-ranker: its map model's
        rows.append({"name": n, "default": n == DEFAULT, "architecture": h["architecture"],
                     "policy": getattr(MODELS.get(h["architecture"]), "default_policy", None),
                     "inputs": pre.get("inputs") or ("depth" if h["architecture"] == "gqcnn" else "?"),
                     "parameters": meta.get("parameters", "?"),
                     "summary": meta.get("summary", "")})
    return rows
