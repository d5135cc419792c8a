"""An image over Pillow's pixel limit: one log line naming the file (no raw DecompressionBombWarning), still used."""

import logging
import warnings

import pytest
from PIL import Image

from openimagen.data import Preprocess, SkipSample


def test_an_image_over_the_pixel_limit_is_named_once_and_decoded(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)               # 40x40 = 1600 px: over it, under 2x
    Image.new("RGB", (40, 40), "red").save(tmp_path / "big.png")
    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.WARNING):
        warnings.simplefilter("always")
        for _ in range(2):
            image = Preprocess(resolution=8)(str(tmp_path / "big.png"))
    assert image.shape == (3, 8, 8)
    assert not [w for w in caught if issubclass(w.category, Image.DecompressionBombWarning)]
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 and str(tmp_path / "big.png") in lines[0] and "40x40 pixels" in lines[0]


def test_an_image_over_twice_the_limit_is_skipped_with_how_to_use_it(tmp_path, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)               # 50x50 = 2500 px: over 2x
    Image.new("RGB", (50, 50), "red").save(tmp_path / "huge.png")
    with pytest.raises(SkipSample) as info:
        Preprocess(resolution=8)(str(tmp_path / "huge.png"))
    assert info.value.reason == "unreadable"
    assert info.value.detail.startswith("over 2,000 pixels (twice") and "raise PIL.Image.MAX_IMAGE_PIXELS" in info.value.detail
