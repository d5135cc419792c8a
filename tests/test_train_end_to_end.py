"""End to end: a tiny 2-stage cascade (8 -> 16 px) trained through the CLI from a folder, exported, loaded, sampled;
bad files skipped and reported; an SR stage trained from WebDataset shards."""

import json

import numpy as np
import torch
from click.testing import CliRunner

from openimagen.cascade import Cascade, TextEmbedder
from openimagen.cli import main
from openimagen.data.synthetic import write_folder, write_shards
from openimagen.train import config_from_dict, train_stage
from cascade_helpers import WordEncoder, one_thread  # noqa: F401 - autouse fixture

CONFIG = """
[cascade]
max_text_length = 16
[[cascade.stages]]
resolution = 8
network = "tiny-test-base"
steps = 2
[[cascade.stages]]
resolution = 16
network = "tiny-test-sr"
crop_size = 8
steps = 2
[train]
output_dir = "{out}"
stages = [1, 2]
max_steps = 3
batch_size = 4
checkpoint_every = 3
sample_every = 3
progress = false
[data]
source = "{data}"
"""


def test_train_export_load_and_sample_a_two_stage_cascade(tmp_path):
    write_folder(str(tmp_path / "data"), 6, size=(20, 16))
    config = tmp_path / "tiny.toml"
    config.write_text(CONFIG.format(out=tmp_path / "run", data=tmp_path / "data"))
    result = CliRunner().invoke(main, ["train", str(config)])
    assert result.exit_code == 0, result.output
    assert "stage 1: step 3 (done)" in result.output and "stage 2: step 3 (done)" in result.output
    for stage in (1, 2):
        assert (tmp_path / f"run/stage-{stage}/checkpoints/samples-step-00000003.png").is_file()
    cascade = Cascade.from_pretrained(tmp_path / "run" / "cascade")
    stages = cascade(["image 1", "image 2"], num_images_per_prompt=2, seed=0, return_all_stages=True,
                     progress=False)
    assert [im.size for im in stages[1]] == [(8, 8)] * 4 and [im.size for im in stages[2]] == [(16, 16)] * 4
    pixels = np.stack([np.asarray(im, dtype=np.float32) for im in stages[2]])
    assert np.isfinite(pixels).all() and pixels.std() > 0


def test_cli_reports_a_misspelled_config_key_and_exits_2(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text(CONFIG.format(out=tmp_path / "run", data=tmp_path).replace("max_steps = 3", "max_step = 3"))
    result = CliRunner().invoke(main, ["train", str(config)])
    assert result.exit_code == 2
    assert "unknown config key 'train.max_step' (did you mean 'max_steps'?)" in result.output


def test_cli_set_override_with_a_bad_value_names_the_key(tmp_path):
    config = tmp_path / "ok.toml"
    config.write_text(CONFIG.format(out=tmp_path / "run", data=tmp_path))
    result = CliRunner().invoke(main, ["train", str(config), "--set", "train.lr=-1"])
    assert result.exit_code == 2 and "train.lr: must be > 0" in result.output


def test_unreadable_files_are_skipped_counted_and_reported_by_the_run(tmp_path):
    write_folder(str(tmp_path / "data"), 4, size=(20, 16))
    (tmp_path / "data" / "broken.png").write_text("not an image")
    (tmp_path / "data" / "broken.txt").write_text("a caption")
    (tmp_path / "data" / "empty.jpg").write_bytes(b"")
    (tmp_path / "data" / "empty.txt").write_text("another caption")
    config = tmp_path / "tiny.toml"
    config.write_text(CONFIG.format(out=tmp_path / "run", data=tmp_path / "data"))
    result = CliRunner().invoke(main, ["train", str(config), "--stage", "1", "--set", "train.sample_every=0"])
    assert result.exit_code == 0, result.output
    assert "stage 1: step 3 (done)" in result.output
    assert "skipped 2 inputs" in result.output and "broken.png" in result.output and "empty.jpg" in result.output


def test_an_sr_stage_trains_from_webdataset_shards_and_resumes_its_data_position(tmp_path):
    write_shards(str(tmp_path / "shards"), 2, 3, size=(20, 16))
    raw = {"cascade": {"stages": [{"resolution": 8, "network": "tiny-test-base"},
                                  {"resolution": 16, "network": "tiny-test-sr", "crop_size": 8}]},
           "train": {"output_dir": str(tmp_path / "run"), "max_steps": 2, "batch_size": 4, "progress": False},
           "data": {"source": str(tmp_path / "shards" / "{00000..00001}.tar")}}
    embedder = TextEmbedder(encoder=WordEncoder())
    first = train_stage(config_from_dict(raw), 2, embedder=embedder)
    raw["train"]["max_steps"] = 3
    resumed = train_stage(config_from_dict(raw), 2, embedder=embedder)
    assert (first.step, resumed.step) == (2, 3)
    state = json.loads((resumed.checkpoint / "state.json").read_text())
    assert state["data"]["taken"] == 12 and state["extra"]["stage"] == 2   # 3 steps x 4 samples, 6 per epoch


def test_export_picks_a_chosen_checkpoint_and_stores_float16(tmp_path):
    write_folder(str(tmp_path / "data"), 6, size=(20, 16))
    config = tmp_path / "tiny.toml"
    config.write_text(CONFIG.format(out=tmp_path / "run", data=tmp_path / "data"))
    assert CliRunner().invoke(main, ["train", str(config), "--set", "train.sample_every=0"]).exit_code == 0
    first = tmp_path / "run/stage-1/checkpoints/step-00000003"
    result = CliRunner().invoke(main, ["export", str(config), "--checkpoint", f"1={first}", "--fp16", "--no-raw",
                                       "--out", str(tmp_path / "small")])
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in (tmp_path / "small").iterdir())
    assert names == ["config.json", "stage-1.safetensors", "stage-2.safetensors"]
    from safetensors.torch import load_file
    exported = load_file(str(tmp_path / "small" / "stage-1.safetensors"))
    ema = load_file(str(first / "ema.safetensors"))
    assert all(exported[k].dtype == torch.float16 and torch.equal(exported[k], ema[k].half()) for k in ema
               if ema[k].is_floating_point())
    bad = CliRunner().invoke(main, ["export", str(config), "--checkpoint", "one=x"])
    assert bad.exit_code == 2 and "expected STAGE=DIR" in bad.output


def test_a_network_with_dropout_resumes_bit_identically(tmp_path):
    from openimagen.nn import config_to_dict, get_preset

    write_folder(str(tmp_path / "data"), 6, size=(12, 10))
    network = {**config_to_dict(get_preset("tiny-test-base")), "dropout": 0.1}

    def run(out, max_steps):
        config = config_from_dict({
            "cascade": {"stages": [{"resolution": 8, "network": network, "steps": 2}]},
            "train": {"output_dir": str(out), "max_steps": max_steps, "batch_size": 2, "checkpoint_every": 2,
                      "progress": False, "lr": 1e-3},
            "data": {"source": str(tmp_path / "data")}})
        return train_stage(config, 1, embedder=TextEmbedder(encoder=WordEncoder())).model.state_dict()

    straight = run(tmp_path / "straight", 4)
    run(tmp_path / "resumed", 2)
    resumed = run(tmp_path / "resumed", 4)
    assert all(torch.equal(straight[k], resumed[k]) for k in straight)
