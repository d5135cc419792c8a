"""Checkpoint directories: tensors in safetensors, everything else in JSON, written atomically, verified on load.

Layout: `<root>/step-00001000/{model,ema,optimizer,rng}.safetensors + state.json`. A directory is first written as
`<root>/.tmp-step-...` (every file fsynced, then the directory) and renamed into place, so a crash never leaves a
half-written checkpoint behind a valid name. state.json records the sha256 of every tensor file; loading checks them,
so a truncated, zeroed or overwritten file is found and named, and resume falls back to the newest intact one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
from pathlib import Path
from typing import Any, Callable

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from openimagen.files import give_default_mode, replace_directory, write_json_atomic

__all__ = ["save_checkpoint", "load_checkpoint", "latest_checkpoint", "latest_good_checkpoint",
           "load_latest_good_checkpoint", "list_checkpoints", "CheckpointError", "CheckpointWriteError",
           "verify_checkpoint", "remove_stale_temp_dirs", "set_aside_newer_checkpoints"]

logger = logging.getLogger(__name__)

_NAME = re.compile(r"^step-(\d{8,})$")
STATE_FILE = "state.json"


class CheckpointError(RuntimeError):
    """A checkpoint directory is damaged or incomplete; the message names the file."""


class CheckpointWriteError(CheckpointError):
    """A checkpoint could not be written (full or read-only disk); the message names the folder."""


def _sha256_and_fsync(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb+") as handle:
        for chunk in iter(lambda: handle.read(1 << 24), b""):
            digest.update(chunk)
        os.fsync(handle.fileno())
    return digest.hexdigest()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 24), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def list_checkpoints(root: str | Path) -> list[Path]:
    """Complete checkpoint directories under `root`, oldest first (incomplete or temp dirs are ignored)."""
    root = Path(root)
    if not root.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in root.iterdir() if (m := _NAME.match(p.name)) and (p / STATE_FILE).is_file()]
    return [p for _, p in sorted(found)]


def latest_checkpoint(root: str | Path) -> Path | None:
    checkpoints = list_checkpoints(root)
    return checkpoints[-1] if checkpoints else None


def save_checkpoint(root: str | Path, step: int, tensors: dict[str, dict[str, torch.Tensor]], state: dict,
                    keep_last: int = 3) -> Path:
    """Write `tensors[name]` to `name.safetensors` and `state` to state.json in `root/step-N`, atomically; then
    delete all but the newest `keep_last` checkpoints. Returns the checkpoint directory. A write that fails (a full
    or read-only disk) removes its temp directory and raises CheckpointWriteError naming `root`."""
    root = Path(root)
    final = root / f"step-{step:08d}"
    tmp = root / f".tmp-{final.name}-{os.getpid()}"
    try:
        root.mkdir(parents=True, exist_ok=True)
        _write_directory(tmp, tensors, {**state, "step": step})
        _replace_directory(tmp, final)
    except (OSError, SafetensorError) as error:
        shutil.rmtree(tmp, ignore_errors=True)
        reason = getattr(error, "strerror", None) or str(error)
        raise CheckpointWriteError(f"cannot write checkpoint {final.name} in {root} ({reason}); free some space "
                                   "there (or set another train.output_dir) and rerun to resume from the last "
                                   "checkpoint") from error
    for old in list_checkpoints(root)[:-keep_last]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def _write_directory(tmp: Path, tensors: dict[str, dict[str, torch.Tensor]], state: dict) -> None:
    """Every tensor group and state.json (with the files' sha256) into a fresh `tmp`, all fsynced."""
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    checksums = {}
    for name, group in tensors.items():
        # clone: safetensors refuses shared storage (tied weights) and needs contiguous CPU tensors
        file = tmp / f"{name}.safetensors"
        save_file({k: v.detach().to("cpu").contiguous().clone() for k, v in group.items()}, str(file))
        give_default_mode(file)                        # safetensors creates 0600 files
        checksums[file.name] = _sha256_and_fsync(file)
    write_json_atomic(tmp / STATE_FILE, {**state, "tensor_files": sorted(tensors), "sha256": checksums},
                      fsync=True, allow_nan=True, indent=1, sort_keys=True)
    _fsync_dir(tmp)


def _replace_directory(tmp: Path, final: Path) -> None:
    """Rename `tmp` to `final` (replacing it: re-saving the same step, e.g. a signal right after a periodic save)."""
    replace_directory(tmp, final)
    _fsync_dir(final.parent)


def _read_state(path: Path) -> dict:
    state_file = path / STATE_FILE
    if not state_file.is_file():
        raise FileNotFoundError(f"{str(path)!r} is not a checkpoint directory (no {STATE_FILE}); "
                                f"pass a step-NNNNNNNN directory written by the trainer")
    try:
        state = json.loads(state_file.read_text())
    except (ValueError, UnicodeDecodeError) as error:
        raise CheckpointError(f"checkpoint file {state_file} is damaged (not valid JSON: {error})") from None
    if not isinstance(state, dict) or not isinstance(state.get("tensor_files"), list):
        raise CheckpointError(f"checkpoint file {state_file} is damaged (no tensor_files list)")
    return state


def verify_checkpoint(path: str | Path) -> dict:
    """Check that every tensor file of checkpoint `path` is present and has the sha256 recorded in state.json
    (checkpoints written before checksums existed are only checked for presence). Returns the state;
    raises CheckpointError naming the first bad file."""
    path = Path(path)
    state = _read_state(path)
    checksums = state.get("sha256", {})
    for name in state["tensor_files"]:
        file = path / f"{name}.safetensors"
        if not file.is_file():
            raise CheckpointError(f"checkpoint file {file} is missing")
        expected = checksums.get(file.name)
        if expected is not None and _sha256(file) != expected:
            raise CheckpointError(f"checkpoint file {file} is damaged (sha256 differs from {STATE_FILE})")
    return state


def load_checkpoint(path: str | Path) -> tuple[dict[str, dict[str, torch.Tensor]], dict]:
    """Inverse of save_checkpoint: ({name: tensors}, state), verified first. Never unpickles anything."""
    path = Path(path)
    state = verify_checkpoint(path)
    tensors = {}
    for name in state["tensor_files"]:
        file = path / f"{name}.safetensors"
        try:
            tensors[name] = load_file(str(file))
        except Exception as error:  # noqa: BLE001 - safetensors raises several types for a damaged header
            raise CheckpointError(f"checkpoint file {file} is damaged ({error})") from None
    return tensors, state


def _newest_good(root: str | Path, load: Callable[[Path], Any], what_to_do: str) -> tuple[Path, Any] | None:
    """(path, load(path)) of the newest checkpoint under `root` that `load` accepts; each damaged newer one is
    logged as a warning naming its bad file. None if there is none at all; CheckpointError naming the newest
    damaged file if all are damaged."""
    checkpoints = list_checkpoints(root)
    errors = []
    for path in reversed(checkpoints):
        try:
            loaded = load(path)
        except CheckpointError as error:
            errors.append(error)
            continue
        for error in errors:
            logger.warning(f"{error}; skipped that checkpoint, fell back to {path.name}")
        return path, loaded
    if errors:
        older = f" (and the {len(errors) - 1} older one(s))" if len(errors) > 1 else ""
        raise CheckpointError(f"every checkpoint in {root} is damaged: {errors[0]}{older}; {what_to_do}")
    return None


def load_latest_good_checkpoint(root: str | Path) -> tuple[Path, dict, dict] | None:
    """(path, tensors, state) of the newest checkpoint under `root` that loads and verifies; each damaged newer one
    is logged as a warning naming its bad file. None if there is none at all; CheckpointError if all are damaged."""
    found = _newest_good(root, load_checkpoint, "set train.resume = 'never' to start over, or restore one")
    return None if found is None else (found[0], *found[1])


def latest_good_checkpoint(root: str | Path) -> Path | None:
    """Like `load_latest_good_checkpoint`, but only verifies: the newest intact checkpoint directory."""
    found = _newest_good(root, verify_checkpoint, "restore one, or pass another with --checkpoint STAGE=DIR")
    return None if found is None else found[0]


def _step(path: Path) -> int:
    return int(_NAME.match(path.name).group(1))


def set_aside_newer_checkpoints(root: str | Path, kept: Path) -> list[Path]:
    """Rename every checkpoint under `root` newer than `kept` (resuming skipped them as damaged) to
    `damaged-step-N`: no longer resumed from, nor counted by `keep_last` in place of an intact one; left for a look
    (delete them at will). Returns the new paths."""
    moved = []
    for path in list_checkpoints(root):
        if _step(path) > _step(kept):
            target = path.with_name(f"damaged-{path.name}")
            shutil.rmtree(target, ignore_errors=True)      # set aside before: this one is newer news
            os.replace(path, target)
            moved.append(target)
    return moved


def remove_stale_temp_dirs(root: str | Path) -> list[Path]:
    """Delete `.tmp-step-*` / `.trash-step-*` directories left by a process killed mid-save (call it while holding
    the run's lock, so no live writer owns them). Returns what was removed."""
    root = Path(root)
    stale = [p for p in root.glob(".t*-step-*") if p.is_dir() and p.name.startswith((".tmp-", ".trash-"))] \
        if root.is_dir() else []
    for path in stale:
        shutil.rmtree(path, ignore_errors=True)
    return stale
