"""Samplers on a Gaussian mixture with its exact denoiser E[x | z_t]: samples must reproduce the data statistics."""

import pytest
import torch

from openimagen import diffusion as D

MEANS = torch.tensor([[-0.6, 0.4], [0.5, -0.2]], dtype=torch.float64)
WEIGHTS = torch.tensor([0.3, 0.7], dtype=torch.float64)
STD = 0.15


def mixture_denoiser(z: torch.Tensor, log_snr: torch.Tensor) -> torch.Tensor:
    """Closed-form E[x | z] for x ~ sum_k w_k N(mu_k, s^2 I), z = alpha x + sigma eps."""
    alpha, sigma = D.alpha_sigma(log_snr.view(-1, 1, 1))                     # [b, 1, 1]
    var = alpha**2 * STD**2 + sigma**2                                          # marginal variance of z | k
    diff = z[:, None, :] - alpha * MEANS[None]                                  # [b, k, d]
    log_w = torch.log(WEIGHTS)[None] - 0.5 * (diff**2).sum(-1) / var[..., 0]    # [b, k]
    post = torch.softmax(log_w, dim=1)[..., None]
    x0_k = MEANS[None] + (alpha * STD**2 / var) * diff
    return (post * x0_k).sum(1)


def data_mean_var():
    mean = (WEIGHTS[:, None] * MEANS).sum(0)
    second = (WEIGHTS[:, None] * (MEANS**2 + STD**2)).sum(0)
    return mean, second - mean**2


@pytest.mark.parametrize("sampler,steps,spacing", [("ancestral", 200, "t"), ("ddim", 50, "t"),
                                                    ("dpmpp_2m", 15, "t"), ("dpmpp_2m", 40, "log_snr")])
def test_sampler_reproduces_mixture_statistics(sampler, steps, spacing):
    g = torch.Generator().manual_seed(0)
    noise = torch.randn(4000, 2, generator=g, dtype=torch.float64)
    x = D.sample(mixture_denoiser, noise, schedule=D.get_schedule("cosine"), sampler=sampler, steps=steps,
                 threshold="none", spacing=spacing, generator=g, progress=False)
    mean, var = data_mean_var()
    torch.testing.assert_close(x.mean(0), mean, atol=0.03, rtol=0)
    torch.testing.assert_close(x.var(0), var, atol=0.03, rtol=0.1)
    in_first_mode = ((x - MEANS[0]).norm(dim=1) < (x - MEANS[1]).norm(dim=1)).double().mean()
    assert abs(in_first_mode - WEIGHTS[0]) < 0.03
    # each sample lands on a mode, not between them: the within-mode spread matches STD
    nearest = torch.where((x - MEANS[0]).norm(dim=1, keepdim=True) < (x - MEANS[1]).norm(dim=1, keepdim=True), MEANS[0], MEANS[1])
    assert abs((x - nearest).std() - STD) < 0.03


def test_sampling_is_reproducible_from_a_seed():
    def run(seed):
        g = torch.Generator().manual_seed(seed)
        return D.sample(mixture_denoiser, torch.randn(8, 2, generator=g, dtype=torch.float64),
                        schedule=D.get_schedule("linear"), sampler="ancestral", steps=10, threshold="none",
                        generator=g, progress=False)
    torch.testing.assert_close(run(3), run(3))
    assert not torch.allclose(run(3), run(4))


@pytest.mark.parametrize("sampler", D.SAMPLERS)
def test_thresholding_changes_the_trajectory_and_bounds_the_output(sampler):
    far = lambda z, log_snr: 3.0 * mixture_denoiser(z, log_snr)  # data well outside [-1, 1]
    noise = torch.randn(256, 2, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    kw = dict(schedule=D.get_schedule("cosine"), sampler=sampler, steps=20, progress=False)
    free = D.sample(far, noise, threshold="none", generator=torch.Generator().manual_seed(1), **kw)
    clipped = D.sample(far, noise, threshold="static", generator=torch.Generator().manual_seed(1), **kw)
    assert free.abs().max() > 1.2
    assert clipped.abs().max() <= 1.0 + 1e-3


@pytest.mark.parametrize("sampler", ["ancestral", "ddim"])
def test_every_random_draw_uses_the_generators_device_then_moves_to_the_images(monkeypatch, sampler):
    """A CPU generator cannot draw CUDA tensors: emulate that check on a machine without a GPU."""
    real_randn, draws = torch.randn, []

    def strict_randn(*shape, generator=None, device=None, **kwargs):
        wanted = torch.device(device or "cpu")
        draws.append(wanted)
        if generator is not None and wanted != generator.device:
            raise RuntimeError(f"a {generator.device} generator cannot draw on {wanted}")
        return real_randn(*shape, generator=generator, device=device, **kwargs)

    monkeypatch.setattr(torch, "randn", strict_randn)
    noise = torch.zeros(2, 3, 4, 4, device="meta")                  # stands in for a GPU tensor
    out = D.sample(lambda z, log_snr: z * 0, noise, schedule=D.get_schedule("cosine"), sampler=sampler, steps=3,
                   threshold="none", eta=1.0, generator=torch.Generator().manual_seed(0), progress=False)
    assert out.device.type == "meta" and draws == [torch.device("cpu")] * 2


def test_one_registry_of_sampler_names_serves_configs_the_cli_and_sample(monkeypatch):
    """A sampler added to `SAMPLERS` is accepted everywhere; every `--sampler` option offers the registry's names."""
    import click

    from openimagen.cascade import StageConfig
    from openimagen.cli import bench, demo, drawbench, sample

    for command in (sample.sample, bench.bench, demo.demo, drawbench.generate):
        option = next(p for p in command.params if p.name == "sampler")
        assert isinstance(option.type, click.Choice) and list(option.type.choices) == D.sampler_choices()
    assert StageConfig(resolution=8, network="tiny-test-base", sampler="dpmpp").sampler == "dpmpp_2m"

    calls = []

    def euler(z_t, x0, log_snr_t, log_snr_s, noise, memory, **_):
        calls.append(memory.setdefault("n", 0))
        memory["n"] += 1
        return D.ddim_step(z_t, x0, log_snr_t, log_snr_s)

    monkeypatch.setitem(D.SAMPLERS, "euler", euler)
    assert StageConfig(resolution=8, network="tiny-test-base", sampler="euler").sampler == "euler"
    out = D.sample(mixture_denoiser, torch.randn(4, 2, dtype=torch.float64), schedule=D.get_schedule("cosine"),
                   sampler="euler", steps=3, threshold="none", progress=False)
    assert calls == [0, 1, 2] and out.shape == (4, 2)
    with pytest.raises(ValueError, match=r"unknown sampler 'heun'.*ancestral"):
        D.resolve_sampler("heun")


@pytest.mark.parametrize("options, error, message", [
    (dict(steps=2.5), TypeError, "steps must be an integer >= 1, got 2.5"),
    (dict(steps=0), ValueError, "steps must be >= 1, got 0"),
    (dict(schedule="cosine"), TypeError, r"schedule must be a Schedule such as get_schedule\('cosine'\), got str"),
    (dict(sampler="ancestral", gamma=float("nan")), ValueError, r"gamma must be in \[0, 1\], got nan"),
    (dict(sampler="ddim", eta=-1.0), ValueError, "eta must be a finite number >= 0, got -1.0"),
])
def test_sample_names_a_bad_option_before_denoising(options, error, message):
    options = {"schedule": D.get_schedule("cosine"), "steps": 2, "progress": False, **options}
    with pytest.raises(error, match=message):
        D.sample(lambda z, log_snr: pytest.fail("denoised"), torch.randn(2, 2), **options)


def test_a_shifted_cosine_needs_positive_resolutions():
    with pytest.raises(ValueError, match="needs base_res and res > 0.*got base_res=-64, res=256"):
        D.get_schedule("shifted_cosine", base_res=-64, res=256)
