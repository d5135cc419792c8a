"""Frozen text encoders (Imagen Sec. 2.1) and the on-disk cache of their caption embeddings. See docs/text.md."""

from openimagen.text.cache_format import CacheError
from openimagen.text.cache_reader import EmbeddingCache
from openimagen.text.cache_writer import EncodeResult, encode_captions
from openimagen.text.captions import read_captions
from openimagen.text.encoder import TextEncoder, TruncationWarning
from openimagen.text.loading import EncoderNotFoundError, load_encoder
from openimagen.text.padding import pad_batch, pad_embeddings, unbatch_embeddings

__all__ = [
    "CacheError", "EmbeddingCache", "EncodeResult", "EncoderNotFoundError", "TextEncoder", "TruncationWarning",
    "encode_captions", "load_encoder", "pad_batch", "pad_embeddings", "read_captions", "unbatch_embeddings",
]
