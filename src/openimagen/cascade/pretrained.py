"""`save_pretrained` / `from_pretrained`: config.json + one safetensors file per stage (EMA weights, optionally the
raw ones too). Loading never unpickles and needs nothing from training."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from openimagen.cascade.config import CascadeConfig
from openimagen.cascade.saved_folder import (FORMAT, VERSION, check_finite, check_tensor_shapes, damaged,
                                             read_saved_config)
from openimagen.files import give_default_mode, replace_directory
from openimagen.nn import build_network, config_from_dict, config_to_dict
from openimagen.config import from_dict, to_dict

__all__ = ["save_cascade", "load_cascade", "load_stage_weights", "FORMAT", "SaveError", "check_save_folder"]


class SaveError(ValueError):
    """A cascade cannot be saved to a folder: it cannot be written, or holds something that is not a saved cascade."""


def _holds_saved_cascade(directory: Path) -> bool:
    try:
        saved = json.loads((directory / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(saved, dict) and saved.get("format") == FORMAT


def check_save_folder(directory: str | Path) -> None:
    """Saving replaces `directory` as a whole: it may be new, empty, or a saved cascade, never a file or a folder
    holding anything else (which saving would delete)."""
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise SaveError(f"{directory} is a file, not a folder; save to a new folder (or over a saved cascade)")
    if directory.is_dir() and any(directory.iterdir()) and not _holds_saved_cascade(directory):
        raise SaveError(f"{directory} is a folder that does not hold a saved cascade (no openimagen config.json), "
                        "and saving would delete what is in it; save to a new folder, or empty it first")


def _tensors(network: nn.Module, dtype: torch.dtype | None = None) -> dict[str, torch.Tensor]:
    return {k: (v.to(dtype) if dtype is not None and v.is_floating_point() else v).detach().cpu().contiguous().clone()
            for k, v in network.state_dict().items()}


def save_cascade(cascade, directory: str | Path, raw_networks: list[nn.Module] | None = None,
                 dtype: torch.dtype | None = None) -> Path:
    """Write the cascade to `directory` atomically (temp dir + rename): stage-N.safetensors holds the weights the
    cascade samples with (EMA after training), stage-N.raw.safetensors the raw ones if given; floating-point
    tensors are stored as `dtype` if given (e.g. float16 for a shipped model). `directory` may be new, empty or a
    saved cascade (`check_save_folder`); a failed write leaves nothing behind and raises SaveError."""
    directory = Path(directory)
    if dtype not in (None, torch.float32, torch.float16, torch.bfloat16):
        raise ValueError(f"dtype must be None, torch.float32, torch.float16 or torch.bfloat16, got {dtype!r}")
    if raw_networks is not None and len(raw_networks) != len(cascade.networks):
        raise ValueError(f"raw_networks: need {len(cascade.networks)} networks, got {len(raw_networks)}")
    check_save_folder(directory)
    tmp = directory.with_name(f".{directory.name}.tmp-{os.getpid()}")
    try:
        _write_folder(cascade, tmp, raw_networks, dtype)
        replace_directory(tmp, directory)
    except (OSError, SafetensorError) as error:
        shutil.rmtree(tmp, ignore_errors=True)
        raise SaveError(f"cannot write {directory}: {getattr(error, 'strerror', None) or error}; free some space "
                        "there or save to another folder") from error
    return directory


def _write_folder(cascade, tmp: Path, raw_networks, dtype) -> None:
    """config.json and the stage files into the fresh folder `tmp`."""
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    stages = []
    for number, network in enumerate(cascade.networks, start=1):
        record = {"weights": f"stage-{number}.safetensors", "network": config_to_dict(network.config)}
        save_file(_tensors(network, dtype), str(tmp / record["weights"]))
        if raw_networks is not None:
            record["raw_weights"] = f"stage-{number}.raw.safetensors"
            save_file(_tensors(raw_networks[number - 1], dtype), str(tmp / record["raw_weights"]))
        stages.append(record)
    config = {"format": FORMAT, "version": VERSION, "cascade": to_dict(cascade.config),
              "text_encoder": cascade.config.text_encoder, "stages": stages}
    (tmp / "config.json").write_text(json.dumps(config, indent=1))
    for written in tmp.iterdir():
        give_default_mode(written)


def load_cascade(directory: str | Path, weights: str = "ema", embedder=None, device: str | torch.device = "cpu"):
    """Inverse of save_cascade. `weights="raw"` loads the raw (non-EMA) weights when they were saved. A missing or
    damaged file, or weights that do not fit the config's networks, raise ModelFolderError naming the file."""
    from openimagen.cascade.pipeline import Cascade

    directory = Path(directory)
    saved = read_saved_config(directory)
    networks = []
    for number, record in enumerate(saved["stages"], start=1):
        with torch.device("meta"):
            network = build_network(config_from_dict(record["network"]))
        network.load_state_dict(load_stage_weights(directory, number, weights, device, saved), assign=True)
        networks.append(network)
    return Cascade(from_dict(CascadeConfig, saved["cascade"]), networks, embedder)


def load_stage_weights(directory: str | Path, number: int, weights: str = "ema", device: str | torch.device = "cpu",
                       saved: dict | None = None) -> dict[str, torch.Tensor]:
    """Stage `number`'s tensors (float32 copies) from a saved folder, checked against the network its config.json
    builds and free of NaN/inf (ModelFolderError naming the file otherwise); e.g. to start a fine-tune from them."""
    directory = Path(directory)
    if weights not in ("ema", "raw"):
        raise ValueError(f"weights: expected 'ema' or 'raw', got {weights!r}")
    saved = saved or read_saved_config(directory)
    if not 1 <= number <= len(saved["stages"]):
        raise ValueError(f"{directory} has stages 1..{len(saved['stages'])}, not {number}")
    record = saved["stages"][number - 1]
    key = "weights" if weights == "ema" else "raw_weights"
    if key not in record:
        raise FileNotFoundError(f"stage {number} of {directory} has no raw weights; load weights='ema'")
    with torch.device("meta"):
        network = build_network(config_from_dict(record["network"]))
    path = directory / record[key]
    try:
        tensors = load_file(str(path), device=str(device))
    except Exception as error:  # noqa: BLE001 - safetensors raises its own error types for damaged files
        raise damaged(path, error) from error
    check_tensor_shapes(path, number, {k: v.shape for k, v in network.state_dict().items()},
                        {k: v.shape for k, v in tensors.items()})
    check_finite(path, tensors.items())
    # clone: memory-mapped file tensors make every forward slow; fp16-stored weights compute in fp32
    return {k: v.to(torch.float32, copy=True) if v.is_floating_point() else v.clone() for k, v in tensors.items()}
