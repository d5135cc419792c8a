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
