"""Sampling the chain and save/load of a cascade (tiny random networks, 8 -> 16 px, 2 steps)."""

import copy
import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from openimagen.cascade.pipeline import Cascade
from openimagen.cascade.text_embedder import TextEmbedder
from cascade_helpers import WordEncoder, perturb, tiny_cascade, one_thread  # noqa: F401 - autouse fixture


def arrays(images):
    return [np.asarray(im, dtype=np.float32) for im in images]


@pytest.fixture(scope="module")
def cascade():
    pipe = tiny_cascade()
    for number, network in enumerate(pipe.networks):
        perturb(network, seed=number)         # else every network outputs 0 and equality tests cannot fail
    return pipe


def test_the_test_networks_do_not_output_zero(cascade):
    out = cascade.networks[0](torch.randn(1, 3, 8, 8), torch.zeros(1), torch.randn(1, 2, 32),
                              torch.ones(1, 2, dtype=torch.bool))
    assert out.abs().mean() > 1e-3


def test_gamma_and_eta_reach_the_sampler(cascade):
    ancestral = [arrays(cascade(["red"], seed=0, sampler="ancestral", gamma=g, stop_at_stage=1, progress=False))[0]
                 for g in (0.0, 1.0)]
    ddim = [arrays(cascade(["red"], seed=0, sampler="ddim", eta=e, stop_at_stage=1, progress=False))[0]
            for e in (0.0, 1.0)]
    assert not np.array_equal(*ancestral) and not np.array_equal(*ddim)
    configured = Cascade(copy.deepcopy(cascade.config), cascade.networks, cascade.embedder)
    configured.config.stages[0].gamma = 1.0
    same = arrays(configured(["red"], seed=0, sampler="ancestral", stop_at_stage=1, progress=False))[0]
    assert np.array_equal(same, ancestral[1])                   # the stage config's gamma is the default


def test_guidance_interval_all_none_or_some_of_the_steps(cascade):
    def run(**settings):
        return arrays(cascade(["red"], seed=0, sampler="ddim", steps=4, stop_at_stage=1, progress=False,
                              **settings))[0]

    guided, unguided = run(guidance_scale=4.0), run(guidance_scale=1.0)
    assert np.array_equal(run(guidance_scale=4.0, guidance_interval=(-100.0, 100.0)), guided)
    assert np.array_equal(run(guidance_scale=4.0, guidance_interval=(None, None)), guided)
    assert np.array_equal(run(guidance_scale=4.0, guidance_interval=(50.0, None)), unguided)   # no step that clean
    part = run(guidance_scale=4.0, guidance_interval=(None, 0.0))           # the high-noise steps only
    assert not np.array_equal(part, guided) and not np.array_equal(part, unguided)
    configured = Cascade(copy.deepcopy(cascade.config), cascade.networks, cascade.embedder)
    configured.config.stages[0].guidance_interval = (None, 0.0)
    assert np.array_equal(arrays(configured(["red"], seed=0, sampler="ddim", steps=4, stop_at_stage=1,
                                            guidance_scale=4.0, progress=False))[0], part)   # the stage's default


def test_an_infinite_bound_is_an_open_one():
    from openimagen.cascade.config import StageConfig

    stage = StageConfig(resolution=8, network="tiny-test", guidance_interval=[-4.0, float("inf")])   # TOML's inf
    assert stage.guidance_interval == (-4.0, None)
    assert StageConfig(resolution=8, network="tiny-test", guidance_interval=[-math.inf, 1]).guidance_interval == (None, 1.0)


@pytest.mark.parametrize("bad", [(1.0, 0.0), (0.0,), (float("nan"), 1.0), "0,1", (True, 2.0), (math.inf, 1.0),
                                 (0.0, -math.inf)])
def test_a_bad_guidance_interval_is_named(cascade, bad):
    from openimagen.cascade.config import StageConfig
    from openimagen.config import ConfigError

    with pytest.raises(ConfigError, match="guidance_interval"):
        cascade(["red"], guidance_interval=bad, stop_at_stage=1, progress=False)
    with pytest.raises(ConfigError, match="guidance_interval"):
        StageConfig(resolution=8, network="tiny-test", guidance_interval=bad)


def test_pipe_returns_a_flat_prompt_major_list_of_final_stage_images(cascade):
    images = cascade(["red circle", "blue square"], num_images_per_prompt=2, seed=0, progress=False)
    assert len(images) == 4 and all(im.size == (16, 16) and im.mode == "RGB" for im in images)
    one = cascade(["blue square"], num_images_per_prompt=2, seed=0, progress=False)
    assert len(one) == 2


def test_return_all_stages_and_stop_at_stage(cascade):
    stages = cascade(["red circle"], seed=1, return_all_stages=True, progress=False)
    assert sorted(stages) == [1, 2] and stages[1][0].size == (8, 8) and stages[2][0].size == (16, 16)
    low = cascade(["red circle"], seed=1, stop_at_stage=1, progress=False)
    assert np.array_equal(arrays(low)[0], arrays(stages[1])[0])


def test_same_seed_same_images_and_chunking_changes_nothing_for_a_deterministic_sampler(cascade):
    a = cascade(["red circle", "blue"], seed=3, max_batch_size=2, progress=False, sampler="ddim")
    b = cascade(["red circle", "blue"], seed=3, max_batch_size=2, progress=False, sampler="ddim")
    assert all(np.array_equal(x, y) for x, y in zip(arrays(a), arrays(b)))
    c = cascade(["red circle", "blue"], seed=4, max_batch_size=2, progress=False, sampler="ddim")
    assert not np.array_equal(arrays(a)[0], arrays(c)[0])


def test_start_stage_super_resolves_a_given_image(cascade):
    from PIL import Image

    picture = Image.new("RGB", (40, 30), (200, 30, 30))
    images = cascade(["red"], start_image=picture, start_stage=2, seed=0, progress=False)
    assert len(images) == 1 and images[0].size == (16, 16)
    with pytest.raises(ValueError, match="start_image is needed exactly when start_stage > 1"):
        cascade(["red"], start_stage=2, progress=False)


def test_stage_overrides_reach_the_stage_and_bad_keys_are_named(cascade):
    base = cascade(["red"], seed=0, progress=False)
    changed = cascade(["red"], seed=0, progress=False, stage_overrides={2: {"steps": 1}})
    assert not np.array_equal(arrays(base)[0], arrays(changed)[0])
    with pytest.raises(ValueError, match=r"stage_overrides\[2\] has unknown key\(s\) \['stepz'\]"):
        cascade(["red"], stage_overrides={2: {"stepz": 3}}, progress=False)


BAD_CALLS = [   # keywords of a call -> (error, words of its one-line message)
    (dict(prompts=None), TypeError, "prompts must be a str or a list of str, got NoneType"),
    (dict(prompts=b"red"), TypeError, "got bytes"),
    (dict(prompts=["red", 3]), TypeError, "a list item of type int"),
    (dict(prompts=[]), ValueError, "prompts is an empty list"),
    (dict(num_images_per_prompt=0), ValueError, "num_images_per_prompt must be an integer >= 1, got 0"),
    (dict(num_images_per_prompt=2.5), TypeError, "num_images_per_prompt must be an integer >= 1, got 2.5"),
    (dict(max_batch_size=0), ValueError, "max_batch_size must be an integer >= 1"),
    (dict(steps=2.5), TypeError, "steps must be an integer >= 1, got 2.5"),
    (dict(steps=0), ValueError, "steps must be an integer >= 1, got 0"),
    (dict(guidance_scale=math.nan), ValueError, "guidance_scale must be a finite number >= 0, got nan"),
    (dict(guidance_scale="3"), TypeError, "guidance_scale must be a number >= 0, got '3'"),
    (dict(aug_level=2.0), ValueError, r"aug_level must be a finite number in \[0, 1\], got 2.0"),
    (dict(gamma=5.0), ValueError, r"gamma must be a finite number in \[0, 1\]"),
    (dict(eta=-1.0), ValueError, "eta must be a finite number >= 0"),
    (dict(threshold="dyn"), ValueError, r"threshold must be one of \['dynamic', 'static', 'none'\], got 'dyn'"),
    (dict(sampler="dpm"), ValueError, "sampler: unknown sampler 'dpm'"),
    (dict(stage_overrides={5: {"steps": 1}}), ValueError, r"stage_overrides: stage numbers are 1..2 \(1-based\), got 5"),
    (dict(stage_overrides={1: 3}), TypeError, r"stage_overrides\[1\] must be a dict"),
    (dict(stage_overrides={2: {"percentile": 2.0}}), ValueError,
     r"stage_overrides\[2\]\['percentile'\] must be a finite number in \[0.5, 1\], got 2.0"),
    (dict(seed="0"), TypeError, "seed must be an integer in 0..2\\^64-1 or None"),
    (dict(seed=1.5), TypeError, "seed must be an integer"),
    (dict(seed=2**64), ValueError, "seed must be in 0..2\\^64-1"),
    (dict(seed=-1), ValueError, "seed must be in 0..2\\^64-1"),
    (dict(stop_at_stage=0), ValueError, "stop_at_stage must be an integer >= 1, got 0"),
    (dict(stop_at_stage=3), ValueError, r"stop_at_stage must be in 1..2 \(the cascade's stages\), got 3"),
    (dict(start_stage=0), ValueError, "start_stage must be an integer >= 1, got 0"),
    (dict(start_stage=2, start_image=torch.zeros(3, 8, 8)), TypeError,
     "start_image must be a PIL image or a list of PIL images, got Tensor"),
    (dict(start_stage=2, start_image="low.png"), TypeError, "got str .read a file with PIL.Image.open"),
]


@pytest.mark.parametrize("keywords, error, message", BAD_CALLS)
def test_a_bad_argument_is_one_line_naming_it_before_any_sampling(cascade, monkeypatch, keywords, error, message):
    monkeypatch.setattr(Cascade, "_sample_chain", lambda *args: pytest.fail("sampled despite a bad argument"))
    keywords = {"prompts": ["red"], "progress": False, **keywords}
    with pytest.raises(error, match=message) as raised:
        cascade(**keywords)
    assert "\n" not in str(raised.value)


def test_a_numpy_seed_and_a_tuple_of_prompts_are_fine(cascade):
    images = cascade(("red", "blue"), seed=np.int64(3), stop_at_stage=1, progress=False)
    assert arrays(images)[0].tolist() == arrays(cascade(["red"], seed=3, stop_at_stage=1, progress=False))[0].tolist()


def test_save_and_load_round_trip_gives_identical_samples_without_pickle(cascade, tmp_path):
    cascade.save_pretrained(tmp_path / "model", raw_networks=cascade.networks)
    names = sorted(p.name for p in (tmp_path / "model").iterdir())
    assert names == ["config.json", "stage-1.raw.safetensors", "stage-1.safetensors", "stage-2.raw.safetensors",
                     "stage-2.safetensors"]
    mask = os.umask(0o022)   # a shared model folder must be readable by others, not 0600 as mkstemp/safetensors make
    cascade.save_pretrained(tmp_path / "model", raw_networks=cascade.networks)
    os.umask(mask)
    assert {oct(p.stat().st_mode & 0o777) for p in (tmp_path / "model").iterdir()} == {"0o644"}
    assert json.loads((tmp_path / "model" / "config.json").read_text())["stages"][1]["network"]["lowres_cond"]
    loaded = Cascade.from_pretrained(tmp_path / "model", embedder=TextEmbedder(encoder=WordEncoder()))
    a = cascade(["red circle"], seed=5, progress=False)
    b = loaded(["red circle"], seed=5, progress=False)
    assert np.array_equal(arrays(a)[0], arrays(b)[0])
    raw = Cascade.from_pretrained(tmp_path / "model", weights="raw", embedder=TextEmbedder(encoder=WordEncoder()))
    assert torch.equal(raw.networks[0].state_dict()["input_conv.weight"],
                       cascade.networks[0].state_dict()["input_conv.weight"])


def test_loading_a_folder_without_config_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a saved cascade"):
        Cascade.from_pretrained(tmp_path)


def test_saving_never_deletes_a_file_or_a_folder_that_is_not_a_saved_cascade(cascade, tmp_path):
    from openimagen.cascade.pretrained import SaveError

    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.md").write_text("keep me")
    (tmp_path / "image.png").write_bytes(b"png")
    with pytest.raises(SaveError, match="does not hold a saved cascade"):
        cascade.save_pretrained(tmp_path / "notes")
    with pytest.raises(SaveError, match="is a file, not a folder"):
        cascade.save_pretrained(tmp_path / "image.png")
    assert (tmp_path / "notes" / "todo.md").read_text() == "keep me"
    assert (tmp_path / "image.png").read_bytes() == b"png"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["image.png", "notes"]


def test_a_failed_save_leaves_the_old_folder_and_no_temp_behind(cascade, tmp_path, monkeypatch):
    from openimagen.cascade import pretrained

    cascade.save_pretrained(tmp_path / "model")
    before = (tmp_path / "model" / "stage-1.safetensors").read_bytes()

    def full_disk(tensors, filename):
        Path(filename).write_bytes(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pretrained, "save_file", full_disk)
    with pytest.raises(pretrained.SaveError, match=r"cannot write .*model: No space left on device"):
        cascade.save_pretrained(tmp_path / "model")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]
    assert (tmp_path / "model" / "stage-1.safetensors").read_bytes() == before


def test_float16_storage_halves_the_files_and_samples_in_float32(cascade, tmp_path):
    cascade.save_pretrained(tmp_path / "fp32")
    cascade.save_pretrained(tmp_path / "fp16", dtype=torch.float16)
    size = lambda name: (tmp_path / name / "stage-1.safetensors").stat().st_size  # noqa: E731
    assert size("fp16") < 0.6 * size("fp32")
    loaded = Cascade.from_pretrained(tmp_path / "fp16", embedder=TextEmbedder(encoder=WordEncoder()))
    weight = loaded.networks[0].state_dict()["input_conv.weight"]
    assert weight.dtype == torch.float32
    assert torch.equal(weight, cascade.networks[0].state_dict()["input_conv.weight"].half().float())
    a = arrays(cascade(["red circle"], seed=5, progress=False))[0].astype(float)
    b = arrays(loaded(["red circle"], seed=5, progress=False))[0].astype(float)
    assert np.abs(a - b).mean() < 2.0          # fp16 rounding of the weights moves pixels by ~1/255 at most


@pytest.mark.parametrize("device, error, message", [
    ("nope", ValueError, "device must be a torch device such as 'cpu'.*got 'nope'"),
    ("cuda:99", ValueError, "device 'cuda:99' is not available on this machine"),
    (torch.bfloat16, TypeError, "got the dtype torch.bfloat16"),
])
def test_a_bad_device_is_named_not_blamed_on_the_weights_file(cascade, tmp_path, device, error, message):
    cascade.save_pretrained(tmp_path / "model")
    with pytest.raises(error, match=message):
        Cascade.from_pretrained(tmp_path / "model", device=device)
    with pytest.raises(error, match=message):
        copy.copy(cascade).to(device)


def test_a_16_bit_or_float_start_image_is_scaled_like_training_data_not_clipped_white(cascade):
    from PIL import Image

    ramp = np.linspace(0, 65535, 16 * 16).reshape(16, 16).astype(np.uint16)
    eight_bit = cascade(["red"], start_image=Image.fromarray((ramp >> 8).astype(np.uint8)).convert("RGB"),
                        start_stage=2, seed=0, progress=False)
    for image in (Image.fromarray(ramp), Image.fromarray((ramp / 65535).astype(np.float32))):
        assert image.mode in ("I;16", "F")
        same = cascade(["red"], start_image=image, start_stage=2, seed=0, progress=False)
        assert np.abs(arrays(same)[0] - arrays(eight_bit)[0]).max() <= 2


def test_an_embedder_of_another_width_is_named_before_any_network_runs(cascade):
    class Wide(WordEncoder):
        dim = 48

    other = Cascade(cascade.config, cascade.networks, TextEmbedder(encoder=Wide()))
    with pytest.raises(ValueError, match="the embedder gives 48-wide text tokens but stage 1's network reads 32-wide"):
        other(["red"], seed=0, progress=False)


def test_on_batch_and_save_dtype_are_checked_before_any_work(cascade, tmp_path):
    with pytest.raises(TypeError, match="on_batch must be a function .first_index, images. or None, got list"):
        cascade(["red"], on_batch=[], progress=False)
    for dtype in ("float16", torch.int8):
        with pytest.raises(ValueError, match="dtype must be None, torch.float32, torch.float16 or torch.bfloat16"):
            cascade.save_pretrained(tmp_path / "model", dtype=dtype)
        assert not (tmp_path / "model").exists()
    from openimagen.cascade.pretrained import save_cascade

    with pytest.raises(ValueError, match="dtype must be None"):               # the library function itself
        save_cascade(cascade, tmp_path / "model", dtype=torch.int8)


def test_constructing_a_cascade_names_a_wrong_config_network_embedder_or_folder(cascade):
    with pytest.raises(TypeError, match="config must be a CascadeConfig .* got dict"):
        Cascade({"stages": []}, cascade.networks)
    with pytest.raises(TypeError, match="networks must be torch modules, one per stage"):
        Cascade(cascade.config, [None, None])
    with pytest.raises(TypeError, match=r"embedder must be a TextEmbedder \(or None: the config's text encoder\), got str"):
        Cascade(cascade.config, cascade.networks, "minilm")
    with pytest.raises(TypeError, match="directory must be the path of a saved cascade folder .* got NoneType"):
        Cascade.from_pretrained(None)
