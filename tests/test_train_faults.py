"""Faults a real cluster produces: unreadable data, signals at any moment, a second signal."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from test_train_loop import make_trainer, squared_error

ROOT = Path(__file__).parent.parent
BIN = Path(sys.executable).parent


def openimagen(*args, timeout=120, **popen):
    return subprocess.run([str(BIN / "openimagen"), *map(str, args)], capture_output=True, text=True, cwd=ROOT,
                          timeout=timeout, env={**os.environ, "OMP_NUM_THREADS": "1"}, **popen)


def test_a_folder_with_no_readable_image_stops_with_a_one_line_error_and_exit_2(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.png").write_bytes(b"")
    (data / "a.txt").write_text("a caption")
    out = openimagen("train", "configs/tiny-2stage.toml", "--set", f"data.source={data}", "--set",
                     "train.max_steps=3", "--set", f"train.output_dir={tmp_path / 'run'}", "--stage", "1",
                     timeout=90)
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 2, out.stderr[-2000:]
    assert lines[-1].startswith("Error: ") and "a.png" in lines[-1] and "in a row" in lines[-1], out.stderr
    assert "Traceback" not in out.stderr


def test_a_second_signal_stops_at_once_without_waiting_for_the_step(tmp_path):
    calls = {"n": 0}

    def two_terms(model, batch):
        calls["n"] += 1
        if calls["n"] == 2:
            os.kill(os.getpid(), signal.SIGTERM)
            os.kill(os.getpid(), signal.SIGTERM)   # e.g. a user pressing Ctrl-C twice: never ignored
        return squared_error(model, batch)

    trainer, _ = make_trainer(tmp_path, two_terms)
    with pytest.raises(SystemExit) as stopped:
        trainer.fit()
    assert stopped.value.code == 128 + signal.SIGTERM and calls["n"] == 2
