"""Real processes: resume after SIGKILL is bit-identical; 2-process DDP (accelerate launch, gloo) matches 1 process."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from openimagen.data.synthetic import write_folder

DRIVER = str(Path(__file__).parent / "train_driver.py")
BIN = Path(sys.executable).parent


def run(*args, launcher=(sys.executable,), timeout=240):
    out = subprocess.run([*launcher, DRIVER, *map(str, args)], capture_output=True, text=True, timeout=timeout,
                         env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert out.returncode == 0, out.stderr[-3000:]


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return str(probe.getsockname()[1])


def params(directory, rank=0):
    return load_file(str(Path(directory) / f"params-rank{rank}.safetensors"))


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    root = tmp_path_factory.mktemp("images")
    write_folder(str(root), 8, size=(12, 10))
    return root


def test_resume_after_sigkill_is_bit_identical_to_a_straight_run(images, tmp_path):
    run(tmp_path / "straight", images, 8, 4)
    killed = tmp_path / "killed"
    process = subprocess.Popen([sys.executable, DRIVER, str(killed), str(images), "8", "4", "-", "4"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env={**os.environ, "OMP_NUM_THREADS": "1"})
    checkpoints = killed / "stage-1" / "checkpoints"
    deadline = time.time() + 120
    while not (checkpoints / "step-00000004" / "state.json").exists():
        assert process.poll() is None and time.time() < deadline, "the run ended before its step-4 checkpoint"
        time.sleep(0.05)
    time.sleep(0.3)
    process.send_signal(signal.SIGKILL)   # no chance to save: the resume must come from the step-4 checkpoint
    process.wait()
    assert not (killed / "params-rank0.safetensors").exists()
    assert not (checkpoints / "step-00000008").exists()
    run(killed, images, 8, 4)
    straight, resumed = params(tmp_path / "straight"), params(killed)
    assert all(torch.equal(straight[k], resumed[k]) for k in straight)
    ema_a = load_file(str(tmp_path / "straight/stage-1/checkpoints/step-00000008/ema.safetensors"))
    ema_b = load_file(str(checkpoints / "step-00000008" / "ema.safetensors"))
    assert all(torch.equal(ema_a[k], ema_b[k]) for k in ema_a)


def test_two_processes_on_gloo_agree_with_each_other_and_with_one_process(images, tmp_path):
    run(tmp_path / "one", images, 6, 4)
    launcher = (str(BIN / "accelerate"), "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
                "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", free_port())
    run(tmp_path / "two", images, 6, 4, launcher=launcher)
    one, rank0, rank1 = params(tmp_path / "one"), params(tmp_path / "two", 0), params(tmp_path / "two", 1)
    assert all(torch.equal(rank0[k], rank1[k]) for k in rank0)
    early = load_file(str(tmp_path / "one/stage-1/checkpoints/step-00000002/model.safetensors"))
    moved = max((one[k] - early[k]).abs().max().item() for k in one)
    differ = max((one[k] - rank0[k]).abs().max().item() for k in one)
    assert moved > 1e-4 and differ < 1e-5, (moved, differ)
