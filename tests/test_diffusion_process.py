"""Closed-form checks of the schedules, the forward process, its posterior and the parameterizations."""

import math

import pytest
import torch

from openimagen import diffusion as D

SCHEDULES = [D.get_schedule("cosine"), D.get_schedule("linear"),
             D.get_schedule("shifted_cosine", base_res=64, res=256)]


@pytest.mark.parametrize("schedule", SCHEDULES, ids=lambda s: s.name)
def test_schedules_are_decreasing_and_invertible(schedule):
    t = torch.linspace(0.02, 0.98, 200, dtype=torch.float64)
    log_snr = schedule.log_snr(t)
    assert torch.all(log_snr[1:] < log_snr[:-1])
    torch.testing.assert_close(schedule.t_from_log_snr(log_snr), t, atol=1e-9, rtol=0)


def test_cosine_schedule_matches_nichol_dhariwal_alpha_bar():
    # Unclipped cosine: alpha_bar(t) = cos^2(pi t / 2), so lambda = log(cos^2 / sin^2) = -2 log tan(pi t / 2).
    t = torch.linspace(0.05, 0.95, 19, dtype=torch.float64)
    alpha, _ = D.alpha_sigma(D.get_schedule("cosine").log_snr(t))
    torch.testing.assert_close(alpha**2, torch.cos(math.pi * t / 2) ** 2, atol=1e-4, rtol=0)  # clipping moves t by ~3e-5


def test_cosine_schedule_ends_are_clipped():
    ends = D.get_schedule("cosine").log_snr(torch.tensor([0.0, 1.0], dtype=torch.float64))
    torch.testing.assert_close(ends, torch.tensor([20.0, -20.0], dtype=torch.float64))


def test_shifted_cosine_adds_two_log_resolution_ratio():
    t = torch.linspace(0.1, 0.9, 9, dtype=torch.float64)
    shifted = D.get_schedule("shifted_cosine", base_res=64, res=256).log_snr(t)
    torch.testing.assert_close(shifted - D.get_schedule("cosine").log_snr(t),
                               torch.full_like(t, 2 * math.log(64 / 256)))


def test_linear_schedule_matches_ddpm_discrete_alphas_cumprod():
    # DDPM: betas linspace(1e-4, 0.02, 1000); alpha_bar_k = prod(1 - beta). Continuous form at t = k / 1000.
    betas = torch.linspace(1e-4, 0.02, 1000, dtype=torch.float64)
    alphas_cumprod = torch.cumprod(1 - betas, 0)
    t = torch.arange(1, 1001, dtype=torch.float64) / 1000
    alpha, _ = D.alpha_sigma(D.get_schedule("linear").log_snr(t))
    torch.testing.assert_close(alpha**2, alphas_cumprod, atol=2e-3, rtol=0.02)


def test_alpha_sigma_variance_preserving_and_log_snr_consistent():
    log_snr = torch.linspace(-15, 15, 101, dtype=torch.float64)
    alpha, sigma = D.alpha_sigma(log_snr)
    torch.testing.assert_close(alpha**2 + sigma**2, torch.ones_like(log_snr))
    torch.testing.assert_close(torch.log(alpha**2 / sigma**2), log_snr)


def test_q_sample_marginal_statistics():
    g = torch.Generator().manual_seed(0)
    x = torch.tensor([0.7, -0.3]).repeat(200_000, 1)
    log_snr = torch.tensor(0.8)
    z = D.q_sample(x, log_snr.expand(x.shape[0]), torch.randn(x.shape, generator=g))
    alpha, sigma = D.alpha_sigma(log_snr)
    torch.testing.assert_close(z.mean(0), alpha * x[0], atol=5e-3, rtol=0)
    torch.testing.assert_close(z.var(0), (sigma**2).expand(2), atol=5e-3, rtol=0)


def test_transition_composes_with_marginal():
    # q(z_t|x) must equal q(z_s|x) pushed through q(z_t|z_s): mean alpha_t x, variance sigma_t^2.
    x, ls, lt = torch.tensor([0.5]), torch.tensor(2.0), torch.tensor(-1.0)
    (alpha_s, sigma_s), (alpha_t, sigma_t) = D.alpha_sigma(ls), D.alpha_sigma(lt)
    mean_factor = D.q_transition(torch.ones(1), ls, lt)[0]
    _, var_ts = D.q_transition(torch.ones(1), ls, lt)
    torch.testing.assert_close(mean_factor * alpha_s * x, alpha_t * x)
    torch.testing.assert_close(mean_factor**2 * sigma_s**2 + var_ts, sigma_t**2 * torch.ones(1))


def test_posterior_matches_brute_force_gaussian_conditioning():
    # Joint of (z_s, z_t) given x is Gaussian; condition z_s on z_t by the textbook formula.
    ls, lt = torch.tensor(1.5, dtype=torch.float64), torch.tensor(-0.5, dtype=torch.float64)
    (alpha_s, sigma_s), (alpha_t, sigma_t) = D.alpha_sigma(ls), D.alpha_sigma(lt)
    x = torch.tensor([0.3, -0.8], dtype=torch.float64)
    z_t = torch.tensor([0.1, 0.9], dtype=torch.float64)
    a = alpha_t / alpha_s                       # z_t = a z_s + noise
    cov_ss, cov_tt, cov_st = sigma_s**2, sigma_t**2, a * sigma_s**2
    mean = alpha_s * x + cov_st / cov_tt * (z_t - alpha_t * x)
    var = cov_ss - cov_st**2 / cov_tt
    got_mean, got_var = D.q_posterior(z_t, x, lt, ls)
    torch.testing.assert_close(got_mean, mean)
    torch.testing.assert_close(got_var, var)


@pytest.mark.parametrize("prediction", D.PREDICTIONS)
def test_parameterizations_round_trip(prediction):
    g = torch.Generator().manual_seed(1)
    x, eps = torch.randn(4, 3, 8, 8, generator=g, dtype=torch.float64), torch.randn(4, 3, 8, 8, generator=g, dtype=torch.float64)
    log_snr = torch.tensor([-6.0, -1.0, 2.0, 7.0], dtype=torch.float64)
    z = D.q_sample(x, log_snr, eps)
    target = D.training_target(x, eps, log_snr, prediction)
    torch.testing.assert_close(D.prediction_to_x0(target, z, log_snr, prediction), x)
    torch.testing.assert_close(D.prediction_to_eps(target, z, log_snr, prediction), eps)
    torch.testing.assert_close(D.x0_to_eps(x, z, log_snr), eps)


def test_unknown_names_are_rejected_with_the_choices():
    with pytest.raises(ValueError, match="expected"):
        D.get_schedule("cosin")
    with pytest.raises(ValueError, match="prediction"):
        D.DiffusionConfig(prediction="velocity")
    with pytest.raises(ValueError, match="unknown key"):
        D.DiffusionConfig.from_dict({"predicton": "v"})
