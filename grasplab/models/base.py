"""The model interface, the registry, and pickle-free saving (JSON config + numpy tensors).

A model file is a ``.npz`` holding every tensor of the state dict plus a JSON header
(``__grasplab__``) with the architecture name, its constructor arguments and the format
version. Loading builds the registered architecture from the header and refuses a file made
for another architecture or format with a clear message; nothing in the file is executed.
"""
from __future__ import annotations

import io
import json
import zipfile
from abc import ABCMeta, abstractmethod
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..errors import GrasplabError
from ..storage import atomic_write_bytes

FORMAT_VERSION = 1
MODELS: dict[str, type[nn.Module]] = {}


def register_model(name: str):
    def deco(cls):
        cls.architecture = name
        MODELS[name] = cls
        return cls
    return deco


class SavedModule(metaclass=ABCMeta):
    """For registered modules with ``architecture`` and ``config``: their size and pickle-free saving.
    ``default_policy`` names the registered policy that plans grasps with such a model
    (``grasplab.load_policy(model_file)``); ``None`` with ``policy_hint`` for parts of a policy."""

    default_policy: str | None = None
    policy_hint: str = "it is part of another policy"

    @abstractmethod
    def example_inputs(self, batch: int = 2, seed: int = 0) -> tuple[torch.Tensor, ...]:
        """Inputs of the shapes ``forward`` takes (random, seeded): what contract tests and
        exporters feed every registered model."""

    @property
    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def save(self, path: str | Path, metadata: dict | None = None) -> Path:
        return write_module(path, self, {"architecture": self.architecture, "config": self.config,
                                         "metadata": metadata or {}})


class GraspMapModel(SavedModule, nn.Module):
    """A network that maps (B, C, H, W) images to grasp maps; remembers its constructor config."""

    architecture = "base"
    default_policy = "map"
    size_multiple = 1            # input sides must be multiples of this for same-size outputs

    def check_input(self, x: torch.Tensor) -> None:
        c = self.config.get("input_channels")
        if x.ndim != 4 or (c is not None and x.shape[1] != c):
            raise ValueError(f"{self.architecture} expects (B, {c}, H, W) input, got {tuple(x.shape)}")
        h, w = x.shape[-2:]
        if h % self.size_multiple or w % self.size_multiple:
            raise ValueError(f"{self.architecture} needs input sides that are multiples of {self.size_multiple} "
                             f"(e.g. 300), got {h}×{w}")

    def __init__(self, **config: Any):
        super().__init__()
        self.config = dict(config)

    def example_inputs(self, batch: int = 2, seed: int = 0) -> tuple[torch.Tensor, ...]:
        side = 96 + (-96) % self.size_multiple          # a small input of an allowed size
        g = torch.Generator().manual_seed(seed)
        return (torch.randn(batch, int(self.config.get("input_channels", 1)), side, side, generator=g) * 0.1,)

    @property
    def angle_bins(self) -> int:
        """Angle bins of the head (0: GG-CNN's quality, cos 2θ, sin 2θ and width maps)."""
        return int(self.config.get("angle_bins", 0))

    @abstractmethod
    def head_output(self, x: torch.Tensor) -> torch.Tensor:
        """The head's raw (B, C, H, W) output (what training compares with the targets)."""

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Quality, cos 2θ, sin 2θ and width maps, each (B, 1, H, W)."""
        from .layers import head_to_maps
        return head_to_maps(self.head_output(x), self.angle_bins)

    def for_inference(self) -> nn.Module:
        """An eval-mode module with the same outputs, arranged for fast CPU inference
        (channels-last memory; subclasses may also re-express slow layers). Not for training."""
        return self.eval().to(memory_format=torch.channels_last)



def write_module(path: str | Path, module: nn.Module, header: dict) -> Path:
    """A module's state dict and a JSON header as one ``.npz``, written atomically."""
    header = {"format_version": FORMAT_VERSION, **header}
    arrays = {k: v.detach().cpu().numpy() for k, v in module.state_dict().items()}
    buf = io.BytesIO()
    np.savez(buf, __grasplab__=np.array(json.dumps(header)), **arrays)
    return atomic_write_bytes(path, buf.getvalue())


def read_tensors(path: str | Path) -> dict[str, torch.Tensor]:
    """The tensors of a file written by ``write_module`` (header excluded); a file holding
    pickled objects is refused without running them."""
    try:
        with np.load(path, allow_pickle=False) as z:
            tensors = {k: torch.from_numpy(z[k]) for k in z.files if k != "__grasplab__"}
    except ValueError as e:
        raise GrasplabError(f"{path}: holds arrays that only pickle could read ({e}); grasplab model files hold "
                            f"plain tensors — refusing to load it") from None
    except (OSError, EOFError, zipfile.BadZipFile) as e:
        raise GrasplabError(f"{path}: its tensors cannot be read ({type(e).__name__}: {e}); the file is corrupt or "
                            f"truncated: copy or export it again") from None
    bad = [k for k, t in tensors.items() if t.is_floating_point() and not bool(torch.isfinite(t).all())]
    if bad:
        raise GrasplabError(f"{path}: holds NaN or infinite weights ({', '.join(bad[:3])}{', ...' if len(bad) > 3 else ''}); "
                            f"the training run diverged or the file is damaged: use another checkpoint or retrain")
    return tensors


def read_header(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise GrasplabError(f"{path}: model file not found")
    try:
        with np.load(path, allow_pickle=False) as z:
            header = json.loads(str(z["__grasplab__"]))
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
        detail = f"{type(e).__name__}: {e}" if str(e) else f"{type(e).__name__}: empty or cut short"
        raise GrasplabError(f"{path}: not a grasplab model file ({detail}); pass a model.npz written by grasplab "
                            f"(`grasplab train`, `grasplab models`)") from None
    if not isinstance(header, dict) or not isinstance(header.get("config", {}), dict):
        raise GrasplabError(f"{path}: its header is not a JSON object with a config object; the file was not written "
                            f"by grasplab or was edited: export it again")
    return header


MAX_MODEL_PARAMETERS = 50_000_000      # ~200 MB of float32: far above every grasplab model (README: limits)


def build_from_header(path: Path, arch: str, config: dict) -> nn.Module:
    """The architecture a header names, built only once its settings proved valid and its size
    bounded (sized first on PyTorch's meta device, which allocates nothing)."""
    try:
        with torch.device("meta"):
            sized = MODELS[arch](**config)
    except (TypeError, ValueError, RuntimeError, GrasplabError) as e:
        raise GrasplabError(f"{path}: its header's settings do not make a {arch} network "
                            f"({type(e).__name__}: {str(e).splitlines()[0][:200]}); the file was written by another "
                            f"version or edited: export it again") from None
    n = sum(p.numel() for p in sized.parameters()) + sum(b.numel() for b in sized.buffers())
    if n > MAX_MODEL_PARAMETERS:
        raise GrasplabError(f"{path}: its header asks for a {arch} network of {n:,} parameters, more than the "
                            f"{MAX_MODEL_PARAMETERS:,} grasplab loads; the file was edited or is not a grasp model")
    return MODELS[arch](**config)


def load_model(path: str | Path, expect: str | None = None) -> nn.Module:
    """Rebuild a model from its file (no pickle); ``expect`` names the architecture required
    (``load_map_model`` for a per-pixel grasp-map model)."""
    path = Path(path)
    header = read_header(path)
    if header.get("format_version") != FORMAT_VERSION:
        raise GrasplabError(f"{path}: model format {header.get('format_version')} is not supported "
                            f"(this grasplab reads format {FORMAT_VERSION}); upgrade grasplab or re-export the model")
    arch = header.get("architecture")
    if expect is not None and arch != expect:
        raise GrasplabError(f"{path}: holds a {arch!r} model, but a {expect!r} model was asked for")
    if arch not in MODELS:
        raise GrasplabError(f"{path}: unknown architecture {arch!r}; known: {', '.join(sorted(MODELS))}")
    model = build_from_header(path, arch, header.get("config", {}))
    try:
        missing, unexpected = model.load_state_dict(read_tensors(path), strict=False)
    except RuntimeError as e:
        raise GrasplabError(f"{path}: its tensors do not fit the {arch} network its header describes "
                            f"({str(e).splitlines()[-1].strip()[:200]}); the file is damaged or was edited") from None
    if missing or unexpected:
        raise GrasplabError(f"{path}: tensors do not fit the {arch} architecture "
                            f"(missing {missing[:3]}, unexpected {unexpected[:3]})")
    model.metadata = header.get("metadata", {})
    return model


def load_map_model(path: str | Path) -> GraspMapModel:
    """``load_model`` for a per-pixel grasp-map model; a file holding another kind of model
    (a crop re-ranker) is refused with a message saying where it belongs."""
    model = load_model(path)
    if not isinstance(model, GraspMapModel):
        raise GrasplabError(f"{path}: holds a {model.architecture!r} model, not a grasp-map model "
                            f"(a crop_quality model re-ranks a map model's grasps: pass it as --rerank)")
    return model
