"""scripts/grow_stage.py: a grown network computes what the saved one computes and its new blocks can learn."""
import dataclasses
import importlib.util
from pathlib import Path

import pytest
import torch

from cascade_helpers import WordEncoder, perturb, tiny_cascade_config
from openimagen.cascade.pipeline import Cascade
from openimagen.cascade.pretrained import load_cascade, read_saved_config

ROOT = Path(__file__).resolve().parents[1]
# the shipped stage 1's shape in miniature (3 levels, attention at the lower two, text adapter, self-conditioning)
BASE = {"kind": "efficient_unet", "base_channels": 16, "channel_mults": [1, 2, 4], "num_res_blocks": [1, 2, 2],
        "head_dim": 16, "num_groups": 8, "self_attn_levels": [False, True, True],
        "cross_attn_levels": [False, True, True], "text_layers": 1, "text_width": 32, "text_residual": True,
        "self_condition": True}
spec = importlib.util.spec_from_file_location("grow_stage", ROOT / "scripts" / "grow_stage.py")
grow_stage = importlib.util.module_from_spec(spec)
spec.loader.exec_module(grow_stage)


@pytest.fixture
def saved(tmp_path):
    """A saved cascade with trained-looking (non-zero) weights everywhere, so equal outputs mean something."""
    config = tiny_cascade_config()
    config = dataclasses.replace(config, stages=[dataclasses.replace(config.stages[0], network=BASE),
                                                 *config.stages[1:]])
    torch.manual_seed(0)
    cascade = Cascade.from_config(config, WordEncoder.dim)
    for network in cascade.networks:
        perturb(network)
    cascade.save_pretrained(tmp_path / "saved")
    return tmp_path / "saved"


def stage_one_output(network):
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 32, 32, generator=generator)
    text = torch.randn(2, 7, network.config.text_dim, generator=generator)
    mask = torch.tensor([[True] * 7, [True] * 4 + [False] * 3])
    previous = torch.randn(2, 3, 32, 32, generator=generator)
    with torch.no_grad():
        return network.eval()(x, torch.tensor([0.5, -3.0]), text, mask, self_cond=previous)


@pytest.mark.parametrize("how, new_block", [
    (["--attn-every-block"], "down.1.attn.0."),
    (["--extra-res-block", "2"], "down.2.res.2."),
])
def test_grown_network_computes_the_same(saved, tmp_path, how, new_block):
    grow_stage.main([str(saved), str(tmp_path / "grown"), *how])
    before, grown = load_cascade(saved).networks[0], load_cascade(tmp_path / "grown").networks[0]
    assert sum(p.numel() for p in grown.parameters()) > sum(p.numel() for p in before.parameters())
    torch.testing.assert_close(stage_one_output(grown), stage_one_output(before), rtol=0, atol=1e-5)
    config = read_saved_config(tmp_path / "grown")
    assert config["cascade"]["stages"][0]["network"] == config["stages"][0]["network"]   # the trainer rebuilds it
    # the new block starts as the identity through its zero output weights, which still get gradients
    zero_out = {name: p for name, p in grown.named_parameters() if name.startswith(new_block) and p.dim() > 1
                and not p.any()}
    assert zero_out
    generator = torch.Generator().manual_seed(1)
    loss = grown.train()(torch.randn(1, 3, 32, 32, generator=generator), torch.zeros(1),
                         torch.randn(1, 3, grown.config.text_dim, generator=generator),
                         torch.ones(1, 3, dtype=torch.bool)).square().mean()
    loss.backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in zero_out.values())


def test_refuses_nothing_and_bad_levels(saved, tmp_path):
    with pytest.raises(SystemExit, match="nothing to grow"):
        grow_stage.main([str(saved), str(tmp_path / "out")])
    with pytest.raises(SystemExit, match="level must be in 0..2"):
        grow_stage.main([str(saved), str(tmp_path / "out"), "--extra-res-block", "3"])
    with pytest.raises(SystemExit, match="Efficient U-Nets only|has stages"):
        grow_stage.main([str(saved), str(tmp_path / "out"), "--stage", "3", "--attn-every-block"])
    assert not (tmp_path / "out").exists()
