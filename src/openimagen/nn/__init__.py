"""Networks: Imagen's base U-Net and Efficient U-Net. They know nothing of diffusion (docs/architecture.md)."""
from __future__ import annotations

from torch import nn

from .config import EfficientUNetConfig, UNetConfig, config_from_dict, config_to_dict
from .efficient_unet import EfficientUNet
from .presets import get_preset, preset_names
from .stats import NetworkStats, count_parameters, example_inputs, network_stats
from .unet import UNet
from .widen import load_widened


def build_network(config: UNetConfig | EfficientUNetConfig) -> nn.Module:
    """The network a config describes (build under `with torch.device("meta"):` to size big presets for free)."""
    if type(config) is UNetConfig:
        return UNet(config)
    if type(config) is EfficientUNetConfig:
        return EfficientUNet(config)
    raise TypeError(f"config must be a UNetConfig or EfficientUNetConfig, got {type(config).__name__}")


__all__ = ["UNetConfig", "EfficientUNetConfig", "UNet", "EfficientUNet", "build_network", "config_to_dict",
           "config_from_dict", "get_preset", "preset_names", "NetworkStats", "network_stats", "count_parameters",
           "example_inputs", "load_widened"]
