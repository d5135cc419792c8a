"""Named network configs: the paper's sizes, single-GPU "small" sizes and "tiny" ones for tests (Imagen App. B)."""
from __future__ import annotations

import dataclasses

from openimagen.config import did_you_mean

from .config import EfficientUNetConfig, UNetConfig

T5_XXL_DIM = 4096   # the paper's text encoder width; the cascade overrides text_dim with its encoder's

PRESETS: dict[str, UNetConfig | EfficientUNetConfig] = {
    # Paper: 64x64 base, ~2B params; 512 channels, mults (1,2,3,4), 3 res blocks, attention at 32, 16, 8.
    "imagen-base-2b": UNetConfig(text_dim=T5_XXL_DIM, base_channels=512, cond_dim=1024, channel_mults=(1, 2, 3, 4), num_res_blocks=3,
                                 self_attn_levels=(False, True, True, True), cross_attn_levels=(False, True, True, True)),
    # Paper: 64->256 Efficient U-Net, ~600M params; attention (self + cross) at the lowest resolution.
    "imagen-sr256": EfficientUNetConfig(text_dim=T5_XXL_DIM, base_channels=128, channel_mults=(1, 2, 4, 8),
                                        num_res_blocks=(2, 4, 8, 8), self_attn_levels=(False, False, False, True),
                                        cross_attn_levels=(False, False, False, True), attn_every_res_block=True),
    # Paper: 256->1024, ~400M params; no self-attention, text cross-attention at the lowest resolution only.
    "imagen-sr1024": EfficientUNetConfig(text_dim=T5_XXL_DIM, base_channels=128, channel_mults=(1, 2, 4, 8),
                                         num_res_blocks=(2, 4, 8, 8), self_attn_levels=False,
                                         cross_attn_levels=(False, False, False, True)),
    # Single-GPU sizes.
    "small-base": UNetConfig(base_channels=128, channel_mults=(1, 2, 3, 4), num_res_blocks=2,
                             self_attn_levels=(False, True, True, True), cross_attn_levels=(False, True, True, True)),
    "small-sr": EfficientUNetConfig(base_channels=64, channel_mults=(1, 2, 4, 8), num_res_blocks=(1, 2, 4, 4),
                                    self_attn_levels=False, cross_attn_levels=(False, False, False, True)),
    # CPU sizes for the shapes world (32 px base, 32->64 SR).
    "tiny-base": UNetConfig(base_channels=32, channel_mults=(1, 2, 4), num_res_blocks=(1, 2, 2), head_dim=32,
                            self_attn_levels=(False, False, True), cross_attn_levels=(False, True, True)),
    "tiny-sr": EfficientUNetConfig(base_channels=32, channel_mults=(1, 2, 4), num_res_blocks=(1, 2, 2), head_dim=32,
                                   self_attn_levels=False, cross_attn_levels=(False, False, True)),
    # Smallest nets, for unit tests (8-32 px).
    "tiny-test-base": UNetConfig(base_channels=16, channel_mults=(1, 2), num_res_blocks=1, head_dim=16, num_groups=8,
                                 text_dim=32, self_attn_levels=(False, True), cross_attn_levels=(False, True)),
    "tiny-test-sr": EfficientUNetConfig(base_channels=16, channel_mults=(1, 2), num_res_blocks=(1, 1), head_dim=16,
                                        num_groups=8, text_dim=32, self_attn_levels=(False, True),
                                        cross_attn_levels=(False, True)),
}


def preset_names() -> list[str]:
    return sorted(PRESETS)


def get_preset(name: str, **overrides) -> UNetConfig | EfficientUNetConfig:
    """A named config with fields overridden, e.g. get_preset("tiny-base", text_dim=encoder.dim)."""
    if name not in PRESETS:
        raise ValueError(f"unknown network preset {name!r}{did_you_mean(name, PRESETS)}; choose one of "
                         f"{preset_names()}")
    base = PRESETS[name]
    fields = {f.name for f in dataclasses.fields(base)}
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise ValueError(f"unknown override(s) {unknown} for preset {name!r}; valid fields: {sorted(fields)}")
    return dataclasses.replace(base, **overrides)
