"""Damaged model folders: `sample`, `info` and `Cascade.from_pretrained` name the file and what is wrong (exit 2)."""

import json
import os
import shutil

import pytest

from openimagen.cascade import Cascade
from openimagen.cascade.saved_folder import ModelFolderError
from cascade_helpers import one_thread  # noqa: F401 - autouse fixture
from cli_helpers import assert_one_line_error, cli, save_tiny_model


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    return save_tiny_model(tmp_path_factory.mktemp("cli") / "model")


def truncate(folder):
    path = folder / "stage-2.safetensors"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def random_bytes(folder):
    (folder / "stage-2.safetensors").write_bytes(os.urandom(4096))


def swap(folder):
    os.replace(folder / "stage-1.safetensors", folder / "tmp")
    os.replace(folder / "stage-2.safetensors", folder / "stage-1.safetensors")
    os.replace(folder / "tmp", folder / "stage-2.safetensors")


def overwrite_with_ff(folder):
    """Bytes overwritten in place (size and header kept): float32 0xFFFFFFFF is NaN."""
    path = folder / "stage-2.safetensors"
    data = path.read_bytes()
    path.write_bytes(data[:-1024] + b"\xff" * 1024)


def drop_stages(folder):
    config = json.loads((folder / "config.json").read_text())
    del config["stages"]
    (folder / "config.json").write_text(json.dumps(config))


def add_key(*where):
    """A damage that adds key "bogus" to the table of config.json at path `where`."""
    def damage(folder):
        config = json.loads((folder / "config.json").read_text())
        table = config
        for key in where:
            table = table[key]
        table["bogus"] = 1
        (folder / "config.json").write_text(json.dumps(config))
    damage.__name__ = "unknown_key_in_" + ("_".join(map(str, where)) or "top_level")
    return damage


def network_table_with_unknown_key(folder):
    """cascade.stages[0].network as a table (as a training config may give it) with a key no network has."""
    config = json.loads((folder / "config.json").read_text())
    config["cascade"]["stages"][0]["network"] = {**config["stages"][0]["network"], "bogus": 1}
    (folder / "config.json").write_text(json.dumps(config))


def unknown_preset(folder):
    config = json.loads((folder / "config.json").read_text())
    config["cascade"]["stages"][1]["network"] = "tiny-sr-from-the-future"
    (folder / "config.json").write_text(json.dumps(config))


def remove_stage_file(folder):
    (folder / "stage-2.safetensors").unlink()


DAMAGES = [(truncate, "stage-2.safetensors is not a readable safetensors file"),
           (random_bytes, "stage-2.safetensors is not a readable safetensors file"),
           (overwrite_with_ff, "contains NaN/inf values: the file is damaged"),
           (swap, "stage-1.safetensors does not fit stage 1's network in config.json"),
           (drop_stages, "config.json needs a 'stages' list with one record per stage"),
           (add_key(), "config.json: unknown key 'bogus'"),
           (add_key("stages", 0), "config.json: unknown key 'bogus' in stage 1's record"),
           (add_key("stages", 0, "network"), "config.json: unknown key 'bogus' in stage 1's network table"),
           (add_key("cascade"), "config.json: unknown config key 'cascade.bogus'"),
           (add_key("cascade", "stages", 1), "config.json: unknown config key 'cascade.stages.2.bogus'"),
           (unknown_preset, "config.json: cascade.stages.2.network 'tiny-sr-from-the-future' is no network preset"),
           (network_table_with_unknown_key, "config.json: unknown key 'bogus' in cascade.stages.1.network"),
           (remove_stage_file, "stage-2.safetensors is missing (stage 2's weights in config.json)")]


@pytest.fixture(params=DAMAGES, ids=[damage.__name__ for damage, _ in DAMAGES])
def damaged(request, pristine, tmp_path):
    damage, phrase = request.param
    folder = shutil.copytree(pristine, tmp_path / "model")
    damage(folder)
    return folder, phrase


def test_sample_names_the_file_and_the_damage(damaged, tmp_path):
    folder, phrase = damaged
    result = cli("sample", "a red circle", "--model", folder, "-o", tmp_path / "x.png")
    assert_one_line_error(result, phrase)
    assert len(result.stderr) < 500 and not (tmp_path / "x.png").exists()


def test_info_does_not_report_a_damaged_folder_as_fine(damaged):
    folder, phrase = damaged
    assert_one_line_error(cli("info", "--model", folder), phrase)


def test_from_pretrained_raises_one_error_naming_the_file(damaged):
    folder, phrase = damaged
    with pytest.raises((ModelFolderError, FileNotFoundError), match=phrase.replace("(", r"\(").replace(")", r"\)")):
        Cascade.from_pretrained(folder)
