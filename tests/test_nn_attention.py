"""Attention: the CPU low-precision path agrees with SDPA, honours the mask, and keeps the softmax in fp32."""
import pytest
import torch
import torch.nn.functional as F

from openimagen.nn.attention import multihead_attention, softmax_attention


def _qkv(dtype=torch.float32, n=12, m=7):
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 3, length, 16, generator=g).to(dtype) for length in (n, m, m))
    mask = torch.ones(2, 1, 1, m, dtype=torch.bool)
    mask[0, ..., 3:] = False
    return q, k, v, mask


def test_softmax_attention_equals_torch_sdpa_with_a_padding_mask():
    q, k, v, mask = _qkv()
    torch.testing.assert_close(softmax_attention(q, k, v, mask), F.scaled_dot_product_attention(q, k, v, attn_mask=mask),
                               rtol=1e-5, atol=1e-6)


def test_masked_keys_get_exactly_zero_weight_in_the_low_precision_path():
    q, k, v, mask = _qkv(torch.bfloat16)
    out = multihead_attention(q, k, v, mask)
    k2, v2 = k.clone(), v.clone()
    k2[0, :, 3:], v2[0, :, 3:] = 1e3, -1e3
    assert torch.equal(multihead_attention(q, k2, v2, mask), out)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_low_precision_attention_is_close_to_fp32(dtype):
    q, k, v, mask = _qkv(dtype)
    ref = F.scaled_dot_product_attention(q.float(), k.float(), v.float(), attn_mask=mask)
    out = multihead_attention(q, k, v, mask)
    assert out.dtype == dtype
    assert (out.float() - ref).norm() / ref.norm() < 0.02


def _cross(query_positions: bool, seed: int = 0):
    from openimagen.nn.attention import CrossAttention

    torch.manual_seed(seed)
    layer = CrossAttention(32, 24, 16, 8, query_positions=query_positions)
    with torch.no_grad():
        layer.to_out.weight.normal_(0, 0.2)      # zero-initialised output: make the layer do something
    return layer


def test_query_positions_start_as_the_plain_cross_attention():
    plain, positioned = _cross(False), _cross(True)
    positioned.load_state_dict(plain.state_dict(), strict=False)     # the position projection stays at zero
    x, text, mask = torch.randn(2, 32, 8, 8), torch.randn(2, 5, 24), torch.ones(2, 5, dtype=torch.bool)
    torch.testing.assert_close(positioned(x, text, mask), plain(x, text, mask))


def test_query_positions_let_a_uniform_image_attend_differently_by_place():
    """Without positions, a spatially constant feature map gives the same attention at every pixel; with them,
    left and right pixels read the text differently (what placing 'on the left' needs)."""
    x, text, mask = torch.randn(1, 32, 1, 1).expand(1, 32, 8, 8), torch.randn(1, 5, 24), torch.ones(1, 5, dtype=torch.bool)
    plain = _cross(False)(x, text, mask)
    assert torch.allclose(plain, plain[..., :1, :1].expand_as(plain), atol=1e-5)
    positioned = _cross(True)
    with torch.no_grad():
        positioned.to_q_position.weight.normal_(0, 1.0)
    out = positioned(x, text, mask)
    assert (out[..., :, :4] - out[..., :, 4:].flip(-1)).abs().max() > 1e-3


def test_position_features_are_sin_cos_of_pixel_centres_in_unit_coordinates():
    """Layout per pixel: x's sin (4 frequencies), x's cos, y's sin, y's cos; row-major pixels."""
    from openimagen.nn.attention import position_features

    for size in (4, 8):
        features = position_features(size, size, "cpu", torch.float32).view(size, size, -1)
        centres = -1 + (2 * torch.arange(size) + 1) / size                   # pixel centres in [-1, 1]
        torch.testing.assert_close(features[0, :, 0], torch.sin(torch.pi * centres))          # x, lowest frequency
        torch.testing.assert_close(features[:, 0, 8], torch.sin(torch.pi * centres))          # y, lowest frequency
        torch.testing.assert_close(features[3, 1, 4 + 3], torch.cos(8 * torch.pi * centres[1]))  # x, highest, cos
