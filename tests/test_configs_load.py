"""Every config in configs/ loads, and the shipped model's sampling defaults are the ones its config file states."""
from pathlib import Path

import pytest
from openimagen.cascade.config import CascadeConfig
from openimagen.cascade.saved_folder import read_saved_config
from openimagen.config import from_dict
from openimagen.cli.model_folder import SHIPPED_MODEL
from openimagen.train.config import load_config

CONFIGS = sorted((Path(__file__).parent.parent / "configs").glob("*.toml"))
SAMPLING = ("sampler", "steps", "guidance_scale", "guidance_interval", "threshold")


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_config_loads(path):
    assert load_config(path).cascade.stages


def test_shipped_model_samples_as_its_config_file_says():
    written = load_config(Path(__file__).parent.parent / "configs" / "shapes-cascade.toml").cascade
    shipped = from_dict(CascadeConfig, read_saved_config(SHIPPED_MODEL)["cascade"])
    assert len(written.stages) == len(shipped.stages)
    for number, (mine, theirs) in enumerate(zip(written.stages, shipped.stages), start=1):
        for key in SAMPLING:
            assert getattr(mine, key) == getattr(theirs, key), f"stage {number} {key}"
