"""Faults a real cluster produces: unreadable data, signals at any moment, a second signal."""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from openimagen.data.synthetic import write_folder
from test_train_loop import make_trainer, sigterm_at_call

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
    two_terms, calls = sigterm_at_call(2, signals=2)   # e.g. a user pressing Ctrl-C twice: never ignored
    trainer, _ = make_trainer(tmp_path, two_terms)
    with pytest.raises(SystemExit) as stopped:
        trainer.fit()
    assert stopped.value.code == 128 + signal.SIGTERM and calls["n"] == 2


@pytest.fixture
def drive():
    """drive(spec): start tests/fault_driver.py in its own session (so a signal can reach its process group);
    whatever is left of it is killed at the end of the test."""
    started = []

    def start(spec):
        log = open(Path(spec["out"]).parent / f"{Path(spec['out']).name}.log", "w+")
        process = subprocess.Popen([sys.executable, str(Path(__file__).parent / "fault_driver.py"), json.dumps(spec)],
                                   stdout=subprocess.DEVNULL, stderr=log, text=True, start_new_session=True,
                                   env={**os.environ, "OMP_NUM_THREADS": "1"})
        process.log = log
        started.append(process)
        return process
    yield start
    for process in started:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        process.log.close()


def stderr_of(process):
    process.log.seek(0)
    return process.log.read()[-3000:]


def wait_for(path, process, seconds=120):
    deadline = time.time() + seconds
    while not path.exists():
        assert process.poll() is None, stderr_of(process)
        assert time.time() < deadline, f"{path} never appeared"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    root = tmp_path_factory.mktemp("images")
    write_folder(str(root), 8, size=(12, 10))
    return root


def test_sigterm_to_the_process_group_with_loader_workers_saves_and_stops(images, tmp_path, drive):
    spec = {"out": str(tmp_path / "run"), "data": str(images), "sleep": 0.05, "data_config": {"num_workers": 2},
            "train": {"max_steps": 10_000, "checkpoint_every": 1}}
    process = drive(spec)
    wait_for(tmp_path / "run" / "stage-1" / "checkpoints" / "step-00000003" / "state.json", process)
    os.killpg(process.pid, signal.SIGTERM)      # what scancel and SLURM time limits do: workers get it too
    process.wait(timeout=60)
    assert (tmp_path / "run" / "result-rank0.json").is_file(), stderr_of(process)
    result = json.loads((tmp_path / "run" / "result-rank0.json").read_text())
    assert result["interrupted"] and result["step"] >= 3
    assert (tmp_path / "run" / "stage-1" / "checkpoints" / f"step-{result['step']:08d}" / "state.json").is_file()


def free_port():
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return str(probe.getsockname()[1])


def test_a_nan_loss_on_one_rank_makes_every_rank_skip_the_step(images, tmp_path):
    spec = {"out": str(tmp_path), "data": str(images), "nan_loss": {"rank": 1, "step": 3},
            "train": {"max_steps": 4, "checkpoint_every": 2}}
    launcher = [str(BIN / "accelerate"), "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
                "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", free_port()]
    out = subprocess.run([*launcher, str(Path(__file__).parent / "fault_driver.py"), json.dumps(spec)],
                         capture_output=True, text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert out.returncode == 0, out.stderr[-3000:]
    results = [json.loads((tmp_path / f"result-rank{r}.json").read_text()) for r in (0, 1)]
    assert results[0] == results[1] == {"step": 4, "interrupted": False, "skipped": 1}


def test_a_second_trainer_on_a_locked_run_dir_is_refused_naming_the_holder(tmp_path):
    from openimagen.train.run_lock import RunLock, RunLocked

    trainer, _ = make_trainer(tmp_path)
    with RunLock(tmp_path), pytest.raises(RunLocked, match=f"in use by another trainer \\(pid {os.getpid()} on"):
        trainer.fit()
    assert make_trainer(tmp_path, max_steps=2)[0].fit().step == 2     # released with its holder


def test_temp_dirs_of_a_killed_save_are_removed_at_start(tmp_path):
    stale = tmp_path / "checkpoints" / ".tmp-step-00000009-4242"
    stale.mkdir(parents=True)
    (stale / "model.safetensors").write_bytes(b"half")
    make_trainer(tmp_path, max_steps=2)[0].fit()
    assert not stale.exists()


def test_ranks_save_and_stop_when_their_launcher_dies(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCHELASTIC_RUN_ID", "test")
    monkeypatch.setattr(os, "getppid", lambda: 4242)                # the launcher (whatever started pytest)
    trainer, _ = make_trainer(tmp_path, max_steps=10)
    monkeypatch.setattr(os, "getppid", lambda: 1)                   # re-parented: the launcher was SIGKILLed
    result = trainer.fit()
    assert result.interrupted and result.step == 1 and result.checkpoint.name == "step-00000001"


def _cli_with_result(tmp_path, monkeypatch, result):
    from click.testing import CliRunner

    import openimagen.train.run
    from openimagen.cli import main
    from test_train_end_to_end import CONFIG

    config = tmp_path / "tiny.toml"
    config.write_text(CONFIG.format(out=tmp_path / "run", data=tmp_path))
    monkeypatch.setattr(openimagen.train.run, "train", lambda config, stages: {1: result})
    return CliRunner().invoke(main, ["train", str(config)])


def test_a_run_stopped_by_a_signal_exits_75_not_0(tmp_path, monkeypatch):
    from openimagen.train.trainer import TrainResult

    out = _cli_with_result(tmp_path, monkeypatch, TrainResult(3, 0, True, tmp_path / "step-00000003", 0.5))
    assert out.exit_code == 75 and "interrupted; rerun to resume" in out.output


def test_rerunning_a_finished_run_says_so_instead_of_a_nan_loss(tmp_path, monkeypatch):
    from openimagen.train.trainer import TrainResult

    out = _cli_with_result(tmp_path, monkeypatch, TrainResult(3, 0, False, tmp_path / "step-00000003", float("nan")))
    assert out.exit_code == 0 and "already at step 3" in out.output and "nan" not in out.output
