"""The training config: typed, validated, TOML + `--set` overrides, errors that name the key."""

import pytest

from openimagen.train.config import load_config
from openimagen.config import ConfigError

BASE = """
[cascade]
text_encoder = "minilm"
[[cascade.stages]]
resolution = 16
network = "tiny-test-base"
[[cascade.stages]]
resolution = 32
network = "tiny-test-sr"
crop_size = 16
[train]
output_dir = "runs/x"
max_steps = 10
batch_size = 4
[data]
source = "images/"
"""


def write(tmp_path, text):
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_valid_config_loads_with_typed_values(tmp_path):
    config = load_config(write(tmp_path, BASE))
    assert config.train.max_steps == 10 and config.train.lr == 1e-4
    assert [s.resolution for s in config.cascade.stages] == [16, 32]
    assert config.cascade.stages[1].crop_size == 16
    assert config.cascade.lowres_resolution(2) == 16


@pytest.mark.parametrize("section, bad, suggestion", [("[train]", "lrr = 0.1", "lr"),
                                                      ("[data]", "sourc = 'x'", "source")])
def test_misspelled_key_is_an_error_naming_it_and_suggesting_the_right_one(tmp_path, section, bad, suggestion):
    text = BASE.replace(section, f"{section}\n{bad}")
    with pytest.raises(ConfigError, match=rf"{bad.split()[0]}.*did you mean '{suggestion}'"):
        load_config(write(tmp_path, text))


def test_unknown_stage_key_names_its_stage(tmp_path):
    text = BASE.replace("crop_size = 16", "crop_sise = 16")
    with pytest.raises(ConfigError, match=r"cascade\.stages\.2\.crop_sise"):
        load_config(write(tmp_path, text))


def test_wrong_type_names_the_field(tmp_path):
    with pytest.raises(ConfigError, match=r"train\.max_steps: expected int, got str"):
        load_config(write(tmp_path, BASE), ["train.max_steps='ten'"])


def test_out_of_range_value_names_the_field(tmp_path):
    with pytest.raises(ConfigError, match=r"train\.cond_drop_prob"):
        load_config(write(tmp_path, BASE), ["train.cond_drop_prob=1.5"])


def test_overrides_parse_toml_values_and_address_stages_one_based(tmp_path):
    config = load_config(write(tmp_path, BASE), ["train.lr=3e-4", "cascade.stages.2.aug_level=0.3",
                                                 "train.stages=[2]", "data.source=other/"])
    assert config.train.lr == 3e-4 and config.train.stages == [2]
    assert config.cascade.stages[1].aug_level == 0.3 and config.cascade.stages[0].aug_level == 0.2
    assert config.data.source == "other/"


def test_override_of_unknown_key_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="unknown config key 'train.warmup'"):
        load_config(write(tmp_path, BASE), ["train.warmup=10"])


def test_override_stage_index_out_of_range(tmp_path):
    with pytest.raises(ConfigError, match="not an index 1..2"):
        load_config(write(tmp_path, BASE), ["cascade.stages.3.steps=5"])


def test_training_a_stage_the_cascade_lacks_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="stage 3 does not exist"):
        load_config(write(tmp_path, BASE), ["train.stages=[3]"])


def test_bad_diffusion_field_is_reported_under_the_stage(tmp_path):
    with pytest.raises(ConfigError, match=r"cascade\.stages\.1\.diffusion: .*predictionn"):
        load_config(write(tmp_path, BASE), ["cascade.stages.1.diffusion.predictionn='v'"])


def test_batch_size_must_split_into_micro_batches_over_processes(tmp_path):
    config = load_config(write(tmp_path, BASE), ["train.batch_size=8", "train.micro_batch_size=2"])
    assert config.train.accumulation_steps(1) == 4 and config.train.accumulation_steps(2) == 2
    with pytest.raises(ConfigError, match="batch_size=8 is not a multiple"):
        config.train.accumulation_steps(3)


def test_missing_file_and_bad_toml_are_clear_errors(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match=r"config\.toml' is not valid TOML: .*line 1"):
        load_config(write(tmp_path, "[train\n"))


def test_a_config_that_is_not_utf8_names_the_file(tmp_path):
    path = tmp_path / "config.toml"
    path.write_bytes(BASE.replace("runs/x", "runs/\u00e9").encode("latin-1"))
    with pytest.raises(ConfigError, match=r"config file '.*config\.toml' line 12: not UTF-8 text \(byte 0xe9\); save"):
        load_config(path)


def test_a_config_that_cannot_be_read_names_the_file(tmp_path, monkeypatch):
    def refuse(self):
        raise PermissionError(13, "denied")

    path = write(tmp_path, BASE)
    monkeypatch.setattr(type(path), "read_bytes", refuse)
    with pytest.raises(ConfigError, match=r"config file '.*config\.toml' cannot be read \(denied\)"):
        load_config(path)


@pytest.mark.parametrize("network, message", [
    ('"tiny-nonexistent"', r"unknown network preset 'tiny-nonexistent'; choose one of \[.*'tiny-test-base'"),
    ('{ kind = "nope" }', r"unknown network kind 'nope'; expected one of \['efficient_unet', 'unet'\]"),
    ('{ kind = "unet", bogus = 1 }', r"unknown key\(s\) \['bogus'\] in unet config; valid keys: \[.*'base_channels'"),
])
def test_a_bad_network_names_the_stage_key_and_the_choices(tmp_path, network, message):
    text = BASE.replace('network = "tiny-test-base"', f"network = {network}")
    with pytest.raises(ConfigError, match=rf"cascade\.stages\.1\.network: {message}"):
        load_config(write(tmp_path, text))


@pytest.mark.parametrize("resume, problem", [("sometimes", "is not an existing folder"),
                                             (".", "is not a checkpoint folder")])
def test_resume_must_be_auto_never_or_a_checkpoint_folder(tmp_path, resume, problem):
    with pytest.raises(ConfigError, match=rf"train\.resume: '{resume}' {problem}.*'auto'.*'never'.*step-NNNNNNNN"):
        load_config(write(tmp_path, BASE), [f"train.resume={resume!r}"])
    (tmp_path / "step-00000001").mkdir()
    (tmp_path / "step-00000001" / "state.json").write_text("{}")
    assert load_config(write(tmp_path, BASE), [f"train.resume='{tmp_path / 'step-00000001'}'"]).train.resume


def test_data_source_may_be_a_table_passed_to_build_dataset(tmp_path):
    text = BASE.replace('source = "images/"', 'source = { type = "shapes", prompts = "specs.jsonl" }')
    assert load_config(write(tmp_path, text)).data.source == {"type": "shapes", "prompts": "specs.jsonl"}
    with pytest.raises(ConfigError, match=r"data\.source: .*matches none of"):
        load_config(write(tmp_path, BASE.replace('source = "images/"', "source = 3")))
