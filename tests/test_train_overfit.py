"""Overfit one image-caption pair with a tiny stage-1 net: the loss falls >= 10x and the sample is the image."""

import numpy as np
import torch
from PIL import Image, ImageDraw

from openimagen.cascade.sampling import sample_stage
from openimagen.cascade.text_embedder import TextEmbedder
from openimagen.train import stage_run
from openimagen.train.config import config_from_dict
from cascade_helpers import WordEncoder, one_thread  # noqa: F401 - autouse fixture


def test_a_tiny_stage_memorises_one_image_caption_pair(tmp_path, monkeypatch):
    image = Image.new("RGB", (8, 8), (20, 40, 200))
    ImageDraw.Draw(image).ellipse((1, 1, 6, 6), fill=(230, 30, 30))
    (tmp_path / "data").mkdir()
    image.save(tmp_path / "data" / "a.png")
    (tmp_path / "data" / "a.txt").write_text("red circle")
    config = config_from_dict({
        "cascade": {"stages": [{"resolution": 8, "network": "tiny-test-base", "steps": 20}]},
        "train": {"output_dir": str(tmp_path / "run"), "max_steps": 200, "batch_size": 4, "lr": 5e-3,
                  "progress": False, "checkpoint_every": 1000, "ema_decay": 0.99},
        "data": {"source": str(tmp_path / "data")}})
    losses = []
    loss_fn = stage_run.StageLoss.__call__
    monkeypatch.setattr(stage_run.StageLoss, "__call__",
                        lambda self, model, batch: losses.append(loss_fn(self, model, batch)) or losses[-1])
    embedder = TextEmbedder(encoder=WordEncoder())
    result = stage_run.train_stage(config, 1, embedder=embedder)
    assert result.step == 200
    curve = [loss.mean().item() for loss in losses]
    assert np.mean(curve[:10]) >= 10 * np.mean(curve[-30:]), (np.mean(curve[:10]), np.mean(curve[-30:]))
    stage = config.cascade.stages[0]
    emb, mask = embedder(["red circle"] * 2)
    samples = sample_stage(result.model.eval(), stage, emb, mask, None, torch.Generator().manual_seed(0),
                           progress=False, **stage.sampling_defaults())
    target = torch.from_numpy(np.asarray(image, dtype=np.float32) / 127.5 - 1).permute(2, 0, 1)
    other = torch.rand(3, 8, 8, generator=torch.Generator().manual_seed(1)) * 2 - 1
    to_image, to_other = ((samples - target) ** 2).mean().item(), ((samples - other) ** 2).mean().item()
    assert to_image < 0.25 * to_other, (to_image, to_other)
