"""`openimagen train` on data a user can fix: one line naming the source or file, exit code 2."""

import pytest

from openimagen.data.synthetic import write_folder
from cascade_helpers import one_thread  # noqa: F401 - autouse fixture
from cli_helpers import assert_one_line_error, cli

CONFIG = "configs/tiny-2stage.toml"


def train(tmp_path, *sets):
    args = [a for s in (f"train.output_dir={tmp_path / 'run'}", "train.max_steps=1", "train.batch_size=2",
                        "train.sample_every=0", "train.progress=false", *sets) for a in ("--set", s)]
    return cli("train", CONFIG, "--stage", 1, *args)


def test_a_data_source_that_does_not_exist(tmp_path):
    assert_one_line_error(train(tmp_path, f"data.source={tmp_path / 'nowhere'}"), "is not an existing folder")


def test_an_empty_data_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    assert_one_line_error(train(tmp_path, f"data.source={tmp_path / 'empty'}"), "no samples found")


@pytest.mark.slow
def test_a_damaged_cache_shard_is_named(tmp_path):
    write_folder(str(tmp_path / "images"), 2)
    (tmp_path / "captions.txt").write_text("image 0\nimage 1\n")
    assert cli("encode", tmp_path / "captions.txt", tmp_path / "cache", "--max-length", 32).exit_code == 0
    shard = tmp_path / "cache" / "shard-00000.safetensors"
    shard.write_bytes(shard.read_bytes()[:-8] + b"garbage!")
    result = train(tmp_path, f"data.source={tmp_path / 'images'}", f"data.embedding_cache={tmp_path / 'cache'}")
    assert_one_line_error(result, "shard-00000")


def test_a_config_that_is_not_utf8_is_one_line_naming_it(tmp_path):
    (tmp_path / "latin1.toml").write_bytes(b"[train]\noutput_dir = 'caf\xe9'\n")
    assert_one_line_error(cli("train", tmp_path / "latin1.toml"), "latin1.toml' line 2: not UTF-8 text (byte 0xe9)")


@pytest.mark.parametrize("setting, phrase", [
    ("cascade.stages.1.network='tiny-nonexistent'", "cascade.stages.1.network: unknown network preset"),
    ("cascade.stages.1.network={kind='nope'}", "cascade.stages.1.network: unknown network kind 'nope'"),
    ("cascade.stages.1.network={kind='unet', bogus=1}", "cascade.stages.1.network: unknown key(s) ['bogus']"),
    ("train.resume='sometimes'", "train.resume: 'sometimes' is not an existing folder; use 'auto'"),
])
def test_a_config_mistake_is_exit_2_naming_the_key(tmp_path, setting, phrase):
    result = train(tmp_path, f"data.source={tmp_path}", setting)
    assert_one_line_error(result, phrase)
    assert result.exit_code == 2 and "--debug" not in result.stderr


def test_a_text_encoder_that_cannot_be_loaded_is_exit_2(tmp_path):
    write_folder(str(tmp_path / "images"), 2)
    result = train(tmp_path, f"data.source={tmp_path / 'images'}", f"cascade.text_encoder='{tmp_path / 'no_enc'}'")
    assert_one_line_error(result, "is not a folder; pass a folder written by save_pretrained")
    assert result.exit_code == 2 and "--debug" not in result.stderr


def test_a_data_folder_whose_captions_are_all_empty_is_one_line_saying_so(tmp_path):
    write_folder(str(tmp_path / "images"), 2)
    for caption in (tmp_path / "images").glob("*.txt"):
        caption.write_text("\n")
    result = train(tmp_path, f"data.source={tmp_path / 'images'}")
    assert_one_line_error(result, "no usable samples, all 2 inputs skipped (2 empty_caption)")


def test_a_final_export_that_cannot_be_written_is_one_line_naming_the_folder(tmp_path, monkeypatch):
    from openimagen.cascade import pretrained

    def full_disk(tensors, filename):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pretrained, "save_file", full_disk)
    write_folder(str(tmp_path / "images"), 2)
    args = [a for s in (f"train.output_dir={tmp_path / 'run'}", "train.max_steps=1", "train.batch_size=2",
                        "train.sample_every=0", "train.progress=false", f"data.source={tmp_path / 'images'}")
            for a in ("--set", s)]
    result = cli("train", CONFIG, *args)
    assert_one_line_error(result, f"cannot write {tmp_path / 'run' / 'cascade'}: No space left on device")
    assert sorted(p.name for p in (tmp_path / "run").iterdir() if p.name.startswith(".cascade")) == []


def test_a_caption_longer_than_the_encoder_reads_is_one_plain_warning(tmp_path):
    write_folder(str(tmp_path / "images"), 2)
    (tmp_path / "images" / "00000.txt").write_text("a very long caption " * 20)
    result = train(tmp_path, f"data.source={tmp_path / 'images'}")
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stderr.splitlines() if "truncated" in line]
    assert len(lines) == 1 and lines[0].startswith("warning: "), result.stderr
    assert "TruncationWarning" not in result.stderr
