"""Batching variable-length text embeddings: pad_embeddings, unbatch_embeddings, pad_batch."""

import pytest
import torch

from openimagen.text import pad_batch, pad_embeddings, unbatch_embeddings


def test_pad_embeddings_places_each_entry_first_and_zeroes_the_rest():
    entries = [torch.randn(3, 4), torch.randn(0, 4), torch.randn(5, 4)]
    emb, mask = pad_embeddings(entries)
    assert emb.shape == (3, 5, 4) and mask.sum(1).tolist() == [3, 0, 5]
    for row, entry in enumerate(entries):
        assert torch.equal(emb[row, : len(entry)], entry)
        assert emb[row, len(entry):].abs().sum() == 0


def test_unbatch_inverts_pad_embeddings_and_keeps_the_dtype():
    entries = [torch.randn(n, 6).half() for n in (2, 7, 1)]
    emb, mask = pad_embeddings(entries, length=9)
    assert emb.shape == (3, 9, 6) and emb.dtype == torch.float16
    assert all(torch.equal(a, b) for a, b in zip(unbatch_embeddings(emb, mask), entries))


def test_only_empty_entries_still_give_one_masked_position():
    emb, mask = pad_embeddings([torch.zeros(0, 8), torch.zeros(0, 8)])
    assert emb.shape == (2, 1, 8) and not mask.any()


def test_length_shorter_than_an_entry_is_an_error():
    with pytest.raises(ValueError, match="length=2"):
        pad_embeddings([torch.randn(3, 4)], length=2)
    with pytest.raises(ValueError, match="common dim"):
        pad_embeddings([torch.randn(3, 4), torch.randn(3, 5)])


def test_pad_batch_brings_cond_and_uncond_to_one_length():
    cond, cond_mask = pad_embeddings([torch.randn(4, 3), torch.randn(2, 3)])
    emb, mask = pad_batch(cond, cond_mask, 6)
    assert emb.shape == (2, 6, 3) and torch.equal(mask[:, :4], cond_mask) and not mask[:, 4:].any()
    assert torch.equal(emb[:, :4], cond) and emb[:, 4:].abs().sum() == 0


def test_unbatch_rejects_left_padding():
    mask = torch.tensor([[False, True]])
    with pytest.raises(ValueError, match="left padding"):
        unbatch_embeddings(torch.zeros(1, 2, 3), mask)


@pytest.mark.parametrize("embeddings, got", [("abc", "got str"), ([None], "got a list holding a NoneType"),
                                             (torch.zeros(2, 3, 4), "got Tensor")])
def test_pad_embeddings_names_what_is_not_a_list_of_tensors(embeddings, got):
    with pytest.raises(TypeError, match=f"pad_embeddings: expected a list of \\[tokens, dim\\] tensors, {got}"):
        pad_embeddings(embeddings)
