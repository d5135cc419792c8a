"""Training: typed TOML config, the Accelerate training loop, EMA, checkpoints, stage runs (docs/training.md).

```python
from openimagen.train import load_config, train
results = train(load_config("configs/tiny-2stage.toml", ["data.source=images/"]))
```
"""

from importlib import import_module

_EXPORTS = {
    "ConfigError": "typed_config", "TrainConfig": "config", "DataConfig": "config", "ExperimentConfig": "config",
    "load_config": "config", "config_from_dict": "config", "Trainer": "trainer", "TrainResult": "trainer",
    "TrainingDiverged": "trainer", "make_accelerator": "trainer", "EMA": "ema", "train": "run",
    "export_cascade": "run", "train_stage": "stage_run",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    """Lazy exports: `openimagen.cascade` imports `openimagen.train.typed_config`, and `run` imports the cascade."""
    if name not in _EXPORTS:
        raise AttributeError(f"module 'openimagen.train' has no attribute {name!r}")
    return getattr(import_module(f"openimagen.train.{_EXPORTS[name]}"), name)
