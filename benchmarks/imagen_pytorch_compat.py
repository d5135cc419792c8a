"""Import imagen-pytorch 2.1.0 on CPU-only torch, offline (benchmark helper, not part of the package).

Its torchvision import needs two C++ ops that the CPU wheel pairing lacks (we define their schemas), or, when
torchvision is not installed at all, a placeholder module: imagen-pytorch only uses torchvision.transforms to turn
sampled images into PIL images, which the benchmark never does. It also fetches a T5 config from the hub at import
time; we answer that lookup locally and always pass text embeddings.
"""
from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
import types

import torch

_LIB = None


def import_imagen_pytorch_unet(text_dim: int):
    """Return imagen_pytorch.Unet, importable without network access or torchvision's compiled ops."""
    global _LIB
    if _LIB is None:
        try:
            _LIB = torch.library.Library("torchvision", "DEF")
            _LIB.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
            _LIB.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        except RuntimeError:
            pass   # already defined (torchvision's ops loaded fine)
    import transformers   # first, so transformers records that torchvision is absent before the placeholder exists
    if importlib.util.find_spec("torchvision") is None:
        vision = types.ModuleType("torchvision")
        vision.transforms = types.ModuleType("torchvision.transforms")
        vision.__spec__ = importlib.machinery.ModuleSpec("torchvision", None)
        vision.transforms.__spec__ = importlib.machinery.ModuleSpec("torchvision.transforms", None)
        sys.modules.update({"torchvision": vision, "torchvision.transforms": vision.transforms})
    original = transformers.T5Config.from_pretrained

    def offline_t5_config(name, *args, **kwargs):
        if "t5" in str(name):
            return transformers.T5Config(d_model=text_dim)
        return original(name, *args, **kwargs)

    transformers.T5Config.from_pretrained = offline_t5_config
    from imagen_pytorch import Unet
    return Unet
