"""The embedding cache is checked against the cascade always: its token length at start, its hit rate early on."""

import logging

import pytest

from openimagen.cascade import TextEmbedder
from openimagen.text import CacheError, EmbeddingCache, load_encoder
from openimagen.train.config import load_config
from openimagen.train.stage_run import make_embedder
from cascade_helpers import one_thread  # noqa: F401 - autouse fixture
from cli_helpers import assert_one_line_error, cli

CAPTIONS = ["a red circle", "two blue squares", "a green triangle"]


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cache")
    (folder / "captions.txt").write_text("\n".join(CAPTIONS) + "\n")
    result = cli("encode", folder / "captions.txt", folder / "cache", "--max-length", 16, "--threads", 1)
    assert result.exit_code == 0, result.output
    return folder / "cache"


def test_a_cache_of_another_length_is_refused_even_when_every_caption_is_cached(cache_dir, tmp_path):
    config = load_config("configs/tiny-2stage.toml", [f"data.embedding_cache={cache_dir}",
                                                      f"train.output_dir={tmp_path}"])
    assert config.cascade.max_text_length == 32
    with pytest.raises(CacheError, match="encoded with --max-length 16, but the cascade reads 32 tokens"):
        make_embedder(config)


def test_train_stops_with_one_line_naming_the_cache_and_both_lengths(cache_dir, tmp_path):
    result = cli("train", "configs/tiny-2stage.toml", "--set", f"data.embedding_cache={cache_dir}",
                 "--set", f"train.output_dir={tmp_path}")
    assert_one_line_error(result, f"the embedding cache {cache_dir} was encoded with --max-length 16")


def test_a_low_hit_rate_is_reported_once(cache_dir, caplog):
    embedder = TextEmbedder(lambda: load_encoder("minilm", max_length=16), EmbeddingCache(cache_dir), max_length=16)
    with caplog.at_level(logging.WARNING):
        for start in range(0, 512, 128):
            embedder([f"caption number {i}" for i in range(start, start + 128)])
    warnings = [r.getMessage() for r in caplog.records if "embedding cache" in r.getMessage()]
    assert len(warnings) == 1 and "only 0 of the first 256 captions were found" in warnings[0]


def test_a_high_hit_rate_is_silent(cache_dir, caplog):
    embedder = TextEmbedder(None, EmbeddingCache(cache_dir), max_length=16)
    with caplog.at_level(logging.WARNING):
        for _ in range(100):
            embedder(CAPTIONS)
    assert embedder.cache_hits == 300 and embedder.encoder_forwards == 0
    assert not [r for r in caplog.records if "embedding cache" in r.getMessage()]


def test_a_cache_of_other_encoder_layers_is_refused_before_training(cache_dir, tmp_path):
    config = load_config("configs/tiny-2stage.toml", [f"data.embedding_cache={cache_dir}", f"train.output_dir={tmp_path}",
                                                      "cascade.max_text_length=16", "cascade.text_encoder_layers=[0,-1]"])
    with pytest.raises(CacheError, match=r"hidden states \[-1\], but cascade.text_encoder_layers = \[0, -1\].*"
                                         r"--layers 0,-1"):
        make_embedder(config)
