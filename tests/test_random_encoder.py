"""scripts/random_encoder.py: the ablation's encoder is MiniLM's architecture and tokenizer without its training."""
import importlib.util
from pathlib import Path

import pytest
import torch

from openimagen.text import load_encoder

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "random_encoder.py"
spec = importlib.util.spec_from_file_location("random_encoder", SCRIPT)
random_encoder = importlib.util.module_from_spec(spec)
spec.loader.exec_module(random_encoder)

PROMPTS = ["a red circle", "a crimson circle", "three small blue squares on the left"]


def cosine(a, b):
    return torch.nn.functional.cosine_similarity(a.flatten(), b.flatten(), dim=0).item()


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("encoders")
    return {name: random_encoder.write_random_encoder(root / name, seed=seed)
            for name, seed in (("a", 0), ("a_again", 0), ("b", 1))}


def test_same_tokens_and_shapes_as_minilm_but_other_features(folders):
    pretrained, random = load_encoder(max_length=16), load_encoder(folders["a"], max_length=16)
    assert torch.equal(pretrained.tokenize(PROMPTS)[0], random.tokenize(PROMPTS)[0])
    (real, real_mask), (fake, fake_mask) = pretrained.encode(PROMPTS), random.encode(PROMPTS)
    assert fake.shape == real.shape and torch.equal(real_mask, fake_mask)
    assert abs(cosine(real, fake)) < 0.2            # unrelated features, not a copy or a rescaling
    assert random.id != pretrained.id               # caches made with one are refused for the other


def test_seed_decides_the_weights(folders):
    def encode(name):
        return load_encoder(folders[name], max_length=16).encode(PROMPTS)[0]

    assert torch.equal(encode("a"), encode("a_again"))
    assert not torch.allclose(encode("a"), encode("b"))


def test_never_overwrites_and_leaves_no_partial_folder(folders):
    with pytest.raises(FileExistsError, match="already exists"):
        random_encoder.write_random_encoder(folders["a"])
    assert sorted(p.name for p in folders["a"].parent.iterdir()) == ["a", "a_again", "b"]
