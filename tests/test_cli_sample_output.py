"""What `openimagen sample` leaves on disk: finished batches survive Ctrl-C, overwriting is said in --help."""

import pytest
from PIL import Image

from openimagen.cascade import pipeline
from openimagen.cli.pngmeta import read_record
from cascade_helpers import one_thread  # noqa: F401 - autouse fixture
from cli_helpers import cli, save_tiny_model


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return save_tiny_model(tmp_path_factory.mktemp("cli") / "model")


def interrupt_at_call(monkeypatch, number: int) -> None:
    """Ctrl-C during the `number`-th stage run (1-based) of the cascade."""
    calls, real = [], pipeline.sample_stage

    def sample_stage(*args, **kwargs):
        calls.append(1)
        if len(calls) == number:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "sample_stage", sample_stage)


def test_ctrl_c_keeps_every_finished_batch_and_says_how_many(model, tmp_path, monkeypatch):
    interrupt_at_call(monkeypatch, 5)              # 2 stages per batch: batches 1 and 2 done, batch 3 interrupted
    result = cli("sample", "a red circle", "a blue square", "--num-images", 3, "--batch-size", 2, "--seed", 1,
                 "--model", model, "-o", tmp_path / "out.png", "--threads", 1)
    assert result.exit_code == 130
    assert "interrupted: wrote 4 of 6 image(s)" in result.stderr and "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.glob("*.png")) == [f"out-00{i}.png" for i in range(4)]
    assert [read_record(tmp_path / f"out-00{i}.png")["image"] for i in range(4)] == [0, 1, 2, 3]
    monkeypatch.undo()
    cli("sample", "a red circle", "a blue square", "--num-images", 3, "--batch-size", 2, "--seed", 1,
        "--model", model, "-o", tmp_path / "full.png", "--threads", 1)
    for i in range(4):                              # the kept images are the ones an uninterrupted run makes
        assert Image.open(tmp_path / f"out-00{i}.png").tobytes() == Image.open(tmp_path / f"full-00{i}.png").tobytes()


def test_ctrl_c_before_the_first_batch_writes_nothing_and_says_so(model, tmp_path, monkeypatch):
    interrupt_at_call(monkeypatch, 1)
    result = cli("sample", "a", "--model", model, "-o", tmp_path / "out.png", "--threads", 1)
    assert result.exit_code == 130 and "interrupted: wrote 0 of 1 image(s)" in result.stderr
    assert not list(tmp_path.glob("*.png"))


def test_many_images_are_summarised_in_one_short_line(model, tmp_path):
    result = cli("sample", "a", "--num-images", 5, "--model", model, "-o", tmp_path / "o.png", "--threads", 1)
    assert result.exit_code == 0, result.output
    assert f"{tmp_path / 'o-000.png'} ... {tmp_path / 'o-004.png'} (5 files)" in result.stdout


def test_help_says_existing_files_are_overwritten():
    assert "overwritten" in " ".join(cli("sample", "--help").output.split())
