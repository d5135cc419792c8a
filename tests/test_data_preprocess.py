"""Preprocessing: every PIL mode to RGB, resize + crop, tensor range, and the bad-data folder of issue 5."""
import io
import os

import numpy as np
import pytest
import torch
from PIL import Image

from openimagen.data import (Preprocess, SkipSample, build_dataset, image_to_tensor, make_loader, open_image,
                             resize_and_crop, to_rgb)
from openimagen.data.synthetic import encode, synthetic_image


def test_transparent_pixels_are_composited_on_white():
    rgba = Image.new("RGBA", (4, 4), (255, 0, 0, 0))
    rgba.putpixel((0, 0), (255, 0, 0, 255))
    out = np.asarray(to_rgb(rgba))
    assert out[1, 1].tolist() == [255, 255, 255] and out[0, 0].tolist() == [255, 0, 0]
    assert np.asarray(to_rgb(Image.new("LA", (2, 2), (0, 128))))[0, 0].tolist() == [127, 127, 127]


def test_palette_with_transparency_uses_white_for_the_transparent_index():
    image = Image.new("P", (2, 1))
    image.putpalette([0, 0, 255] + [0, 255, 0] + [0] * 762)
    image.putpixel((1, 0), 1)
    image.info["transparency"] = 0
    assert np.asarray(to_rgb(image)).tolist() == [[[255, 255, 255], [0, 255, 0]]]


@pytest.mark.parametrize("mode, key, colour", [("RGB", (0, 0, 0), (200, 10, 10)), ("L", 0, 200)])
def test_a_transparent_colour_of_an_rgb_or_gray_png_becomes_white_not_black(tmp_path, mode, key, colour):
    image = Image.new(mode, (4, 4), key)                            # every pixel but one has the transparent colour
    image.putpixel((0, 0), colour)
    image.save(tmp_path / "key.png", transparency=key)
    out = np.asarray(to_rgb(open_image(str(tmp_path / "key.png"))))
    assert out[1, 1].tolist() == [255, 255, 255] and out[0, 0].tolist() == list(np.broadcast_to(colour, 3))


def test_cmyk_and_grayscale_convert_like_their_definitions():
    cyan = Image.new("CMYK", (1, 1), (255, 0, 0, 0))
    assert np.asarray(to_rgb(cyan))[0, 0].tolist() == [0, 255, 255]
    assert np.asarray(to_rgb(Image.new("L", (1, 1), 77)))[0, 0].tolist() == [77, 77, 77]


@pytest.mark.parametrize("mode, value, expected", [("I;16", 65535, 255), ("I;16", 32896, 128),
                                                   ("I", 65535, 255), ("I", 200, 200), ("F", 0.5, 128)])
def test_high_bit_depth_is_scaled_not_clipped(mode, value, expected):
    assert np.asarray(to_rgb(Image.new(mode, (1, 1), value)))[0, 0].tolist() == [expected] * 3


def test_center_crop_keeps_the_middle_of_the_longer_side():
    array = np.zeros((32, 96, 3), np.uint8)
    array[:, 32:64] = 255                                           # white middle third of a 3:1 image
    out = np.asarray(resize_and_crop(Image.fromarray(array), 16))
    assert out.shape == (16, 16, 3) and out[:, 2:14].min() > 240


def test_a_long_thin_strip_resamples_only_the_crop_not_a_huge_resized_image(monkeypatch):
    sizes = []
    resize = Image.Image.resize
    monkeypatch.setattr(Image.Image, "resize", lambda self, size, *a, **k: sizes.append(size) or resize(self, size, *a, **k))
    strip = Image.new("RGB", (1, 200_000), (90, 90, 90))            # full resize: 16 x 3,200,000 px (150 MB)
    assert Preprocess(16)(strip).sub(90 / 127.5 - 1).abs().max() < 1e-6
    assert sizes == [(16, 16)]


def test_random_crop_is_seeded_and_varies_between_seeds():
    image = synthetic_image(3, size=(96, 32))
    pre = Preprocess(16, random_crop=True)
    crops = [pre(image, seed=str(s)) for s in range(6)]
    assert torch.equal(crops[0], pre(image, seed="0"))
    assert len({c.sum().item() for c in crops}) > 1


def test_tensor_range_maps_0_to_minus_1_and_255_to_1():
    image = Image.fromarray(np.array([[[0, 255, 0]]], np.uint8))
    assert image_to_tensor(image).flatten().tolist() == [-1.0, 1.0, -1.0]


def test_min_size_uses_the_original_size_even_with_jpeg_draft_decoding():
    data = encode(synthetic_image(0, size=(200, 160)))
    assert open_image(data, draft_size=16).size[0] < 200           # draft really decoded at reduced scale
    assert Preprocess(16, min_size=160)(data).shape == (3, 16, 16)
    with pytest.raises(SkipSample) as info:
        Preprocess(16, min_size=161)(data)
    assert info.value.reason == "too_small"


def test_a_file_that_is_not_an_image_says_so_in_words():
    with pytest.raises(SkipSample) as info:
        Preprocess(8)(b"hello, I am text")                          # e.g. a shard member named .jpg
    assert info.value.reason == "unreadable" and info.value.detail == "not an image file (its format is not recognised)"


def _write_bad_folder(root):
    good = encode(synthetic_image(1, size=(40, 30)))
    files = {
        "good.jpg": good,
        "truncated.jpg": good[: len(good) // 2],
        "empty.jpg": b"",
        "cmyk.jpg": encode(Image.new("CMYK", (20, 20), (0, 255, 255, 0))),   # pure red in CMYK
        "gray16.png": encode(Image.fromarray(np.full((20, 20), 32896, np.uint16)), "PNG"),
        "rgba.png": encode(Image.new("RGBA", (20, 20), (0, 0, 0, 0)), "PNG"),
        "text.png": b"this is not an image\n",
    }
    os.makedirs(root)
    for name, data in files.items():
        with open(os.path.join(root, name), "wb") as f:
            f.write(data)
        with open(os.path.join(root, os.path.splitext(name)[0] + ".txt"), "w") as f:
            f.write(f"caption of {name}")
    assert Image.open(io.BytesIO(files["gray16.png"])).mode.startswith("I")


@pytest.mark.parametrize("num_workers", [0, 2])
def test_bad_files_are_skipped_counted_and_the_rest_converted(tmp_path, num_workers):
    root = str(tmp_path / "bad")
    _write_bad_folder(root)
    dataset = build_dataset(root, 8, epochs=1)
    batches = list(make_loader(dataset, batch_size=2, num_workers=num_workers))
    images = {k: img for b in batches for k, img in zip(b["key"], b["image"])}
    assert sorted(images) == ["cmyk", "good", "gray16", "rgba"]
    report = dataset.skip_report
    assert report.total == 3 and report.counts == {"unreadable": 3}
    assert sorted(os.path.basename(w) for w, _, _ in report.examples) == ["empty.jpg", "text.png", "truncated.jpg"]
    assert "truncated.jpg" in report.summary()
    red = torch.tensor([1.0, -1.0, -1.0]).view(3, 1, 1)
    assert (images["cmyk"] - red).abs().max() < 0.05
    assert (images["rgba"] - 1.0).abs().max() < 1e-6               # transparent -> white
    assert (images["gray16"] - (128 / 127.5 - 1)).abs().max() < 1e-6   # mid-gray, not clipped white


def test_exif_orientation_is_applied():
    array = np.zeros((20, 40, 3), np.uint8)
    array[:10, :, 0] = 255                                          # stored: red top half, black bottom half
    exif = Image.Exif()
    exif[0x0112] = 6                                                # "rotate 90 degrees clockwise to view"
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "JPEG", exif=exif, quality=95)
    red = Preprocess(8)(buffer.getvalue())[0]                       # viewed: red right half
    assert red[:, -2:].mean() > 0.8 and red[:, :2].mean() < -0.8
