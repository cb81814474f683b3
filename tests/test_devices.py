"""Training on several devices (Lightning DDP; here two CPU processes with gloo): every train
command and the semi-supervised runner take --accelerator/--devices/--strategy, and W devices
with batch size B give the weights of one device with batch size B (each takes B / W items of
every batch; gradients are averaged)."""
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from grasplab.errors import ConfigError
from grasplab.training.train import EpochShuffle


@pytest.mark.parametrize("n,batch", [(20, 8), (21, 8), (16, 4)])
def test_shares_of_the_training_order_make_up_each_one_device_batch(monkeypatch, n, batch):
    one = list(EpochShuffle(n, seed=3, batch_size=batch))
    shares = []
    for rank in range(2):
        monkeypatch.setattr(EpochShuffle, "_shard", staticmethod(lambda r=rank: (r, 2)))
        shares.append(list(EpochShuffle(n, seed=3, batch_size=batch)))
    assert len(shares[0]) == len(shares[1])                     # every process steps equally often
    half = batch // 2
    for k, start in enumerate(range(0, n, batch)):
        step = set(shares[0][k * half:(k + 1) * half]) | set(shares[1][k * half:(k + 1) * half])
        assert step == set(one[start:start + batch])              # the one-device batch, split


def _weights(path):
    with np.load(path) as z:
        return {k: z[k] for k in z.files if k != "__grasplab__"}


def _max_difference(a, b):
    wa, wb = _weights(a), _weights(b)
    return max(float(np.abs(wa[k].astype(float) - wb[k].astype(float)).max()) for k in wa)


@pytest.mark.slow
def test_two_devices_train_the_one_device_model(tmp_path, shared_data):
    base = [sys.executable, "-m", "grasplab", "train", "ggcnn", "--data", str(shared_data / "jacquard"), "--depth",
            "stereo", "--size", "96", "--crop", "resize", "--epochs", "2", "--batch-size", "8"]
    env = {"MUJOCO_GL": "egl", "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"}
    for devices, out in (("1", "one"), ("2", "two")):
        run = subprocess.run(base + ["--accelerator", "cpu", "--devices", devices, "--strategy",
                                     "ddp" if devices == "2" else "auto", "--out", str(tmp_path / out)],
                             capture_output=True, text=True, env=env, timeout=600)
        assert run.returncode == 0, run.stderr[-3000:]
    assert _max_difference(tmp_path / "one" / "model.npz", tmp_path / "two" / "model.npz") < 1e-5
    run = subprocess.run(base[:-1] + ["7", "--devices", "2", "--strategy", "ddp", "--out", str(tmp_path / "odd")],
                         capture_output=True, text=True, env=env, timeout=600)
    assert run.returncode == 2 and "multiple of the 2 devices" in run.stderr


@pytest.mark.slow
def test_the_semisup_runner_trains_data_parallel(tmp_path, shared_data):
    script = tmp_path / "run.py"
    script.write_text(textwrap.dedent(f"""
        import sys
        from grasplab.datasets.scene_sources import load_scenes
        from grasplab.experiments.semisup import SemisupConfig, run_semisup
        devices, out = int(sys.argv[1]), sys.argv[2]
        cfg = SemisupConfig(seeds=1, methods=("ggcnn", "vqvae", "joint"), ae_epochs=2, grasp_steps=20, hidden=16,
                            num_codes=16, augmentations=1, batch_size=4, eval_figures=0, labelled_fractions=(0.5,))
        rep = run_semisup(load_scenes({str(shared_data / 'jacquard')!r}, "jacquard", "stereo"), cfg, out,
                          show_progress=False, devices=devices, strategy="ddp" if devices > 1 else "auto")
        print("REPORT" if rep is not None else "WORKER")
    """))
    env = {"MUJOCO_GL": "egl", "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"}
    for devices in (1, 2):
        run = subprocess.run([sys.executable, str(script), str(devices), str(tmp_path / f"d{devices}")],
                             capture_output=True, text=True, env=env, timeout=600)
        assert run.returncode == 0 and "REPORT" in run.stdout, run.stderr[-3000:]
        assert (tmp_path / f"d{devices}" / "results.md").is_file()
    # GG-CNN on the labels: the same weights on two processes as on one
    key = "models/ggcnn-f0.500-seed0.npz"
    assert _max_difference(tmp_path / "d1" / key, tmp_path / "d2" / key) < 1e-5


def test_device_settings_are_checked():
    from grasplab.training import TrainConfig
    with pytest.raises(ConfigError, match="--accelerator"):
        TrainConfig(accelerator="quantum")
    with pytest.raises(ConfigError, match="--devices"):
        TrainConfig(devices=0)
