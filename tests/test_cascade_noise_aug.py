"""Noise-conditioning augmentation (Imagen Sec. 2.4): level 0 = clean low-res, level 1 = pure noise."""

import torch

from openimagen import diffusion as D
from openimagen.cascade.noise_augmentation import noise_augment

SCHEDULE = D.get_schedule("cosine")


def test_aug_level_zero_returns_the_clean_lowres_image_exactly():
    lowres = torch.rand(3, 3, 8, 8) * 2 - 1
    out, log_snr = noise_augment(lowres, torch.zeros(3), SCHEDULE, torch.randn(3, 3, 8, 8))
    assert torch.equal(out, lowres)
    assert torch.all(log_snr >= 19.9)  # the network is told "clean"


def test_aug_level_one_is_pure_noise():
    lowres = torch.rand(2, 3, 16, 16) * 2 - 1
    noise = torch.randn(2, 3, 16, 16)
    out, log_snr = noise_augment(lowres, torch.ones(2), SCHEDULE, noise)
    assert torch.allclose(out, noise, atol=1e-4)
    assert torch.all(log_snr <= -19.9)


def test_intermediate_level_is_the_forward_process_in_closed_form():
    torch.manual_seed(0)
    lowres, noise = torch.rand(4, 3, 8, 8) * 2 - 1, torch.randn(4, 3, 8, 8)
    level = torch.tensor([0.1, 0.2, 0.5, 0.9])
    out, log_snr = noise_augment(lowres, level, SCHEDULE, noise)
    expected_log_snr = -2 * torch.log(torch.tan(torch.pi * level / 2))  # cosine, far from the clipping
    assert torch.allclose(log_snr, expected_log_snr, atol=5e-3)  # up to the schedule's end clipping
    alpha2 = torch.sigmoid(log_snr)[:, None, None, None]
    assert torch.allclose(out, alpha2.sqrt() * lowres + (1 - alpha2).sqrt() * noise, atol=1e-4)


def test_a_scalar_level_applies_to_the_whole_batch():
    lowres = torch.rand(3, 3, 8, 8)
    out, log_snr = noise_augment(lowres, torch.tensor(0.2), SCHEDULE, torch.randn(3, 3, 8, 8))
    assert log_snr.shape == (3,) and torch.all(log_snr == log_snr[0])
