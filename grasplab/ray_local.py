"""A Ray instance on this machine that only this machine can reach and that leaves nothing behind.

``ray.init()`` without an address starts a GCS server, a raylet and workers whose gRPC ports
listen on every interface, keeps them up for minutes when the driver is killed, and leaves its
``/tmp/ray/session_*`` folders forever. grasplab's local instance instead binds every port to the
loopback interface (Ray's own single-machine mode, ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``), keeps
its session files in a private temporary folder, and starts a small reaper process that stops
every Ray process of that folder and removes it as soon as the driver exits, however it exits.
Connecting to a cluster (``--address``) is left to Ray.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

_SINGLE_MACHINE_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"     # "0": node IP 127.0.0.1, loopback ports only
_PREFIX = "grasplab-ray-"


def _processes_naming(folder: Path) -> list[int]:
    """Processes whose command line names ``folder`` (every process of a Ray session does)."""
    needle = str(folder).encode()
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if needle in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return [pid for pid in found if pid != os.getpid()]


def stop_session(folder: Path, grace_s: float = 3.0) -> None:
    """Stop every process of the Ray session kept in ``folder`` and remove the folder."""
    pids = _processes_naming(folder)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except OSError:
                pass
        deadline = time.monotonic() + grace_s
        while pids and time.monotonic() < deadline:
            time.sleep(0.1)
            pids = [p for p in pids if Path(f"/proc/{p}").exists() and not _zombie(p)]
        if not pids:
            break
    shutil.rmtree(folder, ignore_errors=True)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _zombie(pid)


def _start_reaper(driver_pid: int, folder: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "grasplab.ray_local", str(driver_pid), str(folder)],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True, close_fds=True)


def _session_root() -> Path:
    # Ray's Unix socket paths must stay under ~107 bytes: prefer a short temporary folder
    base = tempfile.gettempdir()
    return Path(tempfile.mkdtemp(prefix=_PREFIX, dir=base if len(base) <= 24 else "/tmp"))


@contextmanager
def local_ray(num_cpus: int, env_vars: dict[str, str] | None = None, **init_kwargs):
    """``ray.init`` of a private single-machine instance with ``num_cpus`` CPUs, loopback-only;
    on exit (or when this process dies) its processes are stopped and its files removed."""
    import ray
    from ray._private import ray_constants

    folder = _session_root()
    reaper = _start_reaper(os.getpid(), folder)
    saved_env, saved_flag = os.environ.get(_SINGLE_MACHINE_ENV), ray_constants.ENABLE_RAY_CLUSTER
    os.environ[_SINGLE_MACHINE_ENV] = "0"           # for the processes Ray starts
    ray_constants.ENABLE_RAY_CLUSTER = False        # for this one (read when the node's IP is chosen)
    try:
        ray.init(num_cpus=num_cpus, runtime_env={"env_vars": dict(env_vars or {})}, _temp_dir=str(folder),
                 **init_kwargs)
        yield folder
    finally:
        try:
            ray.shutdown()
        finally:
            ray_constants.ENABLE_RAY_CLUSTER = saved_flag
            if saved_env is None:
                os.environ.pop(_SINGLE_MACHINE_ENV, None)
            else:
                os.environ[_SINGLE_MACHINE_ENV] = saved_env
            stop_session(folder)
            reaper.wait(timeout=10)


def _reap(driver_pid: int, folder: Path, poll_s: float = 0.25) -> None:
    """The reaper: wait until the driver is gone or the folder was removed, then clean up."""
    while folder.exists() and _alive(driver_pid):
        time.sleep(poll_s)
    if folder.exists():
        stop_session(folder)


if __name__ == "__main__":
    _reap(int(sys.argv[1]), Path(sys.argv[2]))
