"""grasplab's local Ray instance: loopback ports only, and nothing left behind however the driver ends."""
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("ray", reason="ray is not installed")

from grasplab.ray_local import _processes_naming, local_ray  # noqa: E402

pytestmark = pytest.mark.slow          # each test starts a Ray instance (~5–10 s)

LOOPBACK = ("127.0.0.1", "[::ffff:127.0.0.1]", "[::1]")


def _listening_addresses(pids: set[int]) -> list[str]:
    out = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, check=True).stdout
    found = []
    for line in out.splitlines():
        if any(f"pid={p}," in line for p in pids):
            found.append(line.split()[3].rsplit(":", 1)[0])
    return found


def _gone(folder: Path, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not _processes_naming(folder) and not folder.exists():
            return True
        time.sleep(0.25)
    return False


@pytest.mark.skipif(shutil.which("ss") is None, reason="needs `ss` (iproute2) to list listening sockets")
def test_local_ray_listens_on_loopback_only_and_cleans_up():
    import ray

    with local_ray(1, include_dashboard=False, log_to_driver=False, configure_logging=False) as folder:
        assert ray.get(ray.remote(lambda: 41 + 1).remote()) == 42
        pids = set(_processes_naming(folder)) | {__import__("os").getpid()}
        addresses = _listening_addresses(pids)
        assert addresses, "no Ray listener found"
        assert all(a in LOOPBACK for a in addresses), f"Ray listens beyond the loopback interface: {addresses}"
    assert _gone(folder, 10), "Ray processes or session files left after shutdown"


def test_a_killed_driver_leaves_no_ray_processes_or_files(tmp_path):
    script = ("import time, ray\n"
              "from grasplab.ray_local import local_ray\n"
              "with local_ray(1, include_dashboard=False, log_to_driver=False, configure_logging=False) as f:\n"
              "    ray.get(ray.remote(lambda: 1).remote())\n"
              "    print(f, flush=True)\n"
              "    time.sleep(600)\n")
    driver = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        folder = Path(driver.stdout.readline().strip())
        assert folder.name.startswith("grasplab-ray-") and _processes_naming(folder)
        driver.send_signal(signal.SIGKILL)
        driver.wait(10)
        assert _gone(folder, 20), f"left behind: processes {_processes_naming(folder)}, folder {folder.exists()}"
    finally:
        driver.kill()
