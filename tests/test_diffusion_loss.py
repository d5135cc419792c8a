import pytest
import torch

from openimagen import diffusion as D


def test_low_discrepancy_times_cover_every_stratum_once():
    t = D.sample_times(16, low_discrepancy=True, generator=torch.Generator().manual_seed(0))
    assert sorted((t * 16).floor().long().tolist()) == list(range(16))


@pytest.mark.parametrize("prediction", D.PREDICTIONS)
def test_perfect_prediction_has_zero_loss(prediction):
    g = torch.Generator().manual_seed(0)
    x, noise = torch.rand(4, 3, 8, 8, generator=g) * 2 - 1, torch.randn(4, 3, 8, 8, generator=g)
    t = torch.tensor([0.1, 0.4, 0.6, 0.9])
    config = D.DiffusionConfig(prediction=prediction)
    oracle = lambda z, log_snr: D.training_target(x, noise, log_snr, prediction)
    loss = D.diffusion_loss(oracle, x, config, noise=noise, t=t)
    assert loss.shape == (4,) and loss.abs().max() < 1e-8
    wrong = D.diffusion_loss(lambda z, l: torch.zeros_like(z), x, config, noise=noise, t=t)
    assert wrong.min() > 1e-3


def test_min_snr_weighting_is_the_same_x0_loss_for_every_parameterization():
    # A model whose implied x0 is off by delta: min-SNR weights make the three losses equal min(snr, gamma)|delta|^2.
    g = torch.Generator().manual_seed(0)
    x, noise = torch.rand(4, 3, 8, 8, generator=g) * 2 - 1, torch.randn(4, 3, 8, 8, generator=g)
    delta = 0.1 * torch.randn(4, 3, 8, 8, generator=g)
    t = torch.tensor([0.05, 0.3, 0.6, 0.95])
    losses = []
    for prediction in D.PREDICTIONS:
        config = D.DiffusionConfig(prediction=prediction, loss_weighting="min_snr", min_snr_gamma=5.0)

        def model(z, log_snr, prediction=prediction):
            x0_hat = x + delta
            eps_hat = D.x0_to_eps(x0_hat, z, log_snr)
            return {"x0": x0_hat, "eps": eps_hat, "v": D.training_target(x0_hat, eps_hat, log_snr, "v")}[prediction]

        losses.append(D.diffusion_loss(model, x, config, noise=noise, t=t))
    log_snr = D.get_schedule("cosine").log_snr(t)
    expected = log_snr.exp().clamp(max=5.0) * delta.pow(2).flatten(1).mean(1)
    for loss in losses:
        torch.testing.assert_close(loss, expected, rtol=1e-3, atol=1e-6)
