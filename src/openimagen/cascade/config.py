"""Typed configs of a cascade: a text encoder and an ordered list of stages (Imagen Sec. 2.4, Fig. A.4)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

from openimagen.config import ConfigError, check_choice, check_positive

__all__ = ["StageConfig", "CascadeConfig", "THRESHOLDS", "TASKS"]

THRESHOLDS = ("dynamic", "static", "none")
TASKS = ("generate", "inpaint")


def check_interval(value: Any) -> tuple[float | None, float | None] | None:
    """A guidance interval as given (None, or [lo, hi] log-SNR bounds, each a number or None) -> a tuple.
    -inf as lo / inf as hi also mean no bound (TOML has no null)."""
    if value is None:
        return None
    bounds = tuple(value) if isinstance(value, (list, tuple)) else ()
    if len(bounds) == 2:
        bounds = tuple(None if b == open_side else b for b, open_side in zip(bounds, (-math.inf, math.inf)))
    numbers = [b for b in bounds if b is not None]
    if (len(bounds) != 2 or not all(isinstance(b, (int, float)) and not isinstance(b, bool) for b in numbers)
            or not all(math.isfinite(b) for b in numbers)):
        raise ConfigError(f"guidance_interval: expected [lo, hi] log-SNR bounds (numbers; null, -inf / inf for "
                          f"no bound), got {value!r}")
    lo, hi = (None if b is None else float(b) for b in bounds)
    if lo is not None and hi is not None and lo >= hi:
        raise ConfigError(f"guidance_interval: lo must be below hi, got [{lo}, {hi}]")
    return (lo, hi)


@dataclass
class StageConfig:
    """One stage: network + diffusion process + output resolution + sampling defaults + noise-aug level.

    Stage 1 maps text to a `resolution` image; a later stage maps text + the previous stage's image to `resolution`.
    """

    resolution: int                                   # output side length (px)
    network: Any                                      # preset name (openimagen.nn) or a config table with "kind"
    diffusion: dict = field(default_factory=dict)     # openimagen.diffusion.DiffusionConfig fields
    crop_size: int | None = None                      # SR training on random crops of this size (Sec. 2.5); None = full
    sampler: str = "dpmpp_2m"                         # a name of openimagen.diffusion.SAMPLERS (or an alias)
    steps: int = 25
    guidance_scale: float = 5.0
    guidance_interval: tuple[float | None, float | None] | None = None   # log-SNR [lo, hi] where guidance applies
                                                      # (w = 1 elsewhere; None / a None bound = unlimited)
    threshold: Literal["dynamic", "static", "none"] = "dynamic"
    percentile: float = 0.995                         # dynamic thresholding percentile (Sec. 2.3)
    aug_level: float = 0.2                            # SR only: noise-conditioning aug at sampling (Sec. 2.4, App. D.2)
    train_aug_range: tuple[float, float] = (0.0, 1.0)  # SR only: training aug levels ~ U(lo, hi) (Imagen: U(0, 1))
    gamma: float = 0.0                                # ancestral: variance interpolation (App. A; 0 = DDPM posterior)
    eta: float = 0.0                                  # ddim: stochasticity (Song et al. 2021 Eq. 16; 0 = deterministic)
    task: Literal["generate", "inpaint"] = "generate"  # inpaint: the network also sees a masked image + mask
    inpaint_masks: dict[str, float] | None = None     # inpaint training: mask kind -> weight (box, brush, object,
                                                      # full); None = openimagen.data.masks.DEFAULT_MIX
    text_encoder_layers: list[int] | None = None      # the hidden states (of cascade.text_encoder_layers) this stage
                                                      # reads; None = all of them

    def __post_init__(self) -> None:
        from openimagen.diffusion import DiffusionConfig, resolve_sampler

        check_positive("resolution", self.resolution)
        self.text_blocks: tuple[list[int], int] | None = None   # set by CascadeConfig: (blocks read, blocks given)
        try:
            self.sampler = resolve_sampler(self.sampler)
        except ValueError as error:
            raise ConfigError(f"sampler: {error}") from error
        check_positive("steps", self.steps)
        check_positive("guidance_scale", self.guidance_scale, allow_zero=True)
        self.guidance_interval = check_interval(self.guidance_interval)
        if not 0.0 <= self.aug_level <= 1.0:
            raise ConfigError(f"aug_level: must be in [0, 1], got {self.aug_level!r}")
        lo_hi = tuple(self.train_aug_range) if isinstance(self.train_aug_range, (list, tuple)) else ()
        if len(lo_hi) != 2 or not 0.0 <= lo_hi[0] <= lo_hi[1] <= 1.0 or lo_hi[1] == 0.0:
            raise ConfigError(f"train_aug_range: must be [lo, hi] with 0 <= lo <= hi <= 1 and hi > 0, "
                              f"got {self.train_aug_range!r}")
        self.train_aug_range = (float(lo_hi[0]), float(lo_hi[1]))
        if not 0.0 <= self.gamma <= 1.0:
            raise ConfigError(f"gamma: must be in [0, 1], got {self.gamma!r}")
        check_positive("eta", self.eta, allow_zero=True)
        check_choice("task", self.task, TASKS)
        if self.inpaint_masks is not None:
            from openimagen.data.masks import check_mix

            try:
                check_mix(self.inpaint_masks)
            except ValueError as error:
                raise ConfigError(f"inpaint_masks: {error}") from error
        if not 0.5 <= self.percentile <= 1.0:
            raise ConfigError(f"percentile: must be in [0.5, 1], got {self.percentile!r}")
        if self.crop_size is not None and not 0 < self.crop_size <= self.resolution:
            raise ConfigError(f"crop_size: must be in (0, resolution={self.resolution}], got {self.crop_size!r}")
        if not isinstance(self.network, (str, dict)):
            raise ConfigError(f"network: expected a preset name or a table, got {type(self.network).__name__}")
        try:
            self.diffusion_config = DiffusionConfig.from_dict(self.diffusion)
        except (TypeError, ValueError) as error:
            raise ConfigError(f"diffusion: {error}") from error

    def select_text(self, text_emb):
        """The hidden-state blocks of `text_emb` [b, n, blocks * d] this stage reads (all unless the cascade said)."""
        if self.text_blocks is None:
            return text_emb
        read, given = self.text_blocks
        blocks = text_emb.unflatten(-1, (given, text_emb.shape[-1] // given))
        return blocks[..., read, :].flatten(-2)

    def text_dim(self, given_dim: int) -> int:
        """Width of the text tokens this stage's network reads, out of the embedder's `given_dim`."""
        return given_dim if self.text_blocks is None else given_dim // self.text_blocks[1] * len(self.text_blocks[0])

    def sampling_defaults(self) -> dict:
        return {"sampler": self.sampler, "steps": self.steps, "guidance_scale": self.guidance_scale,
                "guidance_interval": self.guidance_interval,
                "threshold": self.threshold, "percentile": self.percentile, "aug_level": self.aug_level,
                "gamma": self.gamma, "eta": self.eta}


@dataclass
class CascadeConfig:
    """A frozen text encoder (name or path; None = the offline MiniLM default) and the stages, lowest res first."""

    stages: list[StageConfig]
    text_encoder: str | None = None
    max_text_length: int = 128
    text_encoder_layers: list[int] = field(default_factory=lambda: [-1])   # hidden states concatenated per token
    channels: int = 3

    def __post_init__(self) -> None:
        if not self.stages:
            raise ConfigError("cascade.stages: need at least one stage ([[cascade.stages]] tables)")
        check_positive("cascade.max_text_length", self.max_text_length)
        layers = list(self.text_encoder_layers)
        if not layers or len(set(layers)) != len(layers) or not all(isinstance(i, int) for i in layers):
            raise ConfigError(f"cascade.text_encoder_layers: expected distinct hidden-state indices such as [-1] or "
                              f"[0, -1], got {self.text_encoder_layers!r}")
        for number, stage in enumerate(self.stages, start=1):
            if stage.text_encoder_layers is None:
                continue
            unknown = [i for i in stage.text_encoder_layers if i not in layers]
            if unknown or not stage.text_encoder_layers:
                raise ConfigError(f"cascade.stages.{number}.text_encoder_layers={stage.text_encoder_layers}: a stage "
                                  f"reads a non-empty subset of cascade.text_encoder_layers={layers}")
            stage.text_blocks = ([layers.index(i) for i in stage.text_encoder_layers], len(layers))
        for number, (low, high) in enumerate(zip(self.stages, self.stages[1:]), start=2):
            if high.resolution <= low.resolution:
                raise ConfigError(f"cascade.stages.{number}.resolution={high.resolution} must exceed the previous "
                                  f"stage's {low.resolution}")

    def lowres_resolution(self, stage: int) -> int | None:
        """Input resolution of 1-based `stage` (None for stage 1)."""
        return None if stage == 1 else self.stages[stage - 2].resolution
