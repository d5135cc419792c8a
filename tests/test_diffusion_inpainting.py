"""RePaint inpainting (diffusion/inpainting.py): its time path, the known region at every step, and exact
conditional statistics on a correlated Gaussian whose denoiser is known in closed form."""

import pytest
import torch

from openimagen import diffusion as D

RHO = 0.9                                                 # correlation of the two "pixels"
COV = torch.tensor([[1.0, RHO], [RHO, 1.0]], dtype=torch.float64) * 0.25


def gaussian_denoiser(z: torch.Tensor, log_snr: torch.Tensor) -> torch.Tensor:
    """E[x | z_t] for x ~ N(0, COV) in [b, 2, 1, 1] images: alpha COV (alpha^2 COV + sigma^2 I)^-1 z."""
    alpha, sigma = D.alpha_sigma(log_snr[0].double())
    gain = alpha * COV @ torch.linalg.inv(alpha**2 * COV + sigma**2 * torch.eye(2, dtype=torch.float64))
    return (z.flatten(1) @ gain.T).reshape(z.shape)


def repaint_reference_schedule(t_T: int, jump_length: int, jump_n_sample: int) -> list[int]:
    """RePaint's own `get_schedule_jump` (github.com/andreas128/RePaint, scheduler.py), remaining steps t."""
    jumps = {j: jump_n_sample - 1 for j in range(0, t_T - jump_length, jump_length)}
    t, ts = t_T, []
    while t >= 1:
        t = t - 1
        ts.append(t)
        if jumps.get(t, 0) > 0:
            jumps[t] = jumps[t] - 1
            for _ in range(jump_length):
                t = t + 1
                ts.append(t)
    return ts


@pytest.mark.parametrize("steps, jump_length, jump_n_sample", [(10, 1, 1), (10, 2, 3), (25, 5, 4), (4, 2, 2)])
def test_schedule_is_repaints_get_schedule_jump(steps, jump_length, jump_n_sample):
    path = D.repaint_schedule(steps, jump_length, jump_n_sample)
    assert path[0] == 0 and path[-1] == steps
    assert [steps - i for i in path[1:]] == repaint_reference_schedule(steps, jump_length, jump_n_sample)


def test_without_jumps_the_schedule_is_the_plain_grid():
    assert D.repaint_schedule(6) == list(range(7))


@pytest.mark.parametrize("sampler", ["ancestral", "ddim", "dpmpp_2m"])
def test_an_all_ones_mask_gives_plain_sampling_for_the_same_seed(sampler):
    noise = torch.randn(3, 2, 1, 1, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    known, mask = torch.randn_like(noise), torch.ones(3, 1, 1, 1, dtype=torch.float64)
    options = dict(schedule=D.get_schedule("cosine"), sampler=sampler, steps=6, threshold="none", eta=1.0,
                   progress=False)
    plain = D.sample(gaussian_denoiser, noise, generator=torch.Generator().manual_seed(2), **options)
    repainted = D.repaint_sample(gaussian_denoiser, noise, known, mask, generator=torch.Generator().manual_seed(2),
                                 known_generator=torch.Generator().manual_seed(3), **options)
    assert torch.equal(plain, repainted)


def test_the_known_region_seen_at_every_step_is_q_sample_of_the_original():
    seen = []

    def spy(z, log_snr):
        seen.append((z.clone(), log_snr[0].clone()))
        return torch.zeros_like(z)

    known = torch.rand(2, 3, 4, 4) * 2 - 1
    mask = torch.zeros(2, 1, 4, 4)
    mask[..., 1:3, 1:3] = 1
    D.repaint_sample(spy, torch.randn(2, 3, 4, 4), known, mask, schedule=D.get_schedule("cosine"), steps=4,
                     sampler="ddim", threshold="none", generator=torch.Generator().manual_seed(0),
                     known_generator=torch.Generator().manual_seed(7), progress=False)
    draws = torch.Generator().manual_seed(7)                 # the known region's noise, one draw per step
    assert len(seen) == 4
    for z, log_snr in seen:
        expected = D.q_sample(known, log_snr, torch.randn(known.shape, generator=draws))
        keep = (mask == 0).expand_as(z)
        assert torch.allclose(z[keep], expected[keep], atol=1e-6)


def test_resampling_brings_the_generated_pixel_to_its_exact_conditional_law():
    """Known pixel 0 = a, generate pixel 1: E[x1 | x0 = a] = RHO a. Plain replacement (no jumps)
    leaves x1 too weakly tied to a; RePaint's resampling closes most of the gap."""
    count, a = 2000, 0.8
    known = torch.zeros(count, 2, 1, 1, dtype=torch.float64)
    known[:, 0] = a
    mask = torch.tensor([0.0, 1.0], dtype=torch.float64).reshape(1, 2, 1, 1)   # per-"pixel" mask on channels
    target_mean = RHO * a
    errors = []
    for jump_n_sample in (1, 10):
        g = torch.Generator().manual_seed(0)
        noise = torch.randn(count, 2, 1, 1, dtype=torch.float64, generator=g)
        x = D.repaint_sample(gaussian_denoiser, noise, known, mask, schedule=D.get_schedule("cosine"),
                             sampler="ancestral", steps=20, jump_length=2, jump_n_sample=jump_n_sample,
                             threshold="none", generator=g, progress=False)
        errors.append(abs(x[:, 1].mean().item() - target_mean))
    assert errors[1] < 0.08 and errors[1] < errors[0] / 3


@pytest.mark.parametrize("known_shape, mask, message", [
    ((2, 3, 4, 4), torch.ones(2, 1, 2, 2), r"mask must broadcast to noise's shape \(2, 3, 4, 4\).*got \(2, 1, 2, 2\)"),
    ((2, 1, 4, 4), torch.ones(2, 1, 4, 4), r"known must be shaped like noise \(2, 3, 4, 4\) \(or \[1, 3, 4, 4\]\), got \(2, 1, 4, 4\)"),
    ((2, 3, 4, 4), torch.full((2, 1, 4, 4), 255.0), r"mask must hold values in \[0, 1\].*got \[255, 255\]"),
])
def test_repaint_names_a_known_image_or_mask_that_does_not_fit(known_shape, mask, message):
    with pytest.raises(ValueError, match=message):
        D.repaint_sample(lambda z, log_snr: pytest.fail("denoised"), torch.randn(2, 3, 4, 4), torch.zeros(known_shape),
                         mask, schedule=D.get_schedule("cosine"), steps=2, progress=False)


def test_repaint_takes_a_bool_mask_and_a_float_jump_length_is_named():
    noise, known = torch.randn(1, 3, 4, 4), torch.zeros(1, 3, 4, 4)
    mask = torch.zeros(1, 1, 4, 4, dtype=torch.bool)
    out = D.repaint_sample(lambda z, log_snr: torch.zeros_like(z), noise, known, mask,
                           schedule=D.get_schedule("cosine"), steps=2, progress=False)
    assert out.shape == noise.shape
    with pytest.raises(TypeError, match="jump_length must be an integer >= 1, got 1.5"):
        D.repaint_schedule(4, jump_length=1.5)
