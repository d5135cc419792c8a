"""Frozen text encoders: the real offline MiniLM, a tiny random T5 loaded by path, and the missing-model error."""

import subprocess
import sys
import warnings

import pytest
import torch

from openimagen.text import EncoderNotFoundError, TruncationWarning, load_encoder


@pytest.fixture(scope="module")
def minilm():
    return load_encoder()


def masked_mean(emb, mask):
    return (emb * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)


def test_minilm_embeddings_are_deterministic(minilm):
    prompts = ["a red circle", "two green triangles on a white background"]
    first, second = minilm.encode(prompts), minilm.encode(prompts)
    assert torch.equal(first[0], second[0]) and torch.equal(first[1], second[1])
    assert first[0].dtype == torch.float32 and first[0].shape[-1] == minilm.dim == 384


def test_minilm_mask_matches_the_tokenizer_and_padding_is_zero(minilm):
    prompts = ["a red circle", "two small green triangles next to a big yellow star"]
    emb, mask = minilm.encode(prompts)
    lengths = [len(ids) for ids in minilm.tokenizer(prompts)["input_ids"]]   # [CLS] ... [SEP]
    assert mask.sum(1).tolist() == lengths
    assert mask.shape[1] == max(lengths)
    assert emb[0, lengths[0]:].abs().sum() == 0 and emb[0, :lengths[0]].abs().sum() > 0


def test_semantically_close_prompts_are_closer_than_unrelated_ones(minilm):
    emb, mask = minilm.encode(["a red circle", "a crimson disk", "four blue squares"])
    pooled = torch.nn.functional.normalize(masked_mean(emb, mask), dim=-1)
    cosine = pooled @ pooled.T
    assert cosine[0, 1] > cosine[0, 2] + 0.05, cosine


def test_padding_does_not_change_the_embeddings_of_real_tokens(minilm):
    alone, alone_mask = minilm.encode(["a red circle"])
    batched, batched_mask = minilm.encode(["a red circle", "a very long prompt " * 10])
    n = int(alone_mask.sum())
    torch.testing.assert_close(batched[0, :n], alone[0, :n], atol=1e-5, rtol=1e-4)


def test_blank_prompt_is_unconditional_with_zero_real_tokens(minilm):
    emb, mask = minilm.encode(["", "a red circle", "   "])
    assert not mask[0].any() and not mask[2].any() and mask[1].any()
    assert emb[0].abs().sum() == 0 and emb[2].abs().sum() == 0
    only_blank, only_blank_mask = minilm.encode(["", ""])
    assert only_blank.shape == (2, 1, 384) and not only_blank_mask.any()


def test_encoder_output_can_enter_a_training_graph(minilm):
    emb, mask = minilm.encode(["a red circle"])
    assert not emb.is_inference() and not emb.requires_grad
    layer = torch.nn.Linear(384, 4)
    layer(emb).sum().backward()                      # would fail on an inference-mode tensor
    assert layer.weight.grad is not None
    assert all(not p.requires_grad for p in minilm.model.parameters()) and not minilm.model.training


def test_truncation_warns_once_per_batch_with_the_count(minilm):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        emb, mask = minilm.encode(["word " * 200, "a red circle", "circle " * 150])
    cut = [w for w in caught if issubclass(w.category, TruncationWarning)]
    assert len(cut) == 1 and "2 of 3 prompts" in str(cut[0].message)
    assert mask.shape[1] == minilm.max_length == 128


def test_id_is_stable_and_names_weights_and_max_length(minilm):
    assert load_encoder("minilm").id == minilm.id
    assert minilm.id.startswith("all-MiniLM-L6-v2@") and minilm.id.endswith(":len128")
    assert load_encoder(None, max_length=32).id != minilm.id


def make_tiny_t5(folder):
    """A 2-layer random T5 with the ByT5 tokenizer (needs no vocabulary file), saved like a hub checkpoint."""
    from transformers import ByT5Tokenizer, T5Config, T5ForConditionalGeneration

    torch.manual_seed(0)
    config = T5Config(vocab_size=384, d_model=32, d_kv=8, d_ff=64, num_layers=2, num_heads=4)
    T5ForConditionalGeneration(config).save_pretrained(folder)
    ByT5Tokenizer().save_pretrained(folder)
    return folder


def test_tiny_t5_saved_to_a_folder_goes_through_the_t5_encoder_path(tmp_path):
    from transformers import T5EncoderModel

    folder = make_tiny_t5(tmp_path / "tiny-t5")
    encoder = load_encoder(str(folder), max_length=16)
    assert type(encoder.model) is T5EncoderModel and encoder.dim == 32
    assert encoder.id.startswith("tiny-t5@") and encoder.id != load_encoder().id
    emb, mask = encoder.encode(["abc", "hello world"])
    reference = T5EncoderModel.from_pretrained(folder).eval()
    ids = encoder.tokenizer(["hello world"], return_tensors="pt")["input_ids"]   # bytes + </s>
    assert mask[1].sum() == ids.shape[1] == 12
    torch.testing.assert_close(emb[1, :12], reference(input_ids=ids).last_hidden_state[0], atol=1e-5, rtol=1e-4)


def test_missing_model_offline_names_the_model_where_we_looked_and_the_fix(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(EncoderNotFoundError) as error:
        load_encoder("no-such-org/t5-that-is-not-downloaded")
    message = str(error.value)
    for expected in ("no-such-org/t5-that-is-not-downloaded", "Hugging Face cache", "HF_HUB_OFFLINE", "folder path"):
        assert expected in message


def test_folder_without_config_is_rejected_with_a_clear_error(tmp_path):
    with pytest.raises(EncoderNotFoundError, match="no config.json"):
        load_encoder(str(tmp_path))


def test_importing_the_text_package_loads_no_model_library():
    code = "import sys, openimagen.text; assert 'transformers' not in sys.modules, 'transformers imported'"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def tiny_configs():
    from transformers import BertConfig, CLIPConfig, CLIPTextConfig, MT5Config, UMT5Config

    small = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4)
    t5 = dict(vocab_size=384, d_model=32, d_kv=8, d_ff=64, num_layers=2, num_heads=4)
    clip_text = dict(vocab_size=30522, max_position_embeddings=77, **small)
    return {
        "mt5": (MT5Config(**t5), "MT5ForConditionalGeneration", "MT5EncoderModel", "byt5"),
        "umt5": (UMT5Config(**{**t5, "vocab_size": 30522}), "UMT5ForConditionalGeneration", "UMT5EncoderModel",
                 "bert"),
        "bert": (BertConfig(vocab_size=30522, **small), "BertModel", "BertModel", "bert"),
        "clip-text": (CLIPTextConfig(**clip_text), "CLIPTextModel", "CLIPTextModel", "bert"),
        "clip-full": (CLIPConfig(text_config=clip_text, vision_config=dict(image_size=32, patch_size=16, **small)),
                      "CLIPModel", "CLIPTextModel", "bert"),
    }


@pytest.mark.parametrize("family", ["mt5", "umt5", "bert", "clip-text", "clip-full"])
def test_each_encoder_family_loads_its_encoder_class_from_a_folder(family, minilm, tmp_path):
    import transformers

    config, saved_class, loaded_class, tokenizer = tiny_configs()[family]
    torch.manual_seed(0)
    getattr(transformers, saved_class)(config).save_pretrained(tmp_path)
    (transformers.ByT5Tokenizer() if tokenizer == "byt5" else minilm.tokenizer).save_pretrained(tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        encoder = load_encoder(str(tmp_path))                  # max_length 128
    assert type(encoder.model).__name__ == loaded_class and encoder.dim == 32
    if family.startswith("clip"):                              # CLIP has 77 positions: clamped, with a warning
        assert encoder.max_length == 77 and any("77 positions" in str(w.message) for w in caught)
    emb, mask = encoder.encode(["a red circle", ""])
    assert emb.shape[-1] == 32 and mask[0].any() and not mask[1].any() and torch.isfinite(emb).all()


def test_repo_id_is_found_in_the_hugging_face_cache_offline(tmp_path, monkeypatch):
    import huggingface_hub.constants

    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "hub" / "models--test-org--tiny-t5"
    make_tiny_t5(repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    encoder = load_encoder("test-org/tiny-t5", max_length=16)
    assert encoder.name == "test-org/tiny-t5" and encoder.id.startswith("test-org/tiny-t5@") and encoder.dim == 32


def test_layers_concatenate_the_models_own_hidden_states(minilm):
    both = load_encoder(layers=(0, -1))
    prompts = ["a red circle on the left", ""]
    emb, mask = both.encode(prompts)
    assert both.dim == emb.shape[-1] == 2 * minilm.dim and both.id == minilm.id + ":layers0,-1"
    ids = minilm.tokenizer(prompts[:1], return_tensors="pt")
    with torch.no_grad():
        hidden = minilm.model(**ids, output_hidden_states=True).hidden_states   # independent of encode()
    n = int(mask[0].sum())
    torch.testing.assert_close(emb[0, :n, :384], hidden[0][0, :n])
    torch.testing.assert_close(emb[0, :n, 384:], minilm.encode(prompts[:1])[0][0, :n])
    assert emb[1].abs().sum() == 0 and not mask[1].any()


def test_layers_out_of_range_are_refused_with_the_range():
    with pytest.raises(ValueError, match=r"in \[-7, 6\].*got \[7\]"):
        load_encoder(layers=(7,))


@pytest.mark.parametrize("device, phrase", [("nope", "device must be a torch device such as 'cpu'.*got 'nope'"),
                                            ("cuda:99", "device 'cuda:99' is not available on this machine")])
def test_a_device_this_machine_lacks_is_named_before_the_weights_load(device, phrase):
    with pytest.raises(ValueError, match=phrase):
        load_encoder(device=device)
