"""Checks of a saved cascade folder (config.json + stage-N.safetensors) that name the file and what is wrong: a
missing or damaged file, a config without stages, weights that do not fit the network the config builds (e.g. the
stage files swapped). Used by `load_cascade` and `openimagen info`, so neither reports a damaged folder as fine."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

__all__ = ["ModelFolderError", "read_saved_config", "check_tensor_shapes", "check_finite", "check_file_is_finite",
           "header_shapes", "FORMAT", "VERSION"]

FORMAT, VERSION = "openimagen-cascade", 1
TOP_LEVEL_KEYS = frozenset({"format", "version", "cascade", "text_encoder", "stages"})
RECORD_KEYS = frozenset({"weights", "raw_weights", "network"})
_REWRITE = "write the folder again with Cascade.save_pretrained (or `openimagen export`)"


class ModelFolderError(ValueError):
    """A saved cascade folder is incomplete or damaged; the message names the file and what to do."""


def read_saved_config(directory: str | Path) -> dict:
    """config.json, with its structure checked: format and version, a stage record (weights file, network table)
    per stage of the cascade config, and every weights file present."""
    directory = Path(directory)
    path = directory / "config.json"
    if not path.is_file():
        raise FileNotFoundError(f"{str(directory)!r} is not a saved cascade (no config.json); "
                                f"write one with Cascade.save_pretrained")
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelFolderError(f"{path} is unreadable ({error}); {_REWRITE}") from error
    if not isinstance(saved, dict) or saved.get("format") != FORMAT or saved.get("version") != VERSION:
        raise ModelFolderError(f"{path} is not a version-{VERSION} {FORMAT} config")
    stages, cascade = saved.get("stages"), saved.get("cascade")
    if not isinstance(cascade, dict) or not isinstance(cascade.get("stages"), list):
        raise ModelFolderError(f"{path} has no 'cascade' table with a 'stages' list; {_REWRITE}")
    if not isinstance(stages, list) or len(stages) != len(cascade["stages"]) or not stages:
        raise ModelFolderError(f"{path} needs a 'stages' list with one record per stage of 'cascade' "
                               f"({len(cascade['stages'])}); {_REWRITE}")
    for number, record in enumerate(stages, start=1):
        if not isinstance(record, dict) or not isinstance(record.get("weights"), str) \
                or not isinstance(record.get("network"), dict):
            raise ModelFolderError(f"{path}: stage {number}'s record needs 'weights' (a file name) and 'network' "
                                   f"(a table); {_REWRITE}")
        for key in ("weights", "raw_weights"):
            if key in record and not (directory / record[key]).is_file():
                raise ModelFolderError(f"{directory / record[key]} is missing (stage {number}'s {key} in "
                                       f"config.json); copy the whole model folder, or {_REWRITE}")
    check_known_keys(path, saved)
    return saved


def check_known_keys(path: Path, saved: dict) -> None:
    """No key that this version does not read, at any level (top, stage record, network table, cascade and stage
    configs): a newer format bumps "version", so an unknown key is a damaged or hand-edited file, never ignored."""
    from openimagen.cascade.config import CascadeConfig
    from openimagen.config import ConfigError, from_dict
    from openimagen.nn import config_from_dict
    from openimagen.nn.presets import PRESETS

    unknown = sorted(set(saved) - TOP_LEVEL_KEYS)
    if unknown:
        raise ModelFolderError(f"{path}: unknown key {unknown[0]!r} (known: {', '.join(sorted(TOP_LEVEL_KEYS))}); "
                               f"remove it, or {_REWRITE}")
    for number, record in enumerate(saved["stages"], start=1):
        unknown = sorted(set(record) - RECORD_KEYS)
        if unknown:
            raise ModelFolderError(f"{path}: unknown key {unknown[0]!r} in stage {number}'s record (known: "
                                   f"{', '.join(sorted(RECORD_KEYS))}); remove it, or {_REWRITE}")
        network = record["network"]
        unknown = unknown_network_keys(network)
        if unknown:
            raise ModelFolderError(f"{path}: unknown key {unknown[0]!r} in stage {number}'s network table (no such "
                                   f"{network['kind']} setting); remove it, or {_REWRITE}")
        try:
            config_from_dict(network)
        except (ValueError, TypeError) as error:
            raise ModelFolderError(f"{path}: stage {number}'s network: {error}; {_REWRITE}") from error
    try:
        cascade = from_dict(CascadeConfig, saved["cascade"], where="cascade")
    except (ConfigError, ValueError, TypeError) as error:
        raise ModelFolderError(f"{path}: {error}; {_REWRITE}") from error
    for number, stage in enumerate(cascade.stages, start=1):
        if isinstance(stage.network, str) and stage.network not in PRESETS:
            raise ModelFolderError(f"{path}: cascade.stages.{number}.network {stage.network!r} is no network preset "
                                   f"of this openimagen (known: {', '.join(sorted(PRESETS))}); {_REWRITE}")
        unknown = unknown_network_keys(stage.network) if isinstance(stage.network, dict) else []
        if unknown:
            raise ModelFolderError(f"{path}: unknown key {unknown[0]!r} in cascade.stages.{number}.network (no such "
                                   f"{stage.network['kind']} setting); remove it, or {_REWRITE}")


def unknown_network_keys(table: dict) -> list[str]:
    """Keys of a network table (with "kind") that its kind's config does not have; [] for an unknown kind."""
    from openimagen.nn.config import CONFIG_KINDS

    known = CONFIG_KINDS.get(table.get("kind"))
    return sorted(set(table) - {"kind"} - {f.name for f in dataclasses.fields(known)}) if known else []


def header_shapes(path: Path) -> dict[str, tuple[int, ...]]:
    """Tensor name -> shape from a safetensors header (no tensor data is read)."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), "pt") as handle:
            return {key: tuple(handle.get_slice(key).get_shape()) for key in handle.keys()}
    except Exception as error:  # noqa: BLE001 - safetensors raises its own error types for damaged headers
        raise damaged(path, error) from error


def damaged(path: Path, error: Exception) -> ModelFolderError:
    return ModelFolderError(f"{path} is not a readable safetensors file (truncated or damaged: {error}); copy it "
                            f"again, or {_REWRITE}")


def check_tensor_shapes(path: Path, number: int, expected: dict[str, tuple], found: dict[str, tuple]) -> None:
    """The weights file of stage `number` holds exactly the tensors its network (built from config.json) has."""
    missing = sorted(set(expected) - set(found))
    unexpected = sorted(set(found) - set(expected))
    reshaped = sorted(k for k in set(expected) & set(found) if tuple(expected[k]) != tuple(found[k]))
    if not (missing or unexpected or reshaped):
        return
    problems = []
    if missing:
        problems.append(f"{len(missing)} tensor(s) missing (e.g. {missing[0]!r})")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected (e.g. {unexpected[0]!r})")
    if reshaped:
        key = reshaped[0]
        problems.append(f"{len(reshaped)} of another shape (e.g. {key!r}: {list(found[key])} in the file, "
                        f"{list(expected[key])} for the network)")
    raise ModelFolderError(f"{path} does not fit stage {number}'s network in config.json: {', '.join(problems)}; "
                           "was it written for another stage or model?")


def check_finite(path: Path, tensors) -> None:
    """Every tensor of (name, tensor) pairs read from `path` is finite: overwritten bytes (e.g. 0xFF) decode as NaN
    and would sample all-black images without a word."""
    import torch

    for name, tensor in tensors:
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise ModelFolderError(f"{path}: tensor {name!r} contains NaN/inf values: the file is damaged; "
                                   f"re-download or copy it again, or {_REWRITE}")


def check_file_is_finite(path: Path) -> None:
    """`check_finite` on every tensor of a safetensors file, read one at a time."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), "pt") as handle:
            check_finite(path, ((key, handle.get_tensor(key)) for key in handle.keys()))
    except ModelFolderError:
        raise
    except Exception as error:  # noqa: BLE001 - safetensors raises its own error types for damaged files
        raise damaged(path, error) from error
