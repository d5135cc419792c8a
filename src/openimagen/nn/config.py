"""Typed, validated network configs and their JSON round trip (Imagen Sec. 2.4-2.5, App. B)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from openimagen.config import did_you_mean

LOWRES_MODES = ("bilinear", "bicubic")


def _per_level(name: str, value: Any, levels: int, kind: type) -> tuple:
    """Broadcast a scalar to one value per resolution level, or check a per-level tuple's length and types."""
    values = tuple(value) if isinstance(value, (tuple, list)) else (value,) * levels
    if len(values) != levels:
        raise ValueError(f"{name} has {len(values)} entries but channel_mults has {levels} levels; give one per level")
    for v in values:
        if kind is bool and not isinstance(v, bool) or kind is int and (isinstance(v, bool) or not isinstance(v, int)):
            raise ValueError(f"{name} must hold {kind.__name__} values, got {v!r}")
    return values


def _positive(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name} must be a positive int, got {value!r}")


@dataclass(frozen=True)
class _CommonConfig:
    in_channels: int = 3                 # channels of z_t (and of the low-res image)
    out_channels: int = 3                # channels of the prediction
    text_dim: int = 384                  # text-encoder width; the cascade sets it from encoder.dim
    lowres_cond: bool = False            # super-resolution stage: condition on an upsampled low-res image
    inpaint_cond: bool = False           # inpainting stage: condition on a masked image + its mask (last inputs)
    base_channels: int = 64              # channels of the first level
    channel_mults: tuple[int, ...] = (1, 2, 4)   # channels per level = base_channels * mult
    num_res_blocks: int | tuple[int, ...] = 2            # one int for all levels, or one per level
    self_attn_levels: bool | tuple[bool, ...] = False    # self-attention after residual blocks, per level
    cross_attn_levels: bool | tuple[bool, ...] = False   # cross-attention to the text sequence, per level
    head_dim: int = 64                   # attention head width
    num_groups: int = 32                 # GroupNorm groups (reduced to a divisor of the channels)
    cond_dim: int | None = None          # conditioning-vector width; None -> 4 * base_channels
    lowres_upsample: str = "bilinear"    # how the low-res image is resized to x's size
    dropout: float = 0.0
    gradient_checkpointing: bool = False
    coord_channels: bool = False         # append x, y coordinate maps to the input (CoordConv, Liu et al. 2018)
    query_positions: bool = False        # cross-attention queries also see each pixel's (x, y) (attention.py)
    text_layers: int = 0                 # trainable transformer layers over the frozen text tokens (text_adapter.py)
    text_width: int = 256                # their width (used when text_layers > 0)
    text_residual: bool = False          # add the adapter's output to the encoder's tokens (starts as identity)
    self_condition: bool = False         # also sees its own previous x0 estimate (self_conditioning.py)

    def __post_init__(self) -> None:
        for name in ("in_channels", "out_channels", "text_dim", "base_channels", "head_dim", "num_groups", "text_width"):
            _positive(name, getattr(self, name))
        if isinstance(self.text_layers, bool) or not isinstance(self.text_layers, int) or self.text_layers < 0:
            raise ValueError(f"text_layers must be an int >= 0, got {self.text_layers!r}")
        for name in ("lowres_cond", "inpaint_cond"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be a bool, got {getattr(self, name)!r}")
        mults = tuple(self.channel_mults) if isinstance(self.channel_mults, (tuple, list)) else None
        if not mults:
            raise ValueError(f"channel_mults must be a non-empty tuple of ints, got {self.channel_mults!r}")
        for m in mults:
            _positive("channel_mults entry", m)
        levels = len(mults)
        object.__setattr__(self, "channel_mults", mults)
        object.__setattr__(self, "num_res_blocks", _per_level("num_res_blocks", self.num_res_blocks, levels, int))
        for n in self.num_res_blocks:
            if n < 0:
                raise ValueError(f"num_res_blocks entries must be >= 0, got {self.num_res_blocks}")
        for name in ("self_attn_levels", "cross_attn_levels"):
            object.__setattr__(self, name, _per_level(name, getattr(self, name), levels, bool))
        if self.cond_dim is not None:
            _positive("cond_dim", self.cond_dim)
        if self.lowres_upsample not in LOWRES_MODES:
            raise ValueError(f"lowres_upsample must be one of {LOWRES_MODES}, got {self.lowres_upsample!r}")
        if not 0.0 <= float(self.dropout) < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")
        for name in ("gradient_checkpointing", "coord_channels", "query_positions", "text_residual", "self_condition"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be a bool, got {getattr(self, name)!r}")

    @property
    def text_features(self) -> int:
        """Width of the text tokens the attention layers see: the adapter's, or the encoder's."""
        return self.text_width if self.text_layers and not self.text_residual else self.text_dim

    @property
    def cond_width(self) -> int:
        """Width of the conditioning vector: cond_dim, or 4 * base_channels when unset (ADM)."""
        return self.cond_dim or 4 * self.base_channels

    def channels(self) -> list[int]:
        return [self.base_channels * m for m in self.channel_mults]


# ADM-style U-Net with pooled-text and cross-attention conditioning (Imagen Sec. 2.4; Dhariwal & Nichol 2021).
@dataclass(frozen=True)
class UNetConfig(_CommonConfig):
    self_attn_levels: bool | tuple[bool, ...] = (False, True, True)
    cross_attn_levels: bool | tuple[bool, ...] = (False, True, True)
    middle_attn: bool = True             # self/cross-attention in the middle block

    @property
    def downsample_factor(self) -> int:
        return 2 ** (len(self.channel_mults) - 1)


# Efficient U-Net for super-resolution (Imagen Sec. 2.5, App. B.1, Figs. A.27-A.30).
@dataclass(frozen=True)
class EfficientUNetConfig(_CommonConfig):
    lowres_cond: bool = True
    base_channels: int = 128
    channel_mults: tuple[int, ...] = (1, 2, 4, 8)
    num_res_blocks: int | tuple[int, ...] = (2, 4, 8, 8)   # more blocks at low resolution
    self_attn_levels: bool | tuple[bool, ...] = (False, False, False, True)
    cross_attn_levels: bool | tuple[bool, ...] = (False, False, False, True)
    attn_every_res_block: bool = False   # attention after every residual block (else once per block)

    @property
    def downsample_factor(self) -> int:
        return 2 ** len(self.channel_mults)   # every DBlock downsamples first


CONFIG_KINDS = {"unet": UNetConfig, "efficient_unet": EfficientUNetConfig}


def config_to_dict(config: UNetConfig | EfficientUNetConfig) -> dict:
    """JSON-ready dict with a "kind" key naming the config class."""
    for kind, cls in CONFIG_KINDS.items():
        if type(config) is cls:
            d = {f.name: getattr(config, f.name) for f in dataclasses.fields(config)}
            return {"kind": kind, **{k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}}
    raise TypeError(f"config must be a UNetConfig or EfficientUNetConfig, got {type(config).__name__}")


def config_from_dict(d: dict) -> UNetConfig | EfficientUNetConfig:
    """Inverse of config_to_dict; unknown keys raise an error naming them."""
    if not isinstance(d, dict) or "kind" not in d:
        raise ValueError(f"network config dict needs a 'kind' key, one of {sorted(CONFIG_KINDS)}")
    kind = d["kind"]
    if kind not in CONFIG_KINDS:
        raise ValueError(f"unknown network kind {kind!r}{did_you_mean(kind, CONFIG_KINDS)}; expected one of "
                         f"{sorted(CONFIG_KINDS)}")
    cls = CONFIG_KINDS[kind]
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(d) - names - {"kind"})
    if unknown:
        hint = did_you_mean(unknown[0], names) if len(unknown) == 1 else ""
        raise ValueError(f"unknown key(s) {unknown} in {kind} config{hint}; valid keys: {sorted(names)}")
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items() if k != "kind"})
