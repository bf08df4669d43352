"""EXIF orientation: photos stored sideways with an orientation tag are read upright."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageOps

from errkit.datasets import PatternFolderDataset, read_image
from tests.helpers import face, save_with_orientation, sideways


def _upright_pattern() -> np.ndarray:
    """A 48x32 RGB pattern that no rotation or flip maps onto itself (JPEG-friendly blocks)."""
    img = np.full((48, 32, 3), 60, np.uint8)
    img[:16, :16] = (230, 40, 40)    # top-left: red
    img[32:, 16:] = (40, 40, 230)    # bottom-right: blue
    img[16:32, :8] = (40, 200, 40)   # left middle: green
    return img


FORMATS = {"png": {}, "jpg": dict(quality=100, subsampling=0), "tif": {},
           "lzw.tif": dict(compression="tiff_lzw"), "webp": dict(lossless=True)}


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("suffix", list(FORMATS))
def test_every_orientation_matches_pillows_exif_transpose(tmp_path, suffix, orientation):
    path = save_with_orientation(tmp_path / f"o.{suffix}", face(orientation, (5, 7), 3),
                                 orientation, **FORMATS[suffix])
    with Image.open(path) as img:
        expected = np.asarray(ImageOps.exif_transpose(img).convert("RGB"))
    np.testing.assert_array_equal(read_image(path, "color"), expected)
    grey = read_image(path, "grey")
    assert grey.shape == (*expected.shape[:2], 1)


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_sideways_jpeg_is_read_upright(tmp_path, orientation):
    upright = _upright_pattern()
    path = save_with_orientation(tmp_path / "photo.jpg", sideways(upright, orientation),
                                 orientation, quality=95)
    with Image.open(path) as stored:  # (width, height) as stored on disk
        assert stored.size == ((32, 48) if orientation == 3 else (48, 32))
    img = read_image(path, "color")
    assert img.shape == (48, 32, 3)
    assert np.abs(img.astype(int) - upright).mean() < 6  # JPEG loss, not a rotation
    assert img[:16, :16, 0].mean() > 180 and img[32:, 16:, 2].mean() > 180


def test_dataset_load_gives_upright_faces(tmp_path):
    upright = _upright_pattern()
    neutral = upright.copy()
    neutral[40:44] = 255
    save_with_orientation(tmp_path / "S1_happy_1.jpg", sideways(upright, 6), 6, quality=95)
    save_with_orientation(tmp_path / "S1_neutral_0.jpg", sideways(neutral, 8), 8, quality=95)
    ds = PatternFolderDataset(
        data_root=str(tmp_path), pattern=r"(?P<subject>S\d+)_(?P<label>[a-z]+)_\d+\.jpg",
        classes=("happy",), pipeline=[dict(type="LoadFaceImages", color_type="color")])
    sample = ds[0]
    assert sample["ori_shape"] == (48, 32)
    for key, expected in (("img", upright), ("neutral", neutral)):
        assert sample[key].shape == (48, 32, 3)
        assert np.abs(sample[key].astype(int) - expected).mean() < 6
