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
