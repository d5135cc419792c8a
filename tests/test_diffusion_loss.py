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


@pytest.mark.parametrize("weighting, x0_weight", [("min_snr", lambda snr: snr.clamp(max=5.0)),
                                                  ("clamped_snr", lambda snr: snr.clamp(1.0, 5.0))])
def test_snr_weighting_is_the_same_x0_loss_for_every_parameterization(weighting, x0_weight):
    # A model whose implied x0 is off by delta: the weights make the three losses equal w(snr) |delta|^2.
    g = torch.Generator().manual_seed(0)
    x, noise = torch.rand(4, 3, 8, 8, generator=g) * 2 - 1, torch.randn(4, 3, 8, 8, generator=g)
    delta = 0.1 * torch.randn(4, 3, 8, 8, generator=g)
    t = torch.tensor([0.05, 0.3, 0.6, 0.95])
    losses = []
    for prediction in D.PREDICTIONS:
        config = D.DiffusionConfig(prediction=prediction, loss_weighting=weighting, min_snr_gamma=5.0)

        def model(z, log_snr, prediction=prediction):
            x0_hat = x + delta
            eps_hat = D.x0_to_eps(x0_hat, z, log_snr)
            return {"x0": x0_hat, "eps": eps_hat, "v": D.training_target(x0_hat, eps_hat, log_snr, "v")}[prediction]

        losses.append(D.diffusion_loss(model, x, config, noise=noise, t=t))
    log_snr = D.get_schedule("cosine").log_snr(t)
    expected = x0_weight(log_snr.exp()) * delta.pow(2).flatten(1).mean(1)
    for loss in losses:
        torch.testing.assert_close(loss, expected, rtol=1e-3, atol=1e-6)


@pytest.mark.parametrize("fraction, batch", [(0.5, 16), (0.25, 16), (1.0, 8), (0.3, 10)])
def test_train_shift_moves_that_share_of_the_batch_toward_noise(fraction, batch):
    seen = {}

    def model(z, log_snr):
        seen["log_snr"] = log_snr
        return torch.zeros_like(z)

    x = torch.zeros(batch, 3, 4, 4)
    t = torch.linspace(0.05, 0.95, batch)
    plain = D.get_schedule("cosine").log_snr(t)
    config = D.DiffusionConfig(train_shift=-2.0, train_shift_fraction=fraction)
    D.diffusion_loss(model, x, config, t=t)
    moved = (plain - seen["log_snr"]).abs() > 1e-4
    assert int(moved.sum()) == round(fraction * batch)
    torch.testing.assert_close(seen["log_snr"][moved], plain[moved] - 2.0)
    # spread over the batch: the shifted share of a stratified t is stratified too (not one end of it)
    if 0 < fraction < 1:
        assert t[moved].min() < 0.4 and t[moved].max() > 0.9


def test_train_shift_fraction_must_be_a_share():
    with pytest.raises(ValueError, match="train_shift_fraction"):
        D.DiffusionConfig(train_shift=-1.0, train_shift_fraction=1.5)


@pytest.mark.parametrize("field, value", [("min_snr_gamma", float("nan")), ("min_snr_gamma", float("inf")),
                                          ("train_shift", float("nan"))])
def test_a_nan_or_infinite_loss_setting_is_refused_not_trained_on(field, value):
    with pytest.raises(ValueError, match=f"DiffusionConfig.{field} must be a finite number"):
        D.DiffusionConfig(**{field: value})
