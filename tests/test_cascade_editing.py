"""Inpainting and outpainting with a cascade (cascade/editing.py) on tiny random networks, 8 -> 16 px, 2 steps."""

import numpy as np
import pytest
from PIL import Image

from openimagen.cascade import editing
from openimagen.cascade import pipeline as pipeline_module
from cascade_helpers import perturb, tiny_cascade, one_thread  # noqa: F401 - autouse fixture


@pytest.fixture(scope="module")
def cascade():
    pipe = tiny_cascade()
    for number, network in enumerate(pipe.networks):
        perturb(network, seed=number)
    return pipe


def random_image(size=16, seed=0):
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8))


def box_mask(size=16, box=(4, 4, 12, 10), mode="L"):
    mask = Image.new("L", (size, size), 0)
    mask.paste(255, box)
    return mask.convert(mode)


def pixels(image):
    return np.asarray(image, dtype=np.int16)


@pytest.mark.parametrize("method", ["repaint", "naive"])
@pytest.mark.parametrize("mode", ["L", "RGB", "1"])
def test_unmasked_pixels_are_the_input_exactly(cascade, method, mode):
    image, mask = random_image(), box_mask(mode=mode)
    out = cascade.inpaint("a red circle", image, mask, num_images_per_prompt=2, seed=0, method=method,
                          progress=False)
    keep = np.asarray(box_mask()) == 0
    for result in out:
        assert result.size == (16, 16)
        assert np.array_equal(pixels(result)[keep], pixels(image)[keep])
        assert np.abs(pixels(result)[~keep] - pixels(image)[~keep]).max() > 0    # the masked part was redrawn


def test_an_all_white_mask_is_plain_sampling_with_the_same_seed(cascade):
    white = Image.new("L", (16, 16), 255)
    edited = cascade.inpaint(["red", "blue"], random_image(), white, seed=3, sampler="ancestral", progress=False)
    plain = cascade(["red", "blue"], seed=3, sampler="ancestral", progress=False)
    assert all(np.array_equal(pixels(a), pixels(b)) for a, b in zip(edited, plain))


def test_each_stage_gets_the_mask_resized_with_nearest_and_the_image_at_its_size(cascade, monkeypatch):
    seen = {}
    real = pipeline_module.sample_stage

    def spy(network, stage, *args, known=None, **kwargs):
        seen[stage.resolution] = known
        return real(network, stage, *args, known=known, **kwargs)

    monkeypatch.setattr(pipeline_module, "sample_stage", spy)
    mask = box_mask(box=(3, 5, 13, 11))
    stages = cascade.inpaint("red", random_image(), mask, seed=0, progress=False, return_all_stages=True)
    for size in (8, 16):
        expected = np.asarray(mask.resize((size, size), Image.NEAREST)) >= 128
        assert seen[size].mask.shape == (1, 1, size, size)
        assert np.array_equal(seen[size].mask[0, 0].numpy() > 0.5, expected)
        assert seen[size].image.shape == (1, 3, size, size)
    low_keep = np.asarray(mask.resize((8, 8), Image.NEAREST)) < 128      # stage 1's output keeps the downsample
    low_input = ((seen[8].image[0].permute(1, 2, 0).numpy() + 1) * 127.5).round()
    assert np.array_equal(pixels(stages[1][0])[low_keep], low_input[low_keep])


def test_a_mask_of_another_size_and_the_same_aspect_is_resized_with_nearest(cascade):
    big = box_mask(size=32, box=(8, 8, 24, 20))
    a = cascade.inpaint("red", random_image(), big, seed=1, progress=False)[0]
    b = cascade.inpaint("red", random_image(), big.resize((16, 16), Image.NEAREST), seed=1, progress=False)[0]
    assert np.array_equal(pixels(a), pixels(b))


def test_a_mask_of_another_aspect_ratio_is_an_error(cascade):
    with pytest.raises(ValueError, match="aspect ratio"):
        cascade.inpaint("red", random_image(), Image.new("L", (16, 8), 255), progress=False)


def test_an_all_black_mask_is_an_error(cascade):
    with pytest.raises(ValueError, match="no white pixel"):
        cascade.inpaint("red", random_image(), Image.new("L", (16, 16), 0), progress=False)


def test_resampling_changes_the_generated_region_only(cascade):
    image, mask = random_image(), box_mask()
    plain = cascade.inpaint("red", image, mask, seed=0, sampler="ddim", progress=False)[0]
    jumped = cascade.inpaint("red", image, mask, seed=0, sampler="ddim", jump_length=1, jump_n_sample=3,
                             steps=3, progress=False)[0]
    keep = np.asarray(mask) == 0
    assert np.array_equal(pixels(plain)[keep], pixels(jumped)[keep])
    assert not np.array_equal(pixels(plain), pixels(jumped))


def test_trained_method_needs_an_inpainting_stage(cascade):
    with pytest.raises(ValueError, match="task = 'inpaint'"):
        cascade.inpaint("red", random_image(), box_mask(), method="trained", progress=False)


def test_outpaint_keeps_the_scaled_image_and_fills_the_pad(cascade):
    image = random_image(size=8, seed=2)
    out = cascade.outpaint("red", image, pad=(8, 0, 0, 8), seed=0, progress=False)[0]
    canvas, mask = editing.outpaint_canvas(image, (8, 0, 0, 8), 16)
    assert np.array_equal(pixels(canvas)[0:8, 8:16], pixels(image))        # 16-px canvas: no scaling
    keep = np.asarray(mask) == 0
    assert keep.sum() == 64 and np.array_equal(pixels(out)[keep], pixels(canvas)[keep])


def test_outpaint_takes_one_image_per_output(cascade):
    images = [random_image(size=16, seed=k) for k in range(2)]
    out = cascade.outpaint("red", images, pad=(8, 0, 0, 8), num_images_per_prompt=2, seed=0, progress=False)
    for image, result in zip(images, out):
        canvas, mask = editing.outpaint_canvas(image, (8, 0, 0, 8), 16)
        keep = np.asarray(mask) == 0
        assert np.array_equal(pixels(result)[keep], pixels(canvas)[keep])

def test_outpaint_canvas_scales_to_fit_and_centres_a_non_square_canvas():
    canvas, mask = editing.outpaint_canvas(Image.new("RGB", (20, 10), (255, 0, 0)), (0, 0, 20, 0), 16)
    kept = np.argwhere(np.asarray(mask) == 0)
    assert kept.min(0).tolist() == [6, 0] and kept.max(0).tolist() == [9, 7]   # 40x10 -> 16x4, centred rows 6-9


@pytest.mark.parametrize("pad, message", [((0, 0, 1000, 0), "leaves no pixel"), ((-1, 0, 0, 0), "integers >= 0"),
                                          ((1, 2, 3), "4 integers")])
def test_outpaint_refuses_a_bad_pad(pad, message):
    with pytest.raises(ValueError, match=message):
        editing.outpaint_canvas(random_image(), pad, 16)


@pytest.mark.parametrize("keywords, error, message", [
    (dict(prompts=None), TypeError, "prompts must be a str or a list of str, got NoneType"),
    (dict(image=np.zeros((16, 16, 3), np.uint8)), TypeError, "image must be a PIL image or a list of PIL images"),
    (dict(mask=np.ones((16, 16))), TypeError, "mask must be a PIL image or a list of PIL images, got ndarray"),
    (dict(jump_length=1.5), TypeError, "jump_length must be an integer >= 1, got 1.5"),
    (dict(jump_n_sample=0), ValueError, "jump_n_sample must be an integer >= 1, got 0"),
    (dict(seed="x"), TypeError, "seed must be an integer"),
    (dict(stop_at_stage=0), ValueError, "stop_at_stage must be an integer >= 1, got 0"),
    (dict(guidance_scale=float("nan")), ValueError, "guidance_scale must be a finite number >= 0, got nan"),
])
def test_inpaint_names_a_bad_argument_before_sampling(cascade, monkeypatch, keywords, error, message):
    monkeypatch.setattr(pipeline_module.Cascade, "_sample_chain", lambda *args: pytest.fail("sampled"))
    keywords = {"prompts": "red", "image": random_image(), "mask": box_mask(), "progress": False, **keywords}
    with pytest.raises(error, match=message):
        editing.inpaint(cascade, **keywords)


@pytest.mark.parametrize("keywords, error, message", [
    (dict(stop_at_stage=5), ValueError, r"stop_at_stage must be in 1..2"),
    (dict(pad=16), ValueError, "pad: expected 4 integers >= 0"),
    (dict(prompts=None), TypeError, "prompts must be a str or a list of str"),
])
def test_outpaint_names_a_bad_argument(cascade, keywords, error, message):
    keywords = {"prompts": "red", "image": random_image(), "pad": (4, 0, 4, 0), "progress": False, **keywords}
    with pytest.raises(error, match=message):
        editing.outpaint(cascade, **keywords)
