"""`openimagen export` on inputs a user can get wrong: the --out folder, --checkpoint STAGE=DIR, damaged
checkpoints. One line naming the path, exit code 2, and nothing deleted or left behind."""

import json

import pytest
import torch

from openimagen.cascade import build_stage_network
from openimagen.train.checkpoint import save_checkpoint
from openimagen.train.config import load_config
from cascade_helpers import one_thread  # noqa: F401 - autouse fixture
from cli_helpers import MINILM_DIM, assert_one_line_error, cli

CONFIG = "configs/tiny-2stage.toml"


@pytest.fixture
def run(tmp_path):
    """A run folder with one checkpoint (step 1: model + ema) per stage of CONFIG, written without training."""
    config = load_config(CONFIG, [f"train.output_dir={tmp_path / 'run'}"])
    for number, stage in enumerate(config.cascade.stages, start=1):
        weights = build_stage_network(stage, MINILM_DIM, number > 1).state_dict()
        save_checkpoint(tmp_path / f"run/stage-{number}/checkpoints", 1, {"model": weights, "ema": weights}, {})
    return tmp_path / "run"


def checkpoint(run, number):
    return run / f"stage-{number}/checkpoints/step-00000001"


def export(run, *args):
    return cli("export", CONFIG, "--set", f"train.output_dir={run}", *args)


def test_out_is_a_folder_with_other_files_it_is_refused_and_kept(run, tmp_path):
    victim = tmp_path / "notes"
    victim.mkdir()
    (victim / "notes.md").write_text("mine")
    assert_one_line_error(export(run, "--out", victim), f"{victim} is a folder that does not hold a saved cascade")
    assert (victim / "notes.md").read_text() == "mine"


def test_out_is_a_plain_file_it_is_refused_and_kept(run, tmp_path):
    image = tmp_path / "existing.png"
    image.write_bytes(b"png")
    assert_one_line_error(export(run, "--out", image), f"{image} is a file, not a folder")
    assert image.read_bytes() == b"png"


def test_out_holding_a_saved_cascade_is_replaced(run, tmp_path):
    out = tmp_path / "model"
    assert export(run, "--out", out, "--no-raw").exit_code == 0
    (out / "stage-1.safetensors").write_bytes(b"old")
    result = export(run, "--out", out, "--no-raw")
    assert result.exit_code == 0, result.output
    assert json.loads((out / "config.json").read_text())["format"] == "openimagen-cascade"
    assert (out / "stage-1.safetensors").stat().st_size > 3


def test_a_chosen_checkpoint_is_verified_against_its_state_json(run, tmp_path):
    ema = checkpoint(run, 1) / "ema.safetensors"
    data = bytearray(ema.read_bytes())
    data[-64:] = b"\xff" * 64                                     # same size, other values
    ema.write_bytes(bytes(data))
    result = export(run, "--checkpoint", f"1={checkpoint(run, 1)}", "--out", tmp_path / "out")
    assert_one_line_error(result, f"{ema} is damaged (sha256 differs")
    assert "choose another checkpoint for stage 1" in result.stderr
    assert not (tmp_path / "out").exists()


def test_a_checkpoint_of_another_stage_does_not_fit(run, tmp_path):
    result = export(run, "--checkpoint", f"1={checkpoint(run, 2)}", "--out", tmp_path / "out")
    assert_one_line_error(result, "does not fit stage 1's network")
    assert str(checkpoint(run, 2) / "ema.safetensors") in result.stderr


def test_a_stage_the_config_does_not_have(run, tmp_path):
    result = export(run, "--checkpoint", f"9={checkpoint(run, 1)}", "--out", tmp_path / "out")
    assert_one_line_error(result, "no stage 9; the config has stages 1..2")


def test_every_checkpoint_damaged_is_one_line_naming_the_file(run, tmp_path):
    ema = checkpoint(run, 1) / "ema.safetensors"
    ema.write_bytes(ema.read_bytes()[:100])
    assert_one_line_error(export(run, "--out", tmp_path / "out"), f"is damaged: checkpoint file {ema} is damaged")


def test_a_truncated_chosen_checkpoint_names_the_file(run, tmp_path):
    ema = checkpoint(run, 1) / "ema.safetensors"
    ema.write_bytes(ema.read_bytes()[:4])
    state = checkpoint(run, 1) / "state.json"
    state.write_text(json.dumps({**json.loads(state.read_text()), "sha256": {}}))   # as written before checksums
    result = export(run, "--checkpoint", f"1={checkpoint(run, 1)}", "--out", tmp_path / "out")
    assert_one_line_error(result, f"checkpoint file {ema} is damaged")


def test_a_failed_write_names_out_and_leaves_no_temp_folder(run, tmp_path, monkeypatch):
    import openimagen.cascade.pretrained as pretrained

    def full_disk(tensors, path, *args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pretrained, "save_file", full_disk)
    result = export(run, "--out", tmp_path / "model", "--no-raw")
    assert_one_line_error(result, f"cannot write {tmp_path / 'model'}: No space left on device")
    assert "free some space there or save to another folder" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_exported_weights_are_the_checkpoints(run, tmp_path):
    from safetensors.torch import load_file

    assert export(run, "--out", tmp_path / "model", "--no-raw").exit_code == 0
    exported = load_file(str(tmp_path / "model" / "stage-2.safetensors"))
    ema = load_file(str(checkpoint(run, 2) / "ema.safetensors"))
    assert exported.keys() == ema.keys() and all(torch.equal(exported[k], ema[k]) for k in ema)
