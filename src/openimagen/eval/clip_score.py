"""CLIP score (Hessel et al. 2021, as Imagen reports it on COCO): 100 x max(cos(E_image, E_text), 0), averaged over
(image, caption) pairs, with a CLIP model from Hugging Face transformers (`CLIPModel`, its tokenizer and its image
processor: resize the short side to 224 bicubic, centre crop, CLIP's normalisation).

Weights: a local folder written by `save_pretrained`, or a hub name found in the Hugging Face cache (downloaded
once if `HF_HUB_OFFLINE` is not set). Default: openai/clip-vit-large-patch14, as torchmetrics' CLIPScore.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from PIL import Image

DEFAULT_MODEL = "openai/clip-vit-large-patch14"


class ClipNotFoundError(FileNotFoundError):
    """The CLIP weights are not available; the message names the model and how to get it."""


def looks_like_hub_name(name: str) -> bool:
    """`owner/model`, as every CLIP on the Hugging Face Hub is named; anything else is meant as a local folder."""
    owner, slash, model = name.partition("/")
    return bool(slash and owner and model) and "/" not in model and not name.startswith((".", "~"))


def locate_clip(name_or_path: str | Path | None) -> Path:
    """A local folder holding the CLIP model, tokenizer and image processor config."""
    name = str(name_or_path or DEFAULT_MODEL)
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ClipNotFoundError(f"--weights {name}: no config.json; pass a folder written by "
                                    "CLIPModel.save_pretrained (and the processor's save_pretrained)")
        return path
    if path.exists():
        raise ClipNotFoundError(f"--weights {name}: a file, not a folder; pass a saved CLIP folder or a hub name "
                                f"such as {DEFAULT_MODEL}")
    if not looks_like_hub_name(name):
        raise ClipNotFoundError(f"--weights {name}: no such folder; pass a saved CLIP folder or a hub name such as "
                                f"{DEFAULT_MODEL}")
    from openimagen.text.loading import hub_offline
    from huggingface_hub import snapshot_download

    how_to = (f"run `huggingface-cli download {name}` on a machine with network and copy the Hugging Face cache "
              "here, or pass --weights FOLDER (CLIPModel + CLIPProcessor saved with save_pretrained)")
    try:
        return Path(snapshot_download(name, local_files_only=True))
    except Exception as cached:  # noqa: BLE001 - any failure means "not in the cache"
        if hub_offline():
            raise ClipNotFoundError(f"CLIP model {name!r} is not in the Hugging Face cache (offline); {how_to}") \
                from cached
    try:
        return Path(snapshot_download(name, allow_patterns=["*.json", "*.txt", "*.safetensors"]))
    except Exception as error:  # noqa: BLE001 - one clear line instead
        raise ClipNotFoundError(f"CLIP model {name!r} is not in the Hugging Face cache and could not be downloaded "
                                f"({type(error).__name__}); {how_to}") from error


def _image_processor(folder: Path):
    """CLIP's image processor; the PIL backend (no torchvision) where this transformers version has one."""
    from openimagen.torchvision_guard import hide_broken_torchvision

    hide_broken_torchvision()
    try:
        from transformers import CLIPImageProcessorPil as processor_class
    except ImportError:
        from transformers import CLIPImageProcessor as processor_class
    try:
        return processor_class.from_pretrained(folder)
    except OSError:                                    # a model saved without its processor: CLIP's standard one
        return processor_class()


class ClipScorer:
    """Callable: (PIL images, captions) -> per-pair CLIP scores [N] (numpy float64)."""

    def __init__(self, model, tokenizer, image_processor, device: str | torch.device = "cpu"):
        self.model = model.eval().to(device)
        self.tokenizer, self.image_processor, self.device = tokenizer, image_processor, torch.device(device)

    @classmethod
    def load(cls, name_or_path: str | Path | None = None, device: str | torch.device = "cpu") -> "ClipScorer":
        from openimagen.torchvision_guard import hide_broken_torchvision

        hide_broken_torchvision()
        from transformers import AutoTokenizer, CLIPModel
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
        folder = locate_clip(name_or_path)
        try:
            model = CLIPModel.from_pretrained(folder)
            tokenizer = AutoTokenizer.from_pretrained(folder)
        except (OSError, ValueError) as error:
            raise ClipNotFoundError(f"{folder}: not a complete CLIP folder ({str(error).splitlines()[0]})") from error
        return cls(model, tokenizer, _image_processor(folder), device)

    @torch.inference_mode()
    def __call__(self, images: Sequence[Image.Image], captions: Sequence[str]) -> np.ndarray:
        if len(images) != len(captions):
            raise ValueError(f"{len(images)} images but {len(captions)} captions")
        pixels = self.image_processor(images=[image.convert("RGB") for image in images],
                                      return_tensors="pt")["pixel_values"].to(self.device)
        limit = self.model.config.text_config.max_position_embeddings
        text = self.tokenizer(list(captions), padding=True, truncation=True, max_length=limit, return_tensors="pt")
        image_embeds = _as_tensor(self.model.get_image_features(pixel_values=pixels))
        text_embeds = _as_tensor(self.model.get_text_features(input_ids=text["input_ids"].to(self.device),
                                                              attention_mask=text["attention_mask"].to(self.device)))
        cosine = torch.nn.functional.cosine_similarity(image_embeds.float(), text_embeds.float(), dim=-1)
        return (100 * cosine.clamp(min=0)).double().cpu().numpy()


def _as_tensor(output) -> torch.Tensor:
    """get_*_features return a tensor in most transformers versions and a model output in some."""
    return output if isinstance(output, torch.Tensor) else output.pooler_output
