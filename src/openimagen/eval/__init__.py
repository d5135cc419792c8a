"""Evaluation: the shapes-world judge (text-image alignment, issue 6) and Frechet distances (fidelity).

```python
from openimagen.eval import judge
result = judge(image, spec)          # image: PIL or float [H, W, 3] in [0, 1]; spec: Spec or its dict
result.passed, result.category, [c.name for c in result.failures], result.to_dict()
```
The judge is imported here (a function shadows its module's name); the Frechet names are imported on first use.
"""

from importlib import import_module
from typing import Any

from openimagen.eval.detect import Detected, detect
from openimagen.eval.judge import Check, JudgeResult, judge

_LAZY = {"frechet_distance": "frechet", "fd_shapes": "features"}
__all__ = ["Check", "Detected", "JudgeResult", "detect", "judge", *_LAZY]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'openimagen.eval' has no attribute {name!r}")
    return getattr(import_module(f"openimagen.eval.{_LAZY[name]}"), name)
