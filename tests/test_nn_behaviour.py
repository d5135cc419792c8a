"""Networks: text mask honored, empty prompt finite, fully convolutional SR, checkpointing, overfitting, bf16."""
import pytest
import torch

from openimagen.nn import build_network, example_inputs, get_preset
from openimagen.nn.conditioning import coordinate_maps
from openimagen.nn.widen import load_widened


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny nets: one thread is faster, and immune to OpenMP spin-waits when the CPU is shared (2 threads under
    load measured ~50x slower here)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _random_net(name, seed=0, **overrides):
    """A preset net with every parameter random (zero-init layers would hide what the tests look for)."""
    torch.manual_seed(seed)
    net = build_network(get_preset(name, **overrides))
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn_like(p) * 0.1 + (1.0 if p.ndim == 1 and "norm" in _owner(net, p) else 0.0))
    return net.eval()


def _owner(net, param):
    return next(n for n, p in net.named_parameters() if p is param)


def _inputs(net, size=16, batch=2, tokens=6, seed=1):
    torch.manual_seed(seed)
    inputs = example_inputs(net, size, batch_size=batch, text_len=tokens)
    inputs["text_mask"] = torch.tensor([[True] * 3 + [False] * (tokens - 3), [True] * tokens])
    return inputs


@pytest.mark.parametrize("text_layers,residual", [(0, False), (1, False), (1, True)])
@pytest.mark.parametrize("bf16", [False, True])
@pytest.mark.parametrize("name", ["tiny-test-base", "tiny-test-sr"])
def test_padded_text_tokens_change_nothing_but_real_tokens_do(name, bf16, text_layers, residual):
    net = _random_net(name, text_layers=text_layers, text_width=32, text_residual=residual)
    inputs = _inputs(net)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        out = net(**inputs)
        padded = inputs["text_emb"].clone()
        padded[0, 3:] = torch.randn_like(padded[0, 3:]) * 10
        out_padded = net(**{**inputs, "text_emb": padded})
        real = inputs["text_emb"].clone()
        real[0, 0] = torch.randn_like(real[0, 0])
        out_real = net(**{**inputs, "text_emb": real})
    torch.testing.assert_close(out_padded, out, rtol=1e-5, atol=1e-5)
    assert (out_real[0] - out[0]).abs().max() > 1e-3
    torch.testing.assert_close(out_real[1], out[1])   # the other sample's text did not change


@pytest.mark.parametrize("text_layers", [0, 2])
@pytest.mark.parametrize("name", ["tiny-test-base", "tiny-test-sr"])
def test_all_masked_prompt_gives_a_finite_output_with_finite_gradients(name, text_layers):
    net = _random_net(name, text_layers=text_layers, text_width=32).train()
    inputs = _inputs(net)
    inputs["text_mask"] = torch.zeros_like(inputs["text_mask"])
    out = net(**inputs)
    out.square().mean().backward()
    assert torch.isfinite(out).all()
    assert all(torch.isfinite(p.grad).all() for p in net.parameters() if p.grad is not None)


def test_sr_net_without_self_attention_runs_on_a_larger_image_than_it_was_built_for():
    net = _random_net("tiny-test-sr", self_attn_levels=False)
    small = _inputs(net, size=8)
    large = _inputs(net, size=32)
    large["lowres"] = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        out = net(**large)
        assert out.shape == (2, 3, 32, 32) and torch.isfinite(out).all()
        assert net(**small).shape == (2, 3, 8, 8)


@pytest.mark.parametrize("name", ["tiny-test-base", "tiny-test-sr"])
def test_gradient_checkpointing_gives_the_same_gradients_and_saves_fewer_tensors(name):
    grads, saved = [], []
    for checkpointing in (False, True):
        net = _random_net(name, gradient_checkpointing=checkpointing).train()
        inputs = _inputs(net)
        count = [0]

        def pack(t):
            count[0] += 1
            return t

        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            loss = net(**inputs).square().mean()
        saved.append(count[0])
        loss.backward()
        grads.append({n: p.grad for n, p in net.named_parameters()})
    assert saved[1] < saved[0]
    for n in grads[0]:
        torch.testing.assert_close(grads[1][n], grads[0][n], rtol=1e-4, atol=1e-6, msg=n)


@pytest.mark.parametrize("name", ["tiny-test-base", "tiny-test-sr"])
def test_tiny_net_overfits_one_batch_loss_falls_tenfold(name):
    torch.manual_seed(0)
    net = build_network(get_preset(name)).train()
    inputs = example_inputs(net, 8, batch_size=2, text_len=4)
    target = torch.randn_like(inputs["x"])
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    losses = []
    for _ in range(40):
        loss = (net(**inputs) - target).square().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert min(losses[-5:]) < losses[0] / 10, (losses[0], losses[-5:])


@pytest.mark.parametrize("name", ["tiny-test-base", "tiny-test-sr"])
def test_bf16_autocast_output_is_close_to_fp32(name):
    net = _random_net(name)
    inputs = _inputs(net)
    with torch.no_grad():
        ref = net(**inputs)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            low = net(**inputs)
    assert low.dtype == torch.float32
    rel = (low - ref).norm() / ref.norm()
    assert rel < 0.03, rel


def test_channels_last_gives_the_same_output():
    net = _random_net("tiny-test-base")
    inputs = _inputs(net)
    with torch.no_grad():
        ref = net(**inputs)
        out = net.to(memory_format=torch.channels_last)(**inputs)
    torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-4)


def test_coordinate_maps_give_each_pixel_centre_its_position():
    maps = coordinate_maps(torch.zeros(2, 3, 4, 8))
    assert maps.shape == (2, 2, 4, 8)
    assert torch.allclose(maps[0, 0, 0], torch.linspace(-7 / 8, 7 / 8, 8))     # x: left to right, pixel centres
    assert torch.allclose(maps[0, 1, :, 0], torch.linspace(-3 / 4, 3 / 4, 4))  # y: top to bottom
    assert torch.equal(maps[0, 0], -maps[0, 0].flip(-1))                        # symmetric about the centre


@pytest.mark.parametrize("name", ["tiny-test-base", "tiny-test-sr"])
def test_coord_channels_are_appended_to_the_network_input(name):
    net = _random_net(name, coord_channels=True)
    plain = _random_net(name)
    assert net.input_conv.in_channels == plain.input_conv.in_channels + 2
    inputs = _inputs(net)
    x_in, *_ = net.cond(torch.zeros_like(inputs["x"]), inputs["log_snr"], inputs["text_emb"], inputs["text_mask"],
                       inputs.get("lowres"), inputs.get("aug_log_snr"))
    assert torch.equal(x_in[:, -2:], coordinate_maps(inputs["x"]))
    out = net(**inputs)
    assert out.shape == inputs["x"].shape and torch.isfinite(out).all()


@pytest.mark.parametrize("name", ["tiny-test-base", "tiny-test-sr"])
def test_the_text_adapter_makes_the_network_see_word_order(name):
    """Attention over a token set is blind to order; the adapter's position embeddings are not."""
    inputs = _inputs(_random_net(name))
    inputs["text_mask"][:] = True
    swapped = inputs["text_emb"][:, [1, 0, *range(2, inputs["text_emb"].shape[1])]]
    for text_layers, residual, order_matters in [(0, False, False), (1, False, True), (1, True, True)]:
        net = _random_net(name, text_layers=text_layers, text_width=32, text_residual=residual)
        if residual:
            net.cond.text_adapter.gate.data.fill_(1.0)   # an opened gate (it starts shut)
        with torch.no_grad():
            out, out_swapped = net(**inputs), net(**{**inputs, "text_emb": swapped})
        difference = (out - out_swapped).abs().max().item()
        assert difference > 1e-4 if order_matters else difference < 1e-5


@pytest.mark.parametrize("name", ["tiny-test-base", "tiny-test-sr"])
def test_a_residual_text_adapter_added_to_a_trained_network_starts_as_the_identity(name):
    """init_from a network without the adapter: same outputs at first, then the adapter trains (nn/widen.py)."""
    trained = _random_net(name)
    torch.manual_seed(3)
    grown = build_network(get_preset(name, text_layers=1, text_width=32, text_residual=True)).eval()
    adapter_tensors = sum(k.startswith("cond.text_adapter.") for k in grown.state_dict())
    assert load_widened(grown, trained.state_dict()) == [f"text adapter: new ({adapter_tensors} tensors), starts as "
                                                         "the identity"]
    inputs = _inputs(trained)
    with torch.no_grad():
        torch.testing.assert_close(grown(**inputs), trained(**inputs), rtol=0, atol=0)
    grown.train()
    grown(**inputs).square().mean().backward()
    assert grown.cond.text_adapter.gate.grad.abs() > 0   # the gate opens first
    without = build_network(get_preset(name, text_layers=1, text_width=32))   # a replacing adapter cannot start so
    with pytest.raises(RuntimeError, match="text_adapter"):
        load_widened(without, trained.state_dict())


@pytest.mark.parametrize("name", ["tiny-test-base", "tiny-test-sr"])
def test_fp16_text_tokens_of_the_cache_work_and_an_x_of_another_dtype_is_named(name):
    net = _random_net(name)
    inputs = _inputs(net)
    with torch.no_grad():
        out = net(**{**inputs, "text_emb": inputs["text_emb"].half()})
    torch.testing.assert_close(out, net(**{**inputs, "text_emb": inputs["text_emb"].half().float()}))
    with pytest.raises(ValueError, match=r"x is torch.float64 but the network's weights are torch.float32: convert x"):
        net(**{**inputs, "x": inputs["x"].double()})
