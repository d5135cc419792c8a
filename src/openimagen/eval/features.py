"""FD_shapes: Frechet distance in the feature space of a small CNN trained on shapes-world attributes.

Like FID uses Inception's pool features (Heusel et al. 2017), FD_shapes uses the penultimate layer of a CNN that
was trained (scripts/train_shapes_features.py) to count every (color, shape) and (shape, size) in a render and to
say where each color is; so the features see exactly what the world is made of. Its weights ship in
`openimagen/models/shapes_features/` (config.json + model.safetensors). Inputs are resized to the network's 64 px,
so 32 px images work too; compare images only with real renders of the same resolution (see `fd_shapes_report`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from safetensors.torch import load_file
from torch import nn

from openimagen.data.shapes.render import render
from openimagen.data.shapes.spec import Spec
from openimagen.eval.frechet import fd

WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "models" / "shapes_features"
CONFIG_FILE, WEIGHTS_FILE = "config.json", "model.safetensors"


@dataclass(frozen=True)
class FeatureNetConfig:
    channels: tuple[int, ...] = (16, 32, 64, 32)   # conv blocks, each halving the resolution
    feature_dim: int = 128                         # the penultimate layer: the FD features
    num_outputs: int = 252                         # attribute logits (see the training script)
    input_size: int = 64

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "FeatureNetConfig":
        return cls(**{**data, "channels": tuple(data["channels"])})


class ShapesFeatureNet(nn.Module):
    """conv3x3-GroupNorm-SiLU-maxpool blocks, then a linear layer to the features, then the attribute heads."""

    def __init__(self, config: FeatureNetConfig):
        super().__init__()
        layers: list[nn.Module] = []
        width = 3
        for channels in config.channels:
            layers += [nn.Conv2d(width, channels, 3, padding=1), nn.GroupNorm(8, channels), nn.SiLU(), nn.MaxPool2d(2)]
            width = channels
        self.trunk = nn.Sequential(*layers)
        side = config.input_size // 2 ** len(config.channels)   # flatten keeps where things are
        self.embed = nn.Linear(width * side * side, config.feature_dim)
        self.head = nn.Linear(config.feature_dim, config.num_outputs)
        self.config = config

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """[b, 3, 64, 64] in [-1, 1] -> [b, feature_dim] (non-negative)."""
        return F.relu(self.embed(self.trunk(x).flatten(1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def to_input(images: Sequence[Image.Image] | torch.Tensor, size: int = 64) -> torch.Tensor:
    """PIL images, or a float tensor [b, 3, h, w] in [-1, 1] -> [b, 3, size, size] in [-1, 1] (bilinear resize)."""
    if isinstance(images, torch.Tensor):
        if images.ndim != 4 or images.shape[1] != 3 or not images.is_floating_point():
            raise ValueError(f"images: expected a float tensor [b, 3, h, w] in [-1, 1], got {tuple(images.shape)} "
                             f"{images.dtype}")
        batch = images.float()
    else:
        arrays = [np.asarray(image.convert("RGB"), dtype=np.float32) for image in images]
        batch = [torch.from_numpy(a).permute(2, 0, 1)[None] / 127.5 - 1 for a in arrays]
        if len({a.shape for a in arrays}) == 1:
            batch = torch.cat(batch)
        else:
            return torch.cat([to_input(b, size) for b in batch])
    if batch.shape[-2:] != (size, size):
        batch = F.interpolate(batch, size=(size, size), mode="bilinear", align_corners=False,
                              antialias=batch.shape[-1] > size)
    return batch.contiguous()   # one memory layout: channels-last input would take another conv kernel (~1e-4 off)


_RETRAIN = "retrain it with `python scripts/train_shapes_features.py`"


def check_feature_folder(directory: str | Path | None) -> None:
    """FileNotFoundError naming what is missing: a given `directory` that is a file, absent, or without config.json /
    model.safetensors; for the shipped network (None), the install is incomplete."""
    if directory is None:
        for path in (WEIGHTS_DIR / CONFIG_FILE, WEIGHTS_DIR / WEIGHTS_FILE):
            if not path.is_file():
                raise FileNotFoundError(f"shapes feature network: {path} is missing; reinstall openimagen or "
                                        f"{_RETRAIN}")
        return
    folder = Path(directory)
    missing = [name for name in (CONFIG_FILE, WEIGHTS_FILE) if not (folder / name).is_file()]
    what = ("is a file" if folder.is_file() else "does not exist" if not folder.exists()
            else f"has no {' or '.join(missing)}" if missing else "")
    if what:
        raise FileNotFoundError(f"{folder} {what}, so it is not a shapes feature network folder ({CONFIG_FILE} + "
                                f"{WEIGHTS_FILE}); pass one, or omit the weights to use the shipped network")


class ShapesFeatureExtractor:
    """Callable: images (PIL list or [b, 3, h, w] tensor in [-1, 1]) -> features [b, feature_dim] (float32)."""

    def __init__(self, net: ShapesFeatureNet):
        self.net = net.eval()

    @classmethod
    def load(cls, directory: str | Path | None = None) -> "ShapesFeatureExtractor":
        """The shipped network (or one saved in `directory` by the training script)."""
        check_feature_folder(directory)
        directory = Path(directory) if directory is not None else WEIGHTS_DIR
        try:
            config = json.loads((directory / CONFIG_FILE).read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ValueError(f"{directory / CONFIG_FILE} is damaged (not JSON: {error}); {_RETRAIN}") from error
        if not isinstance(config, dict) or "model" not in config:
            raise ValueError(f"{directory / CONFIG_FILE}: no 'model' section; write it with the training script")
        net = ShapesFeatureNet(FeatureNetConfig.from_dict(config["model"]))
        try:
            tensors = load_file(directory / WEIGHTS_FILE)
            net.load_state_dict({k: v.float() for k, v in tensors.items()})
        except Exception as error:  # noqa: BLE001 - safetensors raises its own error types for damaged files
            first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise ValueError(f"{directory / WEIGHTS_FILE} is damaged or does not fit {directory / CONFIG_FILE} "
                             f"({first[:200]}); copy it again, or {_RETRAIN}") from error
        return cls(net)

    @property
    def feature_dim(self) -> int:
        return self.net.config.feature_dim

    @torch.inference_mode()
    def __call__(self, images: Sequence[Image.Image] | torch.Tensor) -> np.ndarray:
        x = to_input(images, self.net.config.input_size).to(next(self.net.parameters()).device)
        return self.net.features(x).float().cpu().numpy()


@lru_cache(maxsize=1)
def default_extractor() -> ShapesFeatureExtractor:
    return ShapesFeatureExtractor.load()


def fd_shapes(generated_images: Any, real_images: Any, extractor: ShapesFeatureExtractor | None = None) -> float:
    """FD_shapes between generated images and real renders (same resolution; report it beside its floor)."""
    return fd(generated_images, real_images, extractor or default_extractor())


def real_renders(specs: Sequence[Spec], size: int, images_per_spec: int = 1, seed: int = 0) -> list[Image.Image]:
    """Real renders of each spec (seeds differ per image and per `seed`, so two seeds give disjoint sets)."""
    return [render(spec, size, seed=(seed * len(specs) + index) * images_per_spec + k)
            for index, spec in enumerate(specs) for k in range(images_per_spec)]


@dataclass(frozen=True)
class FDReport:
    fd: float           # FD_shapes(generated, real renders of the same specs)
    floor: float        # FD_shapes(real, disjoint real): what a perfect generator would score at this sample size
    num_images: int
    size: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def fd_shapes_report(generated_images: Sequence[Image.Image] | torch.Tensor, specs: Sequence[Spec], images_per_spec: int = 1,
                     seed: int = 0, extractor: ShapesFeatureExtractor | None = None) -> FDReport:
    """FD_shapes of images generated for `specs` (spec-major: images_per_spec per spec) and its real-vs-real floor.

    Both reference sets are renders of the same specs at the generated resolution, with disjoint seeds.
    """
    if len(generated_images) != len(specs) * images_per_spec:
        raise ValueError(f"generated_images: {len(generated_images)} images for {len(specs)} specs x "
                         f"{images_per_spec} per spec")
    size = generated_images.shape[-1] if isinstance(generated_images, torch.Tensor) else generated_images[0].size[0]
    extractor = extractor or default_extractor()
    real = real_renders(specs, size, images_per_spec, seed=2 * seed)
    other = real_renders(specs, size, images_per_spec, seed=2 * seed + 1)
    return FDReport(fd(generated_images, real, extractor), fd(other, real, extractor), len(real), size)
