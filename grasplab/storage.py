"""Atomic file writes and the run metadata saved beside every output.

Files are written to a temporary name in the same folder and renamed into place, so a
killed job never leaves a half-written file under the final name.
"""
from __future__ import annotations

import dataclasses
import json
import os
import platform
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from ._version import __version__


def cache_root() -> Path:
    """grasplab's cache folder: ``$GRASPLAB_CACHE_DIR`` or ``~/.cache/grasplab``."""
    return Path(os.environ.get("GRASPLAB_CACHE_DIR") or Path.home() / ".cache" / "grasplab")


_UMASK = os.umask(0o022)
os.umask(_UMASK)


def atomic_write(path: str | os.PathLike, writer: Callable[[Path], None], suffix: str | None = None) -> Path:
    """Call ``writer(tmp_path)`` then rename the temporary file to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = suffix if suffix is not None else path.suffix
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".tmp{suffix}", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        writer(tmp_path)
        os.chmod(tmp_path, 0o666 & ~_UMASK)     # mkstemp makes 0600; give the file the usual mode
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise
    return path


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    return atomic_write(path, lambda p: p.write_bytes(data))


def to_jsonable(obj: Any) -> Any:
    """Convert dataclasses, numpy values and paths into JSON-serialisable values."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    return obj


def atomic_write_json(path: str | os.PathLike, obj: Any) -> Path:
    text = json.dumps(to_jsonable(obj), indent=2, sort_keys=False)
    return atomic_write_bytes(path, (text + "\n").encode("utf-8"))


def run_metadata(config: Any, command: list[str] | None = None) -> dict[str, Any]:
    """The provenance record saved beside datasets, models and reports."""
    return {
        "grasplab_version": __version__,
        "command": list(sys.argv) if command is None else list(command),
        "config": to_jsonable(config),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "created_unix_s": time.time(),
    }


def _field_defaults(config: Any) -> dict:
    """A dataclass config's plain default values, as JSON (``{}`` for other configs)."""
    if not dataclasses.is_dataclass(config):
        return {}
    return {f.name: to_jsonable(f.default) for f in dataclasses.fields(config)
            if f.default is not dataclasses.MISSING}


def check_or_write_run_config(out_dir: Path, filename: str, config: Any, what: str = "output",
                              may_change: tuple[str, ...] = (), data: dict | None = None) -> None:
    """Refuse to mix settings in one output folder; write the run metadata on first use.

    A folder that holds ``filename`` with the same configuration is resumed; with another
    configuration the caller gets a message naming the settings that differ. Settings named in
    ``may_change`` (e.g. a training run's epoch count) may differ on resume; the file is updated.
    ``data`` describes what the run reads (e.g. which scenes train and validate) and must match
    too, so that a resumed run cannot continue on other data or another fold.
    """
    from .errors import ConfigError
    path = Path(out_dir) / filename
    wanted = to_jsonable(config)
    if path.is_file():
        try:
            record = json.loads(path.read_text())
            existing = record["config"]
        except (json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError):
            raise ConfigError(f"{path} is unreadable; delete the folder or choose another --out") from None
        if not isinstance(existing, dict):
            raise ConfigError(f"{path} is unreadable (its config is not an object); delete the folder or choose "
                              f"another --out")
        if data is not None and record.get("data") not in (None, data):
            raise ConfigError(f"{out_dir} holds a {what} on other data ({_describe(record['data'])} then, "
                              f"{_describe(data)} now: --data, --split, --folds, --fold, --depth or --val-data "
                              f"changed); give the same data, or choose another --out")
        defaults = _field_defaults(config)      # settings added since the folder was written
        existing = {**{k: v for k, v in defaults.items() if k not in existing and k in wanted}, **existing}
        diff = sorted(k for k in set(wanted) | set(existing)
                      if existing.get(k) != wanted.get(k) and k not in may_change)
        if diff:
            raise ConfigError(f"{out_dir} holds a {what} made with other settings ({', '.join(diff)} differ); "
                              "choose another --out, or delete the folder to start again")
        if existing != wanted or (data is not None and record.get("data") is None):
            atomic_write_json(path, {**run_metadata(config), **({"data": data} if data is not None else {})})
        return
    atomic_write_json(path, {**run_metadata(config), **({"data": data} if data is not None else {})})


def _describe(data: Any) -> str:
    if isinstance(data, dict):
        return ", ".join(f"{k} {v}" for k, v in data.items() if not str(k).endswith("sha256")) or "?"
    return "?"


@contextmanager
def folder_lock(out_dir: Path, name: str = "job", what: str = "job", wait: bool = False) -> Iterator[None]:
    """Hold ``out_dir/.<name>.lock`` for a job's whole run, so that two identical jobs into one
    folder do not both do all the work (or race on its config). A second process is refused at
    once with the holder's PID, host and start time (``wait=True``: wait for it instead, for short
    critical sections such as a config check-and-write). The operating system drops the lock when
    the holder exits, however it exits, so a killed job leaves no stale lock behind."""
    from .errors import GrasplabError
    try:
        import fcntl
    except ImportError:             # not POSIX: no lock (documented in the README)
        yield
        return
    path = Path(out_dir) / f".{name}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 512, 0).decode(errors="replace").strip() or "another process"
            raise GrasplabError(f"{out_dir} is being written by {holder}; wait for that {what} to finish (or stop "
                                f"it), or choose another --out") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"process {os.getpid()} on {platform.node()} since "
                      f"{time.strftime('%Y-%m-%d %H:%M:%S')}".encode(), 0)
        yield
    finally:
        os.close(fd)                # releases the lock
