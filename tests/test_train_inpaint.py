"""A mask-trained (inpainting) stage: random training masks, fine-tuning from a saved stage with the new input
channels at zero (step 0 = the base stage), training, export and `method="trained"` (tiny nets, 8 -> 16 px)."""

import numpy as np
import pytest
import torch
from PIL import Image

from openimagen.cascade import Cascade, TextEmbedder
from openimagen.data.masks import box_mask, random_masks
from openimagen.data.shapes import ObjectGroup, Spec, render
from openimagen.train import config_from_dict, train_stage
from openimagen.train.run import export_cascade
from openimagen.train.stage_run import initial_network
from cascade_helpers import WordEncoder, perturb, tiny_cascade, one_thread  # noqa: F401 - autouse fixture


def generators(count, seed=0):
    return [torch.Generator().manual_seed(seed + i) for i in range(count)]


def image_tensor(image):
    return torch.from_numpy(np.asarray(image, dtype=np.float32) / 127.5 - 1).permute(2, 0, 1)


def test_an_object_mask_is_a_box_around_one_object_with_a_margin():
    spec = Spec("a red square", "colors", (ObjectGroup("square", "red", size="small"),))
    image = image_tensor(render(spec, size=32, seed=1))
    mask = random_masks(image[None], generators(1), {"object": 1.0})[0, 0].numpy() > 0
    drawn = (image.abs().amin(0) < 0.99).numpy() & ((image - 1).abs().amax(0) > 0.1).numpy()   # non-white
    rows, cols = np.nonzero(mask)
    assert drawn.any() and mask[drawn].all()                                 # it covers the object...
    assert mask.sum() == (np.ptp(rows) + 1) * (np.ptp(cols) + 1) < 0.5 * mask.size   # ...as one box, not the image


def test_mask_kinds_are_binary_seeded_and_full_masks_are_all_ones():
    images = torch.zeros(4, 3, 16, 16)
    for kind in ("box", "brush", "object", "full"):
        masks = random_masks(images, generators(4), {kind: 1.0})
        assert masks.shape == (4, 1, 16, 16) and set(masks.unique().tolist()) <= {0.0, 1.0}
        assert (masks.flatten(1).sum(1) > 0).all()                            # a blank image: object -> a box
        assert torch.equal(masks, random_masks(images, generators(4), {kind: 1.0}))
    assert random_masks(images, generators(4), {"full": 1.0}).all()
    assert not torch.equal(*(torch.from_numpy(box_mask(16, g)) for g in generators(2)))


def saved_base(folder):
    cascade = tiny_cascade()
    for number, network in enumerate(cascade.networks):
        perturb(network, seed=number)
    cascade.save_pretrained(str(folder))
    return cascade


def inpaint_config(tmp_path, base, stages=(1, 2), **train):
    raw_stages = [{"resolution": 8, "network": "tiny-test-base", "steps": 2},
                  {"resolution": 16, "network": "tiny-test-sr", "crop_size": 8, "steps": 2}]
    for number in stages:
        raw_stages[number - 1]["task"] = "inpaint"
    return config_from_dict({
        "cascade": {"max_text_length": 16, "stages": raw_stages},
        "train": {"output_dir": str(tmp_path / "run"), "max_steps": 2, "batch_size": 2, "progress": False,
                  "init_from": str(base), "stages": list(stages), **train},
        "data": {"source": {"type": "shapes", "per_category": 1}}})


def test_a_fine_tuned_inpainting_stage_starts_as_the_stage_it_comes_from(tmp_path):
    base = saved_base(tmp_path / "base")
    config = inpaint_config(tmp_path, tmp_path / "base")
    g = torch.Generator().manual_seed(0)
    text, text_mask = torch.randn(2, 3, WordEncoder.dim, generator=g), torch.ones(2, 3, dtype=torch.bool)
    for number, size in ((1, 8), (2, 16)):
        network = initial_network(config, number, WordEncoder.dim).eval()
        assert network.config.inpaint_cond and network.input_conv.weight[:, -4:].abs().sum() == 0
        x, log_snr = torch.randn(2, 3, size, size, generator=g), torch.randn(2, generator=g)
        extra = {} if number == 1 else {"lowres": torch.randn(2, 3, 8, 8, generator=g), "aug_log_snr": torch.zeros(2)}
        inpaint = torch.cat([torch.randn(2, 3, size, size, generator=g), torch.rand(2, 1, size, size) > 0.5], 1)
        with torch.no_grad():
            expected = base.networks[number - 1](x, log_snr, text, text_mask, **extra)
            got = network(x, log_snr, text, text_mask, inpaint=inpaint.float(), **extra)
        assert expected.abs().mean() > 1e-3
        assert torch.equal(got, expected)


def test_init_from_a_folder_whose_network_differs_is_a_config_error(tmp_path):
    from openimagen.config import ConfigError

    saved_base(tmp_path / "base")
    config = inpaint_config(tmp_path, tmp_path / "base")
    config.cascade.stages[0].network = "tiny-test-sr"
    with pytest.raises(ConfigError, match="train.init_from: stage 1 of"):
        initial_network(config, 1, WordEncoder.dim)


def test_train_an_inpainting_stage_export_it_and_edit_with_method_trained(tmp_path):
    saved_base(tmp_path / "base")
    config = inpaint_config(tmp_path, tmp_path / "base", stages=(1,), sample_every=2)
    embedder = TextEmbedder(encoder=WordEncoder())
    result = train_stage(config, 1, embedder=embedder)
    assert result.step == 2 and np.isfinite(result.last_loss)
    cascade = Cascade.from_pretrained(export_cascade(config, embedder=embedder), embedder=embedder)
    assert [s.task for s in cascade.config.stages] == ["inpaint", "generate"]
    base = Cascade.from_pretrained(tmp_path / "base", embedder=embedder)
    assert torch.equal(cascade.networks[1].input_conv.weight, base.networks[1].input_conv.weight)   # from init_from
    image = Image.fromarray(np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8))
    mask = Image.new("L", (16, 16), 0)
    mask.paste(255, (0, 0, 8, 16))
    out = cascade.inpaint("a red circle", image, mask, seed=0, method="trained", progress=False)[0]
    keep = np.asarray(mask) == 0
    assert np.array_equal(np.asarray(out)[keep], np.asarray(image)[keep])
    plain = cascade(["a red circle"], seed=0, progress=False)[0]                 # it still generates whole images
    assert plain.size == (16, 16)
