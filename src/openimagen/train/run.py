"""A training run: the stages a config asks for, one after another, then the cascade exported for sampling."""

from __future__ import annotations

from pathlib import Path

import torch
from accelerate import Accelerator
from safetensors.torch import load_file

from openimagen.cascade import Cascade, TextEmbedder, build_stage_network
from openimagen.cascade.pretrained import SaveError, check_save_folder
from openimagen.config import ConfigError
from openimagen.files import probe_folder
from openimagen.train.checkpoint import CheckpointError, latest_checkpoint, latest_good_checkpoint, verify_checkpoint
from openimagen.train.config import ExperimentConfig
from openimagen.train.stage_run import init_from_folder, make_embedder, stage_dir, train_stage
from openimagen.train.accelerator import make_accelerator
from openimagen.train.trainer import TrainResult

__all__ = ["train", "export_cascade", "missing_stages", "check_output_dir"]


def missing_stages(config: ExperimentConfig) -> list[int]:
    """Stages with no checkpoint yet under `train.output_dir` (none with `train.init_from`: it has every stage)."""
    if config.train.init_from:
        return []
    return [n for n in range(1, len(config.cascade.stages) + 1)
            if latest_checkpoint(stage_dir(config, n) / "checkpoints") is None]


def _chosen_checkpoint(config: ExperimentConfig, number: int, chosen: dict[int, Path]) -> Path | None:
    """`chosen[number]` verified against its state.json, else the stage's newest intact checkpoint (None: none)."""
    if number in chosen:
        try:
            verify_checkpoint(chosen[number])
        except CheckpointError as error:
            raise CheckpointError(f"{error}; choose another checkpoint for stage {number}, or none (its newest intact "
                                  "one is used)") from error
        return chosen[number]
    return latest_good_checkpoint(stage_dir(config, number) / "checkpoints")


def _load_checkpoint_weights(network: torch.nn.Module, file: Path, number: int) -> None:
    """`file` into stage `number`'s network; CheckpointError naming the file if it is unreadable or does not fit."""
    try:
        tensors = load_file(str(file))
    except Exception as error:  # noqa: BLE001 - safetensors raises several types for a damaged header
        raise CheckpointError(f"checkpoint file {file} is damaged ({error})") from None
    expected = {k: tuple(v.shape) for k, v in network.state_dict().items()}
    found = {k: tuple(v.shape) for k, v in tensors.items()}
    wrong = sorted(k for k in expected.keys() | found.keys() if expected.get(k) != found.get(k))
    if wrong:
        raise CheckpointError(f"{file} does not fit stage {number}'s network: {len(wrong)} tensor(s) missing, extra "
                              f"or of another shape (e.g. {wrong[0]!r}); was it written for another stage or config?")
    network.load_state_dict(tensors)


def export_cascade(config: ExperimentConfig, directory: str | Path | None = None,
                   embedder: TextEmbedder | None = None, checkpoints: dict[int, str | Path] | None = None,
                   dtype: torch.dtype | None = None, raw: bool = True) -> Path:
    """Assemble every stage's newest intact checkpoint (or `checkpoints[stage]`, verified too; EMA weights, raw kept
    too unless `raw=False`) into `Cascade.save_pretrained` at `directory` (default `output_dir/cascade`: new, empty
    or a saved cascade, see `check_save_folder`), stored as `dtype`. A stage without a checkpoint comes from
    `train.init_from` when it is set."""
    directory = Path(directory or Path(config.train.output_dir) / "cascade")
    checkpoints = {n: Path(c) for n, c in (checkpoints or {}).items()}
    count = len(config.cascade.stages)
    for number, path in sorted(checkpoints.items()):
        if not 1 <= number <= count:
            raise ConfigError(f"checkpoint {path} for stage {number}: no stage {number}; the config has stages "
                              f"1..{count}")
    check_save_folder(directory)
    missing = [n for n in missing_stages(config) if n not in checkpoints]
    if missing:
        raise FileNotFoundError(f"cannot export the cascade: stage(s) {missing} have no checkpoint in "
                                f"{config.train.output_dir}; train them first (openimagen train CONFIG --stage N)")
    found = {number: _chosen_checkpoint(config, number, checkpoints) for number in range(1, count + 1)}
    embedder = embedder or make_embedder(config)
    ema, raws = [], []
    for number, stage in enumerate(config.cascade.stages, start=1):
        for weights, networks in (("ema", ema), ("model", raws))[:2 if raw else 1]:
            network = build_stage_network(stage, embedder.dim, number > 1, config.cascade.channels)
            if found[number] is None:
                init_from_folder(network, config, number)
            else:
                _load_checkpoint_weights(network, found[number] / f"{weights}.safetensors", number)
            networks.append(network)
    Cascade(config.cascade, ema, embedder).save_pretrained(str(directory), raw_networks=raws if raw else None,
                                                           dtype=dtype)
    return directory


def check_output_dir(path: str | Path) -> None:
    """Create `path` if needed and write a small probe file in it, so a file, a read-only or full disk or a missing
    permission is a ConfigError naming `train.output_dir` before any model loads (not an errno after it)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"train.output_dir = {str(path)!r} is a file, not a folder; set another train.output_dir")
    try:
        probe_folder(path)
    except OSError as error:
        raise ConfigError(f"train.output_dir = {str(path)!r}: cannot write there ({error.strerror}); set another "
                          "train.output_dir") from error


def train(config: ExperimentConfig, stages: list[int] | None = None, accelerator: Accelerator | None = None,
          embedder: TextEmbedder | None = None) -> dict[int, TrainResult]:
    """Train `stages` (default `train.stages`) in order; stops early if one is interrupted by a signal.
    When every stage of the cascade has a checkpoint, the main process exports `output_dir/cascade`."""
    check_output_dir(config.train.output_dir)
    try:                    # the export at the end would refuse it: say so before training, not after
        check_save_folder(Path(config.train.output_dir) / "cascade")
    except SaveError as error:
        raise ConfigError(f"train.output_dir: {error}") from error
    accelerator = accelerator or make_accelerator(config.train.mixed_precision)
    embedder = embedder or make_embedder(config)
    results = {}
    for number in stages or config.train.stages:
        if not 1 <= number <= len(config.cascade.stages):
            raise ValueError(f"stage {number} does not exist; the cascade has {len(config.cascade.stages)} stage(s)")
        results[number] = train_stage(config, number, accelerator, embedder)
        if results[number].interrupted:
            return results
    if accelerator.is_main_process and not missing_stages(config):
        export_cascade(config, embedder=embedder)
    accelerator.wait_for_everyone()
    return results
