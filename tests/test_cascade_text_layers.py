"""Stages of one cascade may read different hidden states of its frozen encoder (cascade / stage
`text_encoder_layers`): each network is built for, trained on and sampled with exactly its own part."""

import pytest
import torch

from openimagen.cascade import SampleRandom, TextEmbedder, stage_loss
from openimagen.cascade.config import CascadeConfig, StageConfig
from openimagen.cascade.pipeline import Cascade
from openimagen.cascade.sampling import sample_stage
from openimagen.config import ConfigError
from cascade_helpers import WordEncoder, one_thread, perturb  # noqa: F401 - autouse fixture

D = WordEncoder.dim


class TwoLayerEncoder:
    """Stand-in for `load_encoder(layers=(0, -1))`: two 32-d blocks per token, the second a function of the first."""

    dim, max_length, id = 2 * D, WordEncoder.max_length, "two-layer-encoder"

    def encode(self, texts):
        emb, mask = WordEncoder().encode(texts)
        return torch.cat([emb, torch.tanh(2 * emb)], dim=-1), mask


def config(stage2_layers=(-1,), cascade_layers=(0, -1)) -> CascadeConfig:
    return CascadeConfig(stages=[StageConfig(resolution=8, network="tiny-test-base", steps=2),
                                 StageConfig(resolution=16, network="tiny-test-sr", steps=2,
                                             text_encoder_layers=list(stage2_layers))],
                         text_encoder_layers=list(cascade_layers))


def test_each_network_is_built_for_the_width_of_the_blocks_it_reads():
    torch.manual_seed(0)
    cascade = Cascade.from_config(config(), TwoLayerEncoder.dim, TextEmbedder(encoder=TwoLayerEncoder()))
    assert [n.config.text_dim for n in cascade.networks] == [2 * D, D]
    images = cascade(["a red circle", ""], seed=0)
    assert [im.size for im in images] == [(16, 16), (16, 16)]


def test_a_stage_samples_exactly_as_a_plain_stage_fed_its_own_block():
    stage = config().stages[1]
    plain = StageConfig(resolution=16, network="tiny-test-sr", steps=2)
    torch.manual_seed(0)
    network = perturb(Cascade.from_config(config(), TwoLayerEncoder.dim).networks[1])
    emb, mask = TwoLayerEncoder().encode(["a red circle", "two blue squares"])
    lowres = torch.rand(2, 3, 8, 8) * 2 - 1
    settings = dict(sampler="ddim", steps=2, guidance_scale=2.0, threshold="static", percentile=0.995, aug_level=0.2,
                    progress=False)
    mine = sample_stage(network, stage, emb, mask, lowres, torch.Generator().manual_seed(0), **settings)
    fed_last = sample_stage(network, plain, emb[..., D:], mask, lowres, torch.Generator().manual_seed(0), **settings)
    assert torch.equal(mine, fed_last)
    fed_first = sample_stage(network, plain, emb[..., :D], mask, lowres, torch.Generator().manual_seed(0), **settings)
    assert not torch.allclose(mine, fed_first)


def test_the_training_loss_reads_the_same_block():
    stage, plain = config(stage2_layers=(0,)).stages[1], StageConfig(resolution=16, network="tiny-test-sr")
    torch.manual_seed(0)
    network = perturb(Cascade.from_config(config(stage2_layers=(0,)), TwoLayerEncoder.dim).networks[1])
    emb, mask = TwoLayerEncoder().encode(["a red circle", "two blue squares"])
    images, lowres = torch.rand(2, 3, 16, 16) * 2 - 1, torch.rand(2, 3, 8, 8) * 2 - 1
    loss = stage_loss(network, stage, images, emb, mask, SampleRandom(0, [0, 1]), lowres=lowres)
    assert torch.equal(loss, stage_loss(network, plain, images, emb[..., :D], mask, SampleRandom(0, [0, 1]),
                                        lowres=lowres))


def test_the_choice_survives_save_and_load(tmp_path):
    torch.manual_seed(0)
    embedder = TextEmbedder(encoder=TwoLayerEncoder())
    cascade = Cascade.from_config(config(), TwoLayerEncoder.dim, embedder)
    cascade.networks = [perturb(n) for n in cascade.networks]
    cascade.save_pretrained(str(tmp_path / "model"))
    loaded = Cascade.from_pretrained(str(tmp_path / "model"), embedder=embedder)
    assert loaded.config.stages[1].text_encoder_layers == [-1] and loaded.config.text_encoder_layers == [0, -1]
    a, b = cascade(["a red circle"], seed=3)[0], loaded(["a red circle"], seed=3)[0]
    assert a.tobytes() == b.tobytes()


@pytest.mark.parametrize("stage_layers, cascade_layers, message", [
    ((3,), (0, -1), r"stages.2.text_encoder_layers=\[3\].*subset of cascade.text_encoder_layers=\[0, -1\]"),
    ((), (0, -1), "non-empty subset"),
    ((-1,), (-1, -1), "distinct hidden-state indices"),
])
def test_layers_a_stage_cannot_read_are_config_errors(stage_layers, cascade_layers, message):
    with pytest.raises(ConfigError, match=message):
        config(stage_layers, cascade_layers)
