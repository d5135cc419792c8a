"""The FID feature network: Inception-v3 pool features (2048-d) from the reference TorchScript file
`inception-2015-12-05.pt` (Heusel et al.'s TensorFlow graph converted by NVIDIA for StyleGAN2-ADA; the same file
EDM's fid.py and clean-fid load), with clean-fid's "clean" preprocessing (Parmar et al. 2022):

    uint8 RGB -> each channel resized to 299 x 299 with PIL bicubic in float32 (no re-quantization) -> (x - 128) / 128

Nothing is written by hand: the network, its weights and the graph come from the file; only torch is needed.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from PIL import Image

FILE_NAME = "inception-2015-12-05.pt"
URL = "https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/metrics/" + FILE_NAME
SIZE = 299


class WeightsNotFoundError(FileNotFoundError):
    """The network's weights are not on this machine; the message says where we looked and how to get them."""


def candidate_paths() -> list[Path]:
    """Where the file is looked for without --weights: our cache folder, then clean-fid's download folder."""
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "openimagen"
    return [cache / FILE_NAME, Path("/tmp") / FILE_NAME]


def find_weights(weights: str | Path | None = None) -> Path:
    if weights is not None:
        path = Path(weights).expanduser()
        if path.is_dir() and not (path / FILE_NAME).is_file():
            raise WeightsNotFoundError(f"--weights {weights} is a folder without {FILE_NAME}; pass the path of "
                                       f"{FILE_NAME} ({URL})")
        if path.is_dir():
            path = path / FILE_NAME
        if not path.is_file():
            raise WeightsNotFoundError(f"--weights {weights}: no such file; pass the path of {FILE_NAME} ({URL})")
        return path
    for path in candidate_paths():
        if path.is_file():
            return path
    looked = ", ".join(str(p) for p in candidate_paths())
    raise WeightsNotFoundError(f"FID needs the Inception weights {FILE_NAME}, not found at {looked}; download it "
                               f"once from {URL} and pass --weights PATH (or put it at {candidate_paths()[0]}); "
                               "--features shapes works offline")


def clean_resize(image: Image.Image, size: int = SIZE) -> np.ndarray:
    """clean-fid's resize: uint8 RGB -> [size, size, 3] float32 in ~[0, 255], bicubic per channel, no rounding."""
    pixels = np.asarray(image.convert("RGB"))
    channels = [np.asarray(Image.fromarray(pixels[:, :, c].astype(np.float32), mode="F")
                           .resize((size, size), resample=Image.BICUBIC)) for c in range(3)]
    return np.stack(channels, axis=-1)


class InceptionFeatureExtractor:
    """Callable: a list of PIL images -> [N, 2048] float32 pool features (any TorchScript file with a `layers`
    submodule mapping [N, 3, 299, 299] in [-1, 1] to features works: the tests use a tiny random one)."""

    def __init__(self, module: torch.jit.ScriptModule, device: str | torch.device = "cpu"):
        if not hasattr(module, "layers"):
            raise ValueError("the TorchScript file has no `layers` submodule; is it inception-2015-12-05.pt?")
        self.layers = module.layers.eval().to(device)
        self.device = torch.device(device)

    @classmethod
    def load(cls, weights: str | Path | None = None, device: str | torch.device = "cpu") -> "InceptionFeatureExtractor":
        path = find_weights(weights)
        try:
            with warnings.catch_warnings():       # TorchScript is deprecated, but the reference network is one
                warnings.simplefilter("ignore", DeprecationWarning)
                module = torch.jit.load(str(path), map_location="cpu")
        except (RuntimeError, ValueError) as error:
            first = (str(error).strip().splitlines() or [type(error).__name__])[0].split(". ")[0]
            raise ValueError(f"{path}: not a TorchScript file, or a damaged one ({first}); download {FILE_NAME} again "
                             f"({URL})") from error
        return cls(module, device)

    @torch.inference_mode()
    def __call__(self, images: Sequence[Image.Image]) -> np.ndarray:
        batch = torch.from_numpy(np.stack([clean_resize(image) for image in images])).permute(0, 3, 1, 2)
        features = self.layers((batch.to(self.device) - 128) / 128)
        return features.reshape(len(images), -1).float().cpu().numpy()
