import pytest
import torch

from openimagen import diffusion as D


class RecordingNet:
    """A stand-in network whose output depends on z, log_snr and the text; records each call's batch size."""

    def __init__(self):
        self.batch_sizes = []

    def __call__(self, z, log_snr, text_emb, text_mask):
        self.batch_sizes.append(z.shape[0])
        text = (text_emb * text_mask[..., None]).sum(1)[:, :, None, None]  # [b, c, 1, 1]
        return 0.5 * z + 0.1 * log_snr.view(-1, 1, 1, 1) + text


def _inputs():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(3, 4, 8, 8, generator=g)
    log_snr = torch.tensor([-2.0, 0.0, 3.0])
    cond = {"text_emb": torch.randn(3, 5, 4, generator=g), "text_mask": torch.ones(3, 5, dtype=torch.bool)}
    uncond = {"text_emb": torch.zeros(3, 5, 4), "text_mask": torch.zeros(3, 5, dtype=torch.bool)}
    return z, log_snr, cond, uncond


@pytest.mark.parametrize("w,which", [(1.0, "cond"), (0.0, "uncond")])
def test_guidance_scale_one_or_zero_runs_one_unbatched_pass(w, which):
    z, log_snr, cond, uncond = _inputs()
    net = RecordingNet()
    x0 = D.guided_denoiser(net, cond, uncond, w, prediction="v")(z, log_snr)
    expected = D.prediction_to_x0(RecordingNet()(z, log_snr, **(cond if which == "cond" else uncond)), z, log_snr, "v")
    torch.testing.assert_close(x0, expected)
    assert net.batch_sizes == [3]


@pytest.mark.parametrize("prediction", D.PREDICTIONS)
def test_guidance_is_one_batched_forward_and_equals_eps_space_guidance(prediction):
    z, log_snr, cond, uncond = _inputs()
    net, w = RecordingNet(), 4.0
    x0 = D.guided_denoiser(net, cond, uncond, w, prediction)(z, log_snr)
    assert net.batch_sizes == [6]
    eps_c = D.prediction_to_eps(RecordingNet()(z, log_snr, **cond), z, log_snr, prediction)
    eps_u = D.prediction_to_eps(RecordingNet()(z, log_snr, **uncond), z, log_snr, prediction)
    eps_guided = w * eps_c + (1 - w) * eps_u                       # Imagen Sec. 2.2
    torch.testing.assert_close(x0, D.prediction_to_x0(eps_guided, z, log_snr, "eps"), atol=1e-4, rtol=1e-4)


def test_guidance_rejects_unpadded_text():
    z, log_snr, cond, uncond = _inputs()
    uncond = {"text_emb": torch.zeros(3, 2, 4), "text_mask": torch.zeros(3, 2, dtype=torch.bool)}
    with pytest.raises(ValueError, match="pad"):
        D.guided_denoiser(RecordingNet(), cond, uncond, 3.0, "eps")(z, log_snr)


@pytest.mark.parametrize("interval, inside", [((-1.0, 1.0), [False, True, False]), ((None, 0.0), [True, True, False]),
                                              ((0.0, None), [False, True, True]), ((None, None), [True, True, True])])
def test_guidance_interval_guides_inside_and_is_conditional_outside(interval, inside):
    """Kynkaanniemi et al. 2024: w inside the log-SNR interval, w = 1 (the conditional prediction) outside."""
    z, log_snr, cond, uncond = _inputs()                              # log-SNR -2, 0, 3
    w = 4.0
    x0 = D.guided_denoiser(RecordingNet(), cond, uncond, w, "eps", interval=interval)(z, log_snr)
    x0_c = D.prediction_to_x0(RecordingNet()(z, log_snr, **cond), z, log_snr, "eps")
    x0_u = D.prediction_to_x0(RecordingNet()(z, log_snr, **uncond), z, log_snr, "eps")
    for i, guided in enumerate(inside):
        torch.testing.assert_close(x0[i], x0_u[i] + w * (x0_c[i] - x0_u[i]) if guided else x0_c[i])


@pytest.mark.parametrize("w, passes", [(4.0, [3]), (0.0, [3])])
def test_outside_the_interval_one_conditional_pass(w, passes):
    z, log_snr, cond, uncond = _inputs()
    net = RecordingNet()
    x0 = D.guided_denoiser(net, cond, uncond, w, "v", interval=(5.0, 9.0))(z, log_snr)
    assert net.batch_sizes == passes
    torch.testing.assert_close(x0, D.prediction_to_x0(RecordingNet()(z, log_snr, **cond), z, log_snr, "v"))


def test_unconditional_inside_and_conditional_outside_with_w_zero():
    z, log_snr, cond, uncond = _inputs()
    x0 = D.guided_denoiser(RecordingNet(), cond, uncond, 0.0, "v", interval=(None, 1.0))(z, log_snr)
    x0_c = D.prediction_to_x0(RecordingNet()(z, log_snr, **cond), z, log_snr, "v")
    x0_u = D.prediction_to_x0(RecordingNet()(z, log_snr, **uncond), z, log_snr, "v")
    torch.testing.assert_close(x0, torch.cat([x0_u[:2], x0_c[2:]]))


@pytest.mark.parametrize("scale, prediction, interval, message", [
    (float("nan"), "v", None, "guidance_scale must be a finite number, got nan"),
    (3.0, "vv", None, r"unknown prediction 'vv': expected one of \('eps', 'x0', 'v'\)"),
    (3.0, "v", (1.0,), r"interval must be \(lo, hi\) log-SNR bounds \(None = open\), got \(1.0,\)"),
])
def test_guided_denoiser_names_a_bad_argument_when_built(scale, prediction, interval, message):
    with pytest.raises(ValueError, match=message):
        D.guided_denoiser(RecordingNet(), {}, {}, scale, prediction, interval)
