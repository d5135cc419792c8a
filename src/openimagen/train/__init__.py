"""Training: typed TOML config, the Accelerate training loop, EMA, checkpoints, stage runs (docs/training.md).

```python
from openimagen.train import load_config, train
results = train(load_config("configs/tiny-2stage.toml", ["data.source=images/"]))
```
"""

from importlib import import_module

_EXPORTS = {
    "ConfigError": "openimagen.config", "TrainConfig": "config", "DataConfig": "config", "ExperimentConfig": "config",
    "load_config": "config", "config_from_dict": "config", "Trainer": "trainer", "TrainResult": "trainer",
    "TrainingDiverged": "trainer", "make_accelerator": "accelerator", "EMA": "ema", "train": "run",
    "export_cascade": "run", "train_stage": "stage_run",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    """Lazy exports: `import openimagen.train` stays cheap (Accelerate and the cascade load on first use)."""
    if name not in _EXPORTS:
        raise AttributeError(f"module 'openimagen.train' has no attribute {name!r}")
    module = _EXPORTS[name]
    return getattr(import_module(module if "." in module else f"openimagen.train.{module}"), name)
