"""The default thread count follows the free cores; fast-exiting commands still deliver all their output."""

import os
import shutil
import subprocess
import sys

import pytest

from openimagen.cli import threads
from openimagen.cli.pngmeta import read_record
from cli_helpers import cli, save_tiny_model


@pytest.mark.parametrize("cores, load, expected", [(2, 0.3, 2), (2, 1.2, 1), (2, 7.5, 1), (8, 2.9, 6), (1, 0.0, 1)])
def test_default_threads_are_the_cores_the_load_leaves_free(monkeypatch, cores, load, expected):
    monkeypatch.setattr(threads, "cpu_count", lambda: cores)
    monkeypatch.setattr(os, "getloadavg", lambda: (load, load, load))
    assert threads.default_threads() == expected


def test_sample_without_threads_uses_and_stores_the_default(tmp_path, monkeypatch):
    import torch

    before = torch.get_num_threads()
    monkeypatch.setattr(threads, "default_threads", lambda: 1)
    model = save_tiny_model(tmp_path / "model")
    try:
        assert cli("sample", "a", "--model", model, "-o", tmp_path / "a.png").exit_code == 0
    finally:
        torch.set_num_threads(before)
    assert read_record(tmp_path / "a.png")["recipe"]["threads"] == 1


@pytest.mark.skipif(shutil.which("openimagen") is None, reason="needs the console script")
def test_a_fast_exiting_command_flushes_its_output_to_a_pipe(tmp_path):
    model = save_tiny_model(tmp_path / "model")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run([shutil.which("openimagen"), "info", "--model", str(model)], capture_output=True,
                          text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("model: ") and "provenance: none recorded" in done.stdout.splitlines()[-1]
