"""configs/imagen-paper.toml: the paper's 64 -> 256 -> 1024 cascade parses and builds (on the meta device)."""

from pathlib import Path

import pytest
import torch

from openimagen.cascade.stage import build_stage_network
from openimagen.train.config import load_config

CONFIG = Path(__file__).parent.parent / "configs" / "imagen-paper.toml"
T5_XXL_DIM = 4096
PAPER_PARAMS = [2.0e9, 600e6, 400e6]            # Imagen Sec. 2.4-2.5: base, 64->256, 256->1024


@pytest.fixture(scope="module")
def config():
    return load_config(CONFIG, ["data.source=shards/{00000..00009}.tar"])


def test_the_paper_config_is_the_papers_cascade_and_training_setup(config):
    stages = config.cascade.stages
    assert [s.resolution for s in stages] == [64, 256, 1024] and stages[2].crop_size == 256
    assert config.cascade.text_encoder == "google/t5-v1_1-xxl"
    assert (config.train.batch_size, config.train.lr, config.train.warmup_steps) == (2048, 1e-4, 10_000)
    assert config.train.accumulation_steps(64) == 4      # 64 GPUs x 8 per forward x 4 = 2048
    assert all(0.1 <= s.aug_level <= 0.3 for s in stages[1:]) and stages[0].threshold == "dynamic"


@pytest.mark.parametrize("number", [1, 2, 3])
def test_each_paper_stage_builds_with_the_papers_parameter_count(config, number):
    with torch.device("meta"):
        network = build_stage_network(config.cascade.stages[number - 1], T5_XXL_DIM, number > 1)
    params = sum(p.numel() for p in network.parameters())
    assert abs(params / PAPER_PARAMS[number - 1] - 1) < 0.15, f"stage {number}: {params / 1e6:.0f}M"
