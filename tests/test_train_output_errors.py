"""Training's output on a disk it cannot write: train.output_dir checked before any model loads, a checkpoint save
that fails (full disk) named in one line with its temp directory removed."""

import pytest
import torch
from safetensors import SafetensorError

from openimagen import files
import openimagen.train.checkpoint as checkpoint_module
import openimagen.train.run as run_module
from openimagen.train.checkpoint import CheckpointWriteError, list_checkpoints, save_checkpoint
from cascade_helpers import one_thread  # noqa: F401 - autouse fixture
from cli_helpers import assert_one_line_error, cli
from test_train_loop import make_trainer


def train(output_dir):
    return cli("train", "configs/tiny-2stage.toml", "--stage", 1, "--set", f"train.output_dir={output_dir}")


@pytest.fixture
def no_model_loads(monkeypatch):
    def fail(config):
        raise AssertionError("the text encoder was loaded before train.output_dir was checked")

    monkeypatch.setattr(run_module, "make_embedder", fail)


def test_an_output_dir_that_is_a_file_is_refused_before_any_model_loads(tmp_path, no_model_loads):
    (tmp_path / "existing.png").write_bytes(b"png")
    assert_one_line_error(train(tmp_path / "existing.png"), "is a file, not a folder; set another train.output_dir")
    assert_one_line_error(train(tmp_path / "existing.png" / "run"), "cannot write there (Not a directory)")


def test_an_output_dir_whose_cascade_folder_the_final_export_would_refuse_is_refused_first(tmp_path, no_model_loads):
    (tmp_path / "run" / "cascade").mkdir(parents=True)
    (tmp_path / "run" / "cascade" / "notes.md").write_text("mine")
    assert_one_line_error(train(tmp_path / "run"), "does not hold a saved cascade")


def test_a_run_lock_on_a_full_disk_still_locks(tmp_path, monkeypatch):
    import os

    from openimagen.train.run_lock import RunLock, RunLocked

    def full_disk(fd, length):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "ftruncate", full_disk)
    with RunLock(tmp_path), pytest.raises(RunLocked, match="in use by another trainer"):
        RunLock(tmp_path).__enter__()


@pytest.mark.parametrize("errno, reason", [(30, "Read-only file system"), (28, "No space left on device")])
def test_an_output_dir_that_cannot_be_written_is_refused(tmp_path, no_model_loads, monkeypatch, errno, reason):
    def cannot_write(*args, **kwargs):
        raise OSError(errno, reason)

    monkeypatch.setattr(files.tempfile, "TemporaryFile", cannot_write)
    assert_one_line_error(train(tmp_path / "run"), f"'{tmp_path / 'run'}': cannot write there ({reason})")
    assert not list((tmp_path / "run").iterdir())


@pytest.mark.parametrize("error", [OSError(28, "No space left on device"),
                                   SafetensorError("Error while serializing: I/O error: No space left on device")])
def test_a_checkpoint_that_cannot_be_written_names_the_folder_and_leaves_no_temp(tmp_path, monkeypatch, error):
    save_checkpoint(tmp_path, 1, {"model": {"w": torch.ones(1)}}, {})

    def full_disk(tensors, path, *args, **kwargs):
        open(path, "wb").write(b"half")
        raise error

    monkeypatch.setattr(checkpoint_module, "save_file", full_disk)
    with pytest.raises(CheckpointWriteError, match=f"step-00000002 in {tmp_path} .*No space left on device"):
        save_checkpoint(tmp_path, 2, {"model": {"w": torch.ones(1)}}, {})
    assert [p.name for p in tmp_path.iterdir()] == ["step-00000001"]
    assert list_checkpoints(tmp_path) == [tmp_path / "step-00000001"]


def test_the_trainer_stops_on_a_failed_save_with_that_error(tmp_path, monkeypatch):
    def full_disk(tensors, path, *args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(checkpoint_module, "save_file", full_disk)
    with pytest.raises(CheckpointWriteError, match="cannot write checkpoint step-00000002"):
        make_trainer(tmp_path, max_steps=2)[0].fit()
    assert not list((tmp_path / "checkpoints").glob(".tmp-*"))


def test_a_full_disk_under_tensorboard_is_one_warning_not_a_thread_traceback(tmp_path, monkeypatch, caplog, capfd):
    import time
    from types import SimpleNamespace

    from tensorboard.summary.writer.record_writer import RecordWriter

    from openimagen.train.feedback import Feedback

    def full_disk(self, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(RecordWriter, "write", full_disk)
    with caplog.at_level("WARNING"), Feedback(tmp_path, 100, 0, SimpleNamespace(is_main_process=True),
                                              progress=False) as feedback:
        for step in range(1, 200):
            feedback.step(step, 0.5, 1.0, 8, 0.1, 1e-3, 0, log=True)
            if feedback.writer is None:
                break
            time.sleep(0.01)                  # the writer thread fails in the background; the next write sees it
    assert feedback.writer is None and f"TensorBoard logging to {tmp_path / 'tb'} stopped" in caplog.text
    assert "Traceback" not in capfd.readouterr().err
