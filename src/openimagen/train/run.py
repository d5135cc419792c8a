"""A training run: the stages a config asks for, one after another, then the cascade exported for sampling."""

from __future__ import annotations

from pathlib import Path

import torch
from accelerate import Accelerator
from safetensors.torch import load_file

from openimagen.cascade import Cascade, TextEmbedder, build_stage_network
from openimagen.train.checkpoint import latest_checkpoint, latest_good_checkpoint
from openimagen.train.config import ExperimentConfig
from openimagen.train.stage_run import init_from_folder, make_embedder, stage_dir, train_stage
from openimagen.train.trainer import TrainResult, make_accelerator

__all__ = ["train", "export_cascade", "missing_stages"]


def missing_stages(config: ExperimentConfig) -> list[int]:
    """Stages with no checkpoint yet under `train.output_dir` (none with `train.init_from`: it has every stage)."""
    if config.train.init_from:
        return []
    return [n for n in range(1, len(config.cascade.stages) + 1)
            if latest_checkpoint(stage_dir(config, n) / "checkpoints") is None]


def export_cascade(config: ExperimentConfig, directory: str | Path | None = None,
                   embedder: TextEmbedder | None = None, checkpoints: dict[int, str | Path] | None = None,
                   dtype: torch.dtype | None = None, raw: bool = True) -> Path:
    """Assemble every stage's latest checkpoint (or `checkpoints[stage]`; EMA weights, raw kept too unless
    `raw=False`) into `Cascade.save_pretrained` at `directory` (default `output_dir/cascade`), stored as `dtype`.
    A stage without a checkpoint comes from `train.init_from` when it is set."""
    checkpoints = {n: Path(c) for n, c in (checkpoints or {}).items()}
    missing = [n for n in missing_stages(config) if n not in checkpoints]
    if missing:
        raise FileNotFoundError(f"cannot export the cascade: stage(s) {missing} have no checkpoint in "
                                f"{config.train.output_dir}; train them first (openimagen train CONFIG --stage N)")
    embedder = embedder or make_embedder(config)
    ema, raws = [], []
    for number, stage in enumerate(config.cascade.stages, start=1):
        checkpoint = checkpoints.get(number) or latest_good_checkpoint(stage_dir(config, number) / "checkpoints")
        for weights, networks in (("ema", ema), ("model", raws))[:2 if raw else 1]:
            network = build_stage_network(stage, embedder.dim, number > 1, config.cascade.channels)
            if checkpoint is None:
                init_from_folder(network, config, number)
            else:
                network.load_state_dict(load_file(str(checkpoint / f"{weights}.safetensors")))
            networks.append(network)
    directory = Path(directory or Path(config.train.output_dir) / "cascade")
    Cascade(config.cascade, ema, embedder).save_pretrained(str(directory), raw_networks=raws if raw else None,
                                                           dtype=dtype)
    return directory


def train(config: ExperimentConfig, stages: list[int] | None = None, accelerator: Accelerator | None = None,
          embedder: TextEmbedder | None = None) -> dict[int, TrainResult]:
    """Train `stages` (default `train.stages`) in order; stops early if one is interrupted by a signal.
    When every stage of the cascade has a checkpoint, the main process exports `output_dir/cascade`."""
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
