"""Example weights from a manifest column (`train.example_weight`): loss weights with mean 1, sampling in
proportion to the score, their errors, the loss they scale and the summary a run logs."""

import json
from collections import Counter

import pytest
import torch
from PIL import Image

from openimagen.cascade import StageConfig, TextEmbedder, build_stage_network
from openimagen.config import ConfigError
from openimagen.data import DataSourceError, build_dataset, make_loader
from openimagen.data.weights import ExampleWeight
from openimagen.train import config_from_dict, train_stage
from openimagen.train.stage_run import StageLoss
from cascade_helpers import WordEncoder, perturb, one_thread  # noqa: F401 - autouse fixture


def manifest(tmp_path, scores, suffix=".jsonl"):
    rows = []
    for i, score in enumerate(scores):
        Image.new("RGB", (8, 8), (40 * i, 0, 0)).save(tmp_path / f"{i}.png")
        rows.append({"path": f"{i}.png", "caption": f"image {i}", "aesthetic": score})
    path = tmp_path / f"m{suffix}"
    if suffix == ".csv":
        path.write_text("path,caption,aesthetic\n" + "".join(f"{r['path']},{r['caption']},{r['aesthetic']}\n"
                                                             for r in rows))
    else:
        path.write_text("".join(json.dumps({k: v for k, v in r.items() if v is not None}) + "\n" for r in rows))
    return str(path)


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_loss_mode_gives_each_item_its_score_over_the_mean_score(tmp_path, suffix):
    dataset = build_dataset(manifest(tmp_path, [1, 1, 2, 4], suffix), 8, example_weight=ExampleWeight("aesthetic"),
                            epochs=1, shuffle=False)
    batch = next(iter(make_loader(dataset, 4)))
    assert batch["key"] == ["0", "1", "2", "3"] and batch["weight"].tolist() == [0.5, 0.5, 1.0, 2.0]


def test_sampling_mode_draws_examples_in_proportion_to_their_score(tmp_path):
    dataset = build_dataset(manifest(tmp_path, [1, 3]), 8, example_weight=ExampleWeight("aesthetic", "sampling"))
    counts = Counter(item["key"] for item, _ in zip(dataset, range(1000)))
    assert abs(counts["1"] / 1000 - 0.75) < 0.045
    assert "weight" not in next(iter(dataset))                           # sampling mode: the loss is unweighted


def test_power_and_floor_shape_the_weights():
    weights = ExampleWeight("aesthetic", "sampling", power=0.5, floor=0.5).weights([0, 1, 4])
    assert weights.tolist() == pytest.approx([0.5 / 3.5, 1 / 3.5, 2 / 3.5])
    assert ExampleWeight("aesthetic", power=0).weights([0, 1, 9]).tolist() == [1.0, 1.0, 1.0]


@pytest.mark.parametrize("scores, options, message", [
    ([1, None], {}, "m.jsonl:2: no 'aesthetic' value"),
    ([1, -2], {}, "m.jsonl:2: 'aesthetic' must be a finite number >= 0"),
    ([1, "high"], {}, "must be a finite number >= 0, got 'high'"),
    ([0, 0], {}, "every example has weight 0"),
])
def test_bad_scores_are_errors_naming_the_line(tmp_path, scores, options, message):
    with pytest.raises(DataSourceError, match=message):
        build_dataset(manifest(tmp_path, scores), 8, example_weight=ExampleWeight("aesthetic", **options))


def test_a_default_fills_rows_without_a_score_and_only_manifests_have_columns(tmp_path):
    dataset = build_dataset(manifest(tmp_path, [2, None]), 8, example_weight=ExampleWeight("aesthetic", default=6),
                            epochs=1, shuffle=False)
    assert dataset.example_weights.tolist() == [0.5, 1.5]
    with pytest.raises(DataSourceError, match="reads a column of a manifest"):
        build_dataset(str(tmp_path), 8, example_weight=ExampleWeight("aesthetic"))
    with pytest.raises(ConfigError, match="example_weight.mode"):
        ExampleWeight("aesthetic", "often")


def test_the_stage_loss_is_scaled_by_each_examples_weight():
    stage = StageConfig(resolution=8, network="tiny-test-base")
    network = perturb(build_stage_network(stage, WordEncoder.dim, False))
    loss_fn = StageLoss(stage, None, TextEmbedder(encoder=WordEncoder()), 0.0, seed=0, group_size=3,
                        device=torch.device("cpu"))
    batch = {"image": torch.rand(3, 3, 8, 8) * 2 - 1, "caption": ["a", "b", "c"], "index": torch.arange(3)}
    plain = loss_fn(network, batch)
    weighted = loss_fn(network, {**batch, "weight": torch.tensor([0.5, 1.0, 2.0])})
    torch.testing.assert_close(weighted, plain * torch.tensor([0.5, 1.0, 2.0]))


def test_a_run_logs_its_weights(tmp_path):
    config = config_from_dict({
        "cascade": {"max_text_length": 16, "stages": [{"resolution": 8, "network": "tiny-test-base", "steps": 1}]},
        "train": {"output_dir": str(tmp_path / "run"), "max_steps": 1, "batch_size": 2, "progress": False,
                  "example_weight": {"field": "aesthetic", "mode": "loss"}},
        "data": {"source": manifest(tmp_path, [1, 3])}})
    train_stage(config, 1, embedder=TextEmbedder(encoder=WordEncoder()))
    summary = json.loads((tmp_path / "run/stage-1/example_weights.json").read_text())
    assert summary["field"] == "aesthetic" and summary["count"] == 2 and summary["mean"] == pytest.approx(1.0)
    assert (summary["min"], summary["max"]) == pytest.approx((0.5, 1.5))
