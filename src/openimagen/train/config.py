"""The training config: one TOML file ([cascade], [train], [data]) plus `--set key=value` overrides."""

from __future__ import annotations

import copy
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from openimagen.config import ConfigError, check_positive, from_dict, to_dict
from openimagen.data.weights import ExampleWeight
from openimagen.files import NotUtf8Error, decode_utf8

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - python 3.10
    import tomli as tomllib

__all__ = ["TrainConfig", "DataConfig", "ExperimentConfig", "load_config", "config_from_dict", "apply_overrides",
           "parse_override"]


@dataclass
class TrainConfig:
    """Optimisation, EMA, checkpointing and feedback for one training run (any stage(s) of the cascade)."""

    output_dir: str                                   # checkpoints, logs, samples, exported cascade
    max_steps: int                                    # optimizer steps per stage
    max_minutes: float | None = None                  # and at most this much training time per stage (summed over
                                                      # resumes); the cosine LR then decays over whichever ends first
    stages: list[int] = field(default_factory=lambda: [1])  # 1-based stage numbers trained in this run, in order
    batch_size: int = 32                              # global batch per optimizer step (all processes)
    micro_batch_size: int | None = None               # per process per forward; None -> no accumulation
    lr: float = 1e-4
    lr_schedule: Literal["constant", "cosine"] = "constant"   # after linear warmup
    warmup_steps: int = 0
    min_lr_ratio: float = 0.0                         # cosine decays to lr * min_lr_ratio at max_steps
    adam_betas: tuple[float, float] = (0.9, 0.99)
    adam_eps: float = 1e-8
    weight_decay: float = 0.0
    grad_clip: float = 1.0                            # max global grad norm; 0 = off
    ema_decay: float = 0.9999                         # final EMA decay
    ema_warmup_power: float = 0.75                    # decay_t = min(ema_decay, 1 - (1+t)^-power); 0 = no warmup
    cond_drop_prob: float = 0.1                       # caption -> "" (classifier-free guidance), Sec. 2.3
    text_noise: float = 0.0                           # Gaussian noise on real text tokens, x each token's std
    mixed_precision: Literal["no", "bf16", "fp16"] = "no"
    compile: bool = False                             # torch.compile the network
    seed: int = 0
    checkpoint_every: int = 1000
    keep_last: int = 3
    resume: str = "auto"                              # "auto" (latest if any) | "never" | a checkpoint directory
    log_every: int = 10                               # TensorBoard scalars every N steps
    sample_every: int = 0                             # EMA sample grid every N steps (and at checkpoints); 0 = off
    sample_prompts: list[str] = field(default_factory=list)
    max_bad_steps: int = 10                           # K consecutive NaN/Inf steps stop the run
    progress: bool = True                             # tqdm bar (main process only)
    init_from: str | None = None                      # a saved cascade folder: each trained stage starts from its
                                                      # stage's (EMA) weights, new input channels at zero; untrained
                                                      # stages are exported from it
    example_weight: ExampleWeight | None = None       # a manifest column as loss weight or sampling probability

    def __post_init__(self) -> None:
        for name in ("max_steps", "batch_size", "checkpoint_every", "keep_last", "log_every", "max_bad_steps"):
            check_positive(f"train.{name}", getattr(self, name))
        if self.micro_batch_size is not None:
            check_positive("train.micro_batch_size", self.micro_batch_size)
        for name in ("warmup_steps", "sample_every", "weight_decay", "grad_clip", "ema_warmup_power", "text_noise"):
            check_positive(f"train.{name}", getattr(self, name), allow_zero=True)
        check_positive("train.lr", self.lr)
        if self.max_minutes is not None:
            check_positive("train.max_minutes", self.max_minutes)
        for name in ("ema_decay", "cond_drop_prob", "min_lr_ratio"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"train.{name}: must be in [0, 1], got {getattr(self, name)!r}")
        if not self.stages or any(s < 1 for s in self.stages):
            raise ConfigError(f"train.stages: need 1-based stage numbers, got {self.stages!r}")
        check_resume(self.resume)

    def accumulation_steps(self, num_processes: int) -> int:
        """Micro-batches per optimizer step so that micro * processes * steps == batch_size."""
        micro = self.micro_batch_size or self.batch_size // num_processes
        if micro < 1 or self.batch_size % (micro * num_processes):
            raise ConfigError(f"train.batch_size={self.batch_size} is not a multiple of micro_batch_size={micro} "
                              f"x {num_processes} processes; change train.batch_size or train.micro_batch_size")
        return self.batch_size // (micro * num_processes)


@dataclass
class DataConfig:
    """Where the images and captions come from (see `openimagen.data.build_dataset`)."""

    source: str | dict                                # folder, manifest (.csv/.jsonl), shards ("a/{000..009}.tar"),
                                                      # "shapes:specs.jsonl", or a table {type = ..., ...}
    min_size: int = 0                                 # skip images smaller than this (shorter side, px)
    random_crop: bool = False                         # random instead of center crop to the stage resolution
    num_workers: int = 0                              # DataLoader worker processes
    shuffle_seed: int | None = None                   # None -> train.seed
    embedding_cache: str | None = None                # a text-embedding cache directory (no encoder forward per step)

    def __post_init__(self) -> None:
        check_positive("data.min_size", self.min_size, allow_zero=True)
        check_positive("data.num_workers", self.num_workers, allow_zero=True)


@dataclass
class ExperimentConfig:
    """A whole training file: the cascade being trained, how to train it, and on what data."""

    cascade: Any                                      # openimagen.cascade.CascadeConfig (built in __post_init__)
    train: TrainConfig
    data: DataConfig

    def __post_init__(self) -> None:
        from openimagen.cascade.config import CascadeConfig

        if isinstance(self.cascade, dict):
            self.cascade = from_dict(CascadeConfig, self.cascade, "cascade")
        for stage in self.train.stages:
            if stage > len(self.cascade.stages):
                raise ConfigError(f"train.stages: stage {stage} does not exist; the cascade has "
                                  f"{len(self.cascade.stages)} stage(s)")
        for number, stage in enumerate(self.cascade.stages, start=1):
            check_network(f"cascade.stages.{number}.network", stage.network)

    def to_dict(self) -> dict:
        return to_dict(self)


def check_resume(resume: str) -> None:
    """train.resume is "auto", "never" or a checkpoint folder that exists (else ConfigError listing the choices)."""
    from openimagen.train.checkpoint import STATE_FILE

    if resume in ("auto", "never") or (Path(resume) / STATE_FILE).is_file():
        return
    problem = "is not a checkpoint folder (no state.json)" if Path(resume).is_dir() else "is not an existing folder"
    raise ConfigError(f"train.resume: {resume!r} {problem}; use 'auto' (the latest checkpoint, if any), 'never' "
                      "(start over) or a step-NNNNNNNN folder written by the trainer")


def check_network(key: str, network: str | dict) -> None:
    """A stage's network names a preset or is a valid table with a "kind" (else ConfigError naming `key`)."""
    from openimagen.nn import config_from_dict, get_preset

    try:
        get_preset(network) if isinstance(network, str) else config_from_dict(network)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{key}: {error}") from error


def parse_override(item: str) -> tuple[list[str], Any]:
    """'train.lr=3e-4' -> (['train', 'lr'], 3e-4); the value is read as TOML, else kept as a string."""
    if "=" not in item:
        raise ConfigError(f"override {item!r}: expected KEY=VALUE, e.g. train.lr=3e-4")
    key, raw = item.split("=", 1)
    path = [part for part in key.strip().split(".")]
    if not all(path):
        raise ConfigError(f"override {item!r}: empty key part in {key!r}")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return path, value


def apply_overrides(raw: dict, overrides: list[str]) -> dict:
    """Apply `--set` overrides to a raw config dict; list items are addressed 1-based (cascade.stages.2.steps)."""
    raw = copy.deepcopy(raw)
    for item in overrides:
        path, value = parse_override(item)
        node: Any = raw
        for depth, part in enumerate(path[:-1]):
            where = ".".join(path[: depth + 1])
            if isinstance(node, list):
                if not part.isdigit() or not 1 <= int(part) <= len(node):
                    raise ConfigError(f"override {item!r}: {where} is not an index 1..{len(node)}")
                node = node[int(part) - 1]
            else:
                node = node.setdefault(part, {})
            if not isinstance(node, (dict, list)):
                raise ConfigError(f"override {item!r}: {where} is a value, not a table")
        if isinstance(node, list):
            raise ConfigError(f"override {item!r}: cannot replace a whole list item; set one of its keys")
        node[path[-1]] = value
    return raw


def load_config(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> ExperimentConfig:
    """Read a TOML training config, apply overrides, validate everything (errors name the key)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {str(path)!r} does not exist")
    try:
        raw = tomllib.loads(decode_utf8(path.read_bytes(), f"config file {str(path)!r}"))
    except NotUtf8Error as error:
        raise ConfigError(str(error)) from error
    except OSError as error:
        raise ConfigError(f"config file {str(path)!r} cannot be read ({error.strerror or error})") from error
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"config file {str(path)!r} is not valid TOML: {error}") from error
    return from_dict(ExperimentConfig, apply_overrides(raw, list(overrides)))


def config_from_dict(raw: dict) -> ExperimentConfig:
    """Validate an already-parsed config dict (e.g. written by `ExperimentConfig.to_dict`)."""
    return from_dict(ExperimentConfig, raw)

