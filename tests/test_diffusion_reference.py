"""Thresholding and single sampler steps against Hugging Face diffusers' schedulers, on the same tensors."""

import pytest
import torch
from diffusers import DDIMScheduler, DDPMScheduler

from openimagen import diffusion as D


def _log_snr(alphas_cumprod: torch.Tensor, index: int) -> torch.Tensor:
    """diffusers' alphas_cumprod[k] is our alpha^2, so lambda = log(a / (1 - a))."""
    a = alphas_cumprod[index].double()
    return torch.log(a / (1 - a)).float()


@pytest.mark.parametrize("max_value", [1.5, 10.0])
def test_dynamic_threshold_matches_diffusers(max_value):
    scheduler = DDPMScheduler(thresholding=True, dynamic_thresholding_ratio=0.995, sample_max_value=max_value)
    x0 = torch.randn(5, 3, 16, 16, generator=torch.Generator().manual_seed(0)) * torch.tensor([0.3, 1, 2, 4, 8]).view(5, 1, 1, 1)
    expected = scheduler._threshold_sample(x0.clone())
    torch.testing.assert_close(D.dynamic_threshold(x0, 0.995, max_value), expected, atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize("eta", [0.0, 0.5])
def test_ddim_step_with_dynamic_thresholding_matches_diffusers(eta):
    scheduler = DDIMScheduler(num_train_timesteps=1000, beta_schedule="linear", prediction_type="epsilon",
                              thresholding=True, dynamic_thresholding_ratio=0.995, sample_max_value=3.0,
                              clip_sample=False)
    scheduler.set_timesteps(20)
    g = torch.Generator().manual_seed(1)
    z, eps, noise = (torch.randn(2, 3, 8, 8, generator=g) for _ in range(3))
    timestep = int(scheduler.timesteps[5])
    prev = timestep - 1000 // 20
    expected = scheduler.step(eps, timestep, z, eta=eta, use_clipped_model_output=True, variance_noise=noise).prev_sample

    log_snr_t, log_snr_s = _log_snr(scheduler.alphas_cumprod, timestep), _log_snr(scheduler.alphas_cumprod, prev)
    x0 = D.dynamic_threshold(D.prediction_to_x0(eps, z, log_snr_t, "eps"), 0.995, 3.0)
    got = D.ddim_step(z, x0, log_snr_t, log_snr_s, noise=noise, eta=eta)
    torch.testing.assert_close(got, expected, atol=2e-5, rtol=1e-4)


def test_ancestral_step_matches_diffusers_ddpm_step():
    scheduler = DDPMScheduler(num_train_timesteps=1000, beta_schedule="linear", prediction_type="v_prediction",
                              variance_type="fixed_small", clip_sample=False)
    g = torch.Generator().manual_seed(2)
    z, v = torch.randn(2, 3, 8, 8, generator=g), torch.randn(2, 3, 8, 8, generator=g)
    timestep = 500
    expected = scheduler.step(v, timestep, z, generator=torch.Generator().manual_seed(7)).prev_sample

    log_snr_t, log_snr_s = _log_snr(scheduler.alphas_cumprod, timestep), _log_snr(scheduler.alphas_cumprod, timestep - 1)
    noise = torch.randn(z.shape, generator=torch.Generator().manual_seed(7))
    x0 = D.prediction_to_x0(v, z, log_snr_t, "v")
    got = D.ancestral_step(z, x0, log_snr_t, log_snr_s, noise, gamma=0.0)
    torch.testing.assert_close(got, expected, atol=2e-5, rtol=1e-4)
