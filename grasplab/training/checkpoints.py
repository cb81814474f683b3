"""Training checkpoints that are safe to resume from a run folder of unknown origin.

A run folder may come from anyone (a shared drive, a downloaded run): reading its checkpoints
must not unpickle arbitrary objects, and a folder that was moved or copied must resume from its
own files, not from the paths it was written at. Checkpoints are therefore read with PyTorch's
``weights_only`` unpickler (tensors and plain values only), and the best-model bookkeeping keeps
paths relative to the run's ``checkpoints/`` folder.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import CheckpointError


def read_checkpoint(path: str | Path) -> dict:
    """A Lightning checkpoint's contents, read without executing code from the file.

    Raises :class:`CheckpointError` naming the file when it is not a checkpoint, is cut short,
    or holds objects other than tensors and plain containers (a crafted or foreign file)."""
    import pickle

    import torch

    path = Path(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise CheckpointError(
            f"{path}: refused to read this checkpoint: it holds objects other than tensors and plain values, "
            f"and loading them could run code ({str(err).splitlines()[0][:160]}). Delete the run's checkpoints/ "
            f"folder to train from scratch, or train into a new --out folder") from None
    except (RuntimeError, EOFError, OSError, ValueError) as err:
        raise CheckpointError(f"{path}: not a readable training checkpoint ({type(err).__name__}: "
                              f"{str(err).splitlines()[0][:160] if str(err) else 'empty or cut short'}); "
                              f"delete it to restart that run from its other checkpoint or from scratch") from None
    if not isinstance(state, dict) or "state_dict" not in state or "epoch" not in state:
        raise CheckpointError(f"{path}: not a grasplab training checkpoint (no epoch and weights); "
                              f"delete it, or train into a new --out folder")
    return state


def best_checkpoint_callback(dirpath: Path, monitor: str = "val_accuracy"):
    """Lightning's ``ModelCheckpoint`` keeping the best epoch as ``dirpath/best.ckpt``, whose saved
    state names files relative to ``dirpath``: a moved or copied run resumes with its own best
    checkpoint and score (Lightning's own keeps absolute paths, so a moved run loses the best
    score and reads, or fails to find, the old folder's file)."""
    from lightning.pytorch.callbacks import ModelCheckpoint

    class RunRelativeCheckpoint(ModelCheckpoint):
        @property
        def state_key(self) -> str:       # the same key as ModelCheckpoint: older runs resume too
            return super().state_key.replace(type(self).__qualname__, "ModelCheckpoint", 1)

        def state_dict(self):
            state = super().state_dict()
            root = Path(self.dirpath)

            def rel(p):
                return Path(p).name if p and Path(p).parent == root else p
            state.update(dirpath=".", best_model_path=rel(state["best_model_path"]),
                         kth_best_model_path=rel(state["kth_best_model_path"]),
                         last_model_path=rel(state["last_model_path"]),
                         best_k_models={rel(k): v for k, v in state["best_k_models"].items()})
            return state

        def load_state_dict(self, state):
            root = Path(self.dirpath)

            def here(p):                  # relative (this class) or absolute (older runs, maybe moved)
                return str(root / Path(p).name) if p else p
            state = dict(state, dirpath=self.dirpath, best_model_path=here(state.get("best_model_path")),
                         kth_best_model_path=here(state.get("kth_best_model_path")),
                         last_model_path=here(state.get("last_model_path")),
                         best_k_models={here(k): v for k, v in (state.get("best_k_models") or {}).items()})
            super().load_state_dict(state)

    return RunRelativeCheckpoint(dirpath=dirpath, filename="best", monitor=monitor, mode="max")
