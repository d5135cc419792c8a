"""Networks: shapes in = shapes out for every preset, paper parameter counts, configs and their JSON round trip."""
import json

import pytest
import torch

from openimagen.nn import (EfficientUNetConfig, UNetConfig, build_network, config_from_dict, config_to_dict,
                           count_parameters, example_inputs, get_preset, network_stats, preset_names)

PAPER_PARAMS = {"imagen-base-2b": 2.0e9, "imagen-sr256": 600e6, "imagen-sr1024": 400e6}   # Imagen Sec. 2.4-2.5
BIG = ("imagen-", "small-")
VALID_LEVELS = dict(channel_mults=(1, 2, 4), num_res_blocks=1, self_attn_levels=False, cross_attn_levels=False)


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny nets: one thread is faster, and immune to OpenMP spin-waits when the CPU is shared (2 threads under
    load measured ~50x slower here)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _build(name, device="cpu", **overrides):
    with torch.device(device):
        return build_network(get_preset(name, **overrides))


@pytest.mark.parametrize("name", preset_names())
def test_every_preset_maps_inputs_to_outputs_of_the_same_shape_at_several_sizes(name):
    device = "meta" if name.startswith(BIG) else "cpu"
    net = _build(name, device).eval()
    factor = net.config.downsample_factor
    for size in (factor, 2 * factor, 3 * factor):
        if device == "cpu" and size > 32:
            continue
        inputs = example_inputs(net, size, batch_size=2, text_len=5)
        with torch.no_grad():
            out = net(**inputs)
        assert out.shape == inputs["x"].shape and out.device.type == device
        if device == "cpu":
            assert torch.isfinite(out).all()


@pytest.mark.parametrize("name", sorted(PAPER_PARAMS))
def test_paper_presets_have_the_papers_parameter_counts_within_15_percent(name):
    params = count_parameters(_build(name, "meta"))
    assert abs(params / PAPER_PARAMS[name] - 1) < 0.15, f"{name}: {params / 1e6:.0f}M"


def test_sr1024_preset_has_no_self_attention_and_cross_attention_only_at_the_lowest_level():
    config = get_preset("imagen-sr1024")
    assert not any(config.self_attn_levels)
    assert config.cross_attn_levels == (False,) * (len(config.channel_mults) - 1) + (True,)
    names = [n for n, _ in _build("imagen-sr1024", "meta").named_modules()]
    assert not any(n.endswith("self_attn") for n in names) and any(n.endswith("cross_attn") for n in names)


def test_image_size_not_divisible_by_the_downsampling_factor_is_rejected_with_the_factor_named():
    net = _build("tiny-test-base")
    inputs = example_inputs(net, 9)
    with pytest.raises(ValueError, match="divisible.*factor 2"):
        net(**inputs)


def test_wrong_text_dim_and_missing_lowres_are_rejected_naming_the_input():
    net = _build("tiny-test-sr")
    inputs = example_inputs(net, 8)
    with pytest.raises(ValueError, match="text_emb"):
        net(**{**inputs, "text_emb": torch.randn(1, 5, 7), "text_mask": torch.ones(1, 5, dtype=torch.bool)})
    with pytest.raises(ValueError, match="lowres"):
        net(**{**inputs, "lowres": None})


@pytest.mark.parametrize("name", preset_names())
def test_config_round_trips_through_json(name):
    config = get_preset(name, text_dim=77)
    d = json.loads(json.dumps(config_to_dict(config)))
    assert d["kind"] in ("unet", "efficient_unet")
    assert config_from_dict(d) == config


def test_unknown_config_key_is_an_error_naming_the_key():
    d = config_to_dict(get_preset("tiny-base"))
    with pytest.raises(ValueError, match="num_res_blokcs"):
        config_from_dict({**d, "num_res_blokcs": 3})
    with pytest.raises(ValueError, match="kind"):
        config_from_dict({k: v for k, v in d.items() if k != "kind"})
    with pytest.raises(ValueError, match="bogus"):
        get_preset("tiny-base", bogus=1)


def test_a_misspelled_preset_kind_or_key_gets_a_suggestion():
    with pytest.raises(ValueError, match=r"preset 'tiny-bsae' \(did you mean 'tiny-base'\?\); choose one of"):
        get_preset("tiny-bsae")
    with pytest.raises(ValueError, match=r"kind 'efficient-unet' \(did you mean 'efficient_unet'\?\)"):
        config_from_dict({"kind": "efficient-unet"})
    with pytest.raises(ValueError, match=r"\['num_res_blokcs'\] in unet config \(did you mean 'num_res_blocks'\?\)"):
        config_from_dict({"kind": "unet", "num_res_blokcs": 3})


@pytest.mark.parametrize("kwargs, field", [
    (dict(channel_mults=(1, 2), num_res_blocks=(1, 2, 3)), "num_res_blocks"),
    (dict(base_channels=0), "base_channels"),
    (dict(lowres_upsample="nearest"), "lowres_upsample"),
    (dict(self_attn_levels=(True, 1, False)), "self_attn_levels"),
    (dict(dropout=1.5), "dropout"),
])
def test_invalid_config_fields_are_rejected_naming_the_field(kwargs, field):
    for cls in (UNetConfig, EfficientUNetConfig):
        with pytest.raises(ValueError, match=field):
            cls(**(VALID_LEVELS | kwargs))


def test_stats_counts_params_and_flops_that_match_a_hand_count_for_a_single_conv():
    net = _build("tiny-test-base")
    stats = network_stats(net, 16, batch_size=2)
    assert stats.params == sum(p.numel() for p in net.parameters())
    # The output conv alone: 2 FLOPs per multiply-add, out_channels x in_channels x 3 x 3 per pixel.
    out_conv = net.out[-1]
    conv_flops = 2 * 2 * 16 * 16 * out_conv.out_channels * out_conv.in_channels * 9
    assert stats.flops_per_forward > conv_flops
    double = network_stats(net, 16, batch_size=4)
    assert double.flops_per_forward == 2 * stats.flops_per_forward   # FLOPs are linear in the batch
    bigger = network_stats(net, 32, batch_size=2)
    assert 3.5 <= bigger.flops_per_forward / stats.flops_per_forward < 6   # ~area, plus quadratic self-attention


def test_preset_overrides_rederive_the_conditioning_width_unless_it_was_set():
    assert get_preset("tiny-base", base_channels=48).cond_width == 4 * 48
    assert get_preset("tiny-base", base_channels=48, cond_dim=40).cond_width == 40
    assert get_preset("imagen-base-2b", base_channels=256).cond_width == 1024   # the preset fixes cond_dim
