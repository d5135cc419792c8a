"""Checkpoint directories: tensors in safetensors, everything else in JSON, written atomically, last N kept.

Layout: `<root>/step-00001000/{model,ema,optimizer}.safetensors + state.json`. A directory is first written as
`<root>/.tmp-step-...` and renamed into place, so a crash never leaves a half-written checkpoint behind a valid name.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

__all__ = ["save_checkpoint", "load_checkpoint", "latest_checkpoint", "list_checkpoints", "write_json_atomic"]

_NAME = re.compile(r"^step-(\d{8,})$")
STATE_FILE = "state.json"


def write_json_atomic(path: Path, data: dict) -> None:
    """Write JSON to a temp file beside `path`, fsync, then os.replace."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "w") as handle:
        json.dump(data, handle, indent=1, sort_keys=True)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


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
    delete all but the newest `keep_last` checkpoints. Returns the checkpoint directory."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"step-{step:08d}"
    tmp = root / f".tmp-{final.name}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    for name, group in tensors.items():
        # clone: safetensors refuses shared storage (tied weights) and needs contiguous CPU tensors
        save_file({k: v.detach().to("cpu").contiguous().clone() for k, v in group.items()},
                  str(tmp / f"{name}.safetensors"))
    write_json_atomic(tmp / STATE_FILE, {**state, "step": step, "tensor_files": sorted(tensors)})
    if final.exists():  # re-saving the same step (e.g. a signal right after a periodic save)
        trash = root / f".trash-{final.name}-{os.getpid()}"
        os.replace(final, trash)
        os.replace(tmp, final)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        os.replace(tmp, final)
    for old in list_checkpoints(root)[:-keep_last]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def load_checkpoint(path: str | Path) -> tuple[dict[str, dict[str, torch.Tensor]], dict]:
    """Inverse of save_checkpoint: ({name: tensors}, state). Never unpickles anything."""
    path = Path(path)
    state_file = path / STATE_FILE
    if not state_file.is_file():
        raise FileNotFoundError(f"{str(path)!r} is not a checkpoint directory (no {STATE_FILE}); "
                                f"pass a step-NNNNNNNN directory written by the trainer")
    state = json.loads(state_file.read_text())
    tensors = {name: load_file(str(path / f"{name}.safetensors")) for name in state["tensor_files"]}
    return tensors, state
