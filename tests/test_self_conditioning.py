"""Self-conditioning (Chen et al. 2022): the network's extra input, the training step's first pass, and the
sampler feeding each step the previous step's x0."""

import dataclasses

import numpy as np
import pytest
import torch

from openimagen import diffusion as D
from openimagen.cascade.config import StageConfig
from openimagen.cascade.pipeline import Cascade
from openimagen.cascade.randomness import SampleRandom
from openimagen.cascade.sampling import sample_stage
from openimagen.cascade.stage import build_stage_network, stage_loss
from openimagen.cascade.text_embedder import TextEmbedder
from openimagen.nn import config_to_dict, get_preset
from cascade_helpers import WordEncoder, one_thread, perturb, tiny_cascade_config  # noqa: F401 - autouse fixture

BASE = {**config_to_dict(get_preset("tiny-test-base")), "self_condition": True}


def _tiny(seed: int = 0):
    stage = StageConfig(resolution=8, network=BASE, steps=4, guidance_scale=3.0)
    torch.manual_seed(seed)
    return stage, perturb(build_stage_network(stage, 32, super_resolution=False))


def _inputs(batch: int = 4):
    z = torch.randn(batch, 3, 8, 8)
    return z, torch.linspace(-4, 4, batch), torch.randn(batch, 5, 32), torch.ones(batch, 5, dtype=torch.bool)


def test_the_estimate_is_an_input_and_none_means_zeros():
    _, network = _tiny()
    z, log_snr, emb, mask = _inputs()
    assert network.input_conv.in_channels == 6
    with torch.no_grad():
        none = network(z, log_snr, emb, mask)
        zeros = network(z, log_snr, emb, mask, self_cond=torch.zeros_like(z))
        seen = network(z, log_snr, emb, mask, self_cond=torch.rand_like(z))
    assert torch.equal(none, zeros) and not torch.allclose(none, seen)
    with pytest.raises(ValueError, match="shaped like x"):
        network(z, log_snr, emb, mask, self_cond=z[:, :1])
    plain = build_stage_network(StageConfig(resolution=8, network="tiny-test-base"), 32, super_resolution=False)
    with pytest.raises(ValueError, match="self_condition=False"):
        plain(z, log_snr, emb, mask, self_cond=z)


def test_first_pass_runs_without_gradients_on_the_chosen_rows_only():
    z, log_snr = torch.randn(4, 3, 2, 2), torch.tensor([-2.0, 0.0, 1.0, 3.0])
    weight = torch.tensor(2.0, requires_grad=True)
    calls = []

    def net_fn(z_rows, log_snr_rows, rows, self_cond):
        calls.append((rows.tolist(), self_cond.abs().sum().item(), torch.is_grad_enabled()))
        return weight * z_rows                                                 # a "v" prediction
    use = torch.tensor([True, False, True, False])
    estimate = D.first_pass_estimate(net_fn, z, log_snr, use, "v")
    assert calls == [([0, 2], 0.0, False)]                                      # zeros in, no graph
    expected = D.prediction_to_x0(2.0 * z[[0, 2]], z[[0, 2]], log_snr[[0, 2]], "v")
    assert torch.allclose(estimate[[0, 2]], expected) and not estimate[[1, 3]].any()
    assert not estimate.requires_grad
    assert not D.first_pass_estimate(net_fn, z, log_snr, torch.zeros(4, dtype=torch.bool), "v").any()
    assert len(calls) == 1                                                      # nobody chosen: no pass


def test_training_feeds_half_the_samples_their_own_first_pass_estimate():
    stage, network = _tiny()
    images, (_, _, emb, mask) = torch.rand(8, 3, 8, 8) * 2 - 1, _inputs(8)
    seen = []

    def spy(z, log_snr, text_emb, text_mask, self_cond=None):
        seen.append((z.shape[0], self_cond))
        return network(z, log_snr, text_emb, text_mask, self_cond=self_cond)
    rnd = SampleRandom(0, range(8))
    loss = stage_loss(spy, stage, images, emb, mask, rnd)
    loss.mean().backward()
    assert loss.shape == (8,) and torch.isfinite(loss).all()
    assert all(p.grad is not None for p in network.parameters() if p.requires_grad)
    (rows, first), (batch, second) = seen
    assert not first.any() and batch == 8
    used = second.flatten(1).abs().sum(1) > 0
    assert used.sum() == rows and 0 < rows < 8                                  # a random share, not all or none
    again = stage_loss(network, stage, images, emb, mask, SampleRandom(0, range(8)))
    assert torch.allclose(loss, again)                                          # the same draws for the same keys


def test_sampling_feeds_each_step_the_x0_of_the_step_before():
    _, network = _tiny()
    z, _, emb, mask = _inputs(2)
    inputs, outputs = [], []

    def spy(z, log_snr, text_emb, text_mask, self_cond=None):
        inputs.append(self_cond)
        return network(z, log_snr, text_emb, text_mask, self_cond=self_cond)
    previous = D.PreviousEstimate()
    cond = {"text_emb": emb, "text_mask": mask}
    uncond = {"text_emb": torch.zeros_like(emb), "text_mask": torch.zeros_like(mask)}
    denoise = previous.denoiser(D.guided_denoiser(previous.network(spy), cond, uncond, 3.0, "v"))

    def record(z, log_snr):
        outputs.append(denoise(z, log_snr))
        return outputs[-1]
    with torch.no_grad():
        D.sample(record, z, schedule=D.get_schedule("cosine"), sampler="ddim", steps=4, threshold="none",
                 progress=False)
    assert len(inputs) == 4 and inputs[0].shape == (4, 3, 8, 8) and not inputs[0].any()
    for step in range(1, 4):
        first, second = inputs[step].chunk(2)                                   # guided: both passes see it
        assert torch.equal(first, second) and torch.equal(first, outputs[step - 1].clamp(-1, 1))
    assert (outputs[0].abs() > 1).any()                                         # so the clip was exercised


def test_a_self_conditioned_stage_samples_with_its_estimates_deterministically():
    stage, network = _tiny()
    _, _, emb, mask = _inputs(2)
    seen = []

    def spy(z, log_snr, text_emb, text_mask, self_cond=None):
        seen.append(self_cond)
        return network(z, log_snr, text_emb, text_mask, self_cond=self_cond)
    spy.parameters = network.parameters
    settings = dict(sampler="dpmpp_2m", steps=3, guidance_scale=3.0, threshold="static", percentile=0.995,
                    aug_level=0.0, progress=False)
    run = [sample_stage(net, stage, emb, mask, None, torch.Generator().manual_seed(1), **settings)
           for net in (spy, network)]
    assert run[0].shape == (2, 3, 8, 8) and torch.equal(*run)
    assert len(seen) == 3 and not seen[0].any() and seen[1].any() and seen[2].any()


def test_a_self_conditioned_cascade_saves_loads_and_samples_the_same(tmp_path):
    config = tiny_cascade_config()
    first = dataclasses.replace(config.stages[0], network=BASE)
    config = dataclasses.replace(config, stages=[first, *config.stages[1:]])
    torch.manual_seed(0)
    cascade = Cascade.from_config(config, WordEncoder.dim, TextEmbedder(encoder=WordEncoder()))
    for network in cascade.networks:
        perturb(network)
    cascade.save_pretrained(tmp_path / "model")
    loaded = Cascade.from_pretrained(tmp_path / "model", embedder=TextEmbedder(encoder=WordEncoder()))
    assert loaded.networks[0].config.self_condition and loaded.networks[0].input_conv.in_channels == 6
    a, b = (np.asarray(c(["red circle"], seed=3, progress=False)[0]) for c in (cascade, loaded))
    assert np.array_equal(a, b)
