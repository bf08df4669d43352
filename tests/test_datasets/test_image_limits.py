"""The pixel limit: decompression bombs are refused from the header, before decoding."""

from __future__ import annotations

import json
import struct
import warnings

import cv2
import numpy as np
import pytest
from PIL import Image

from errkit.datasets import DataFileError, ImageTooLargeError, read_image
from errkit.datasets.image_limits import (DEFAULT_MAX_IMAGE_PIXELS, MAX_IMAGE_PIXELS_ENV,
                                          max_image_pixels, pillow_bomb_check_deferred,
                                          read_header)
from errkit.datasets.mmi_manifest import extract_frames
from errkit.registry import TRANSFORMS
from tests.helpers import face, run_python, save_with_orientation, write_png_bomb

BOMB_SIDE = 20000  # 400 megapixels: 400 MB grey, 1.2 GB RGB once decoded


@pytest.fixture(scope="module")
def bomb(tmp_path_factory):
    path = write_png_bomb(tmp_path_factory.mktemp("bomb") / "bomb.png", BOMB_SIDE, BOMB_SIDE)
    assert path.stat().st_size < 400_000
    with pillow_bomb_check_deferred(), Image.open(path) as img:  # a real PNG of that size
        assert img.size == (BOMB_SIDE, BOMB_SIDE) and img.format == "PNG"
        img.verify()
    return path


def test_bomb_is_refused_from_the_header_with_small_peak_memory(bomb):
    result = run_python(f"""
        import json, resource
        from errkit.datasets import DataFileError, ImageTooLargeError, read_image
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        for color_type in ("grey", "color"):
            try:
                read_image({str(bomb)!r}, color_type)
                raise SystemExit("the bomb was decoded")
            except ImageTooLargeError as exc:
                message = str(exc)
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(json.dumps(dict(grown_kb=after - before, message=message)))
        """, env={MAX_IMAGE_PIXELS_ENV: ""})
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["grown_kb"] < 40_000, out  # decoding would take 400_000 KB or more
    message = out["message"]
    assert "\n" not in message and message.startswith(str(bomb))
    assert "20000x20000 pixels" in message and MAX_IMAGE_PIXELS_ENV in message


def test_limit_from_argument_and_environment(tmp_path, monkeypatch):
    path = tmp_path / "a.png"
    Image.fromarray(face(1, (30, 40))).save(path)  # 1200 pixels
    with pytest.raises(ImageTooLargeError, match=r"a\.png: the image is 40x30 pixels") as info:
        read_image(path, max_pixels=1199)
    assert isinstance(info.value, ValueError)
    assert (info.value.width, info.value.height, info.value.max_pixels) == (40, 30, 1199)
    assert read_image(path, max_pixels=1200).shape == (30, 40, 1)
    monkeypatch.setenv(MAX_IMAGE_PIXELS_ENV, "1000")
    assert max_image_pixels() == 1000
    with pytest.raises(ImageTooLargeError, match="limit of 0.001 megapixels"):
        read_image(path)
    assert read_image(path, max_pixels=5000).shape == (30, 40, 1)  # the argument wins
    monkeypatch.setenv(MAX_IMAGE_PIXELS_ENV, "lots")
    with pytest.raises(ValueError, match=f"{MAX_IMAGE_PIXELS_ENV}='lots' is not a whole"):
        read_image(path)
    monkeypatch.delenv(MAX_IMAGE_PIXELS_ENV)
    assert max_image_pixels() == DEFAULT_MAX_IMAGE_PIXELS
    assert max_image_pixels(np.int64(5000)) == 5000
    for bad in (0, -5, 2.5, True, "5000"):
        with pytest.raises(ValueError, match="max_pixels must be a positive whole number"):
            max_image_pixels(bad)


def test_raised_limit_reads_images_beyond_pillows_own_heuristic(tmp_path):
    # Pillow warns above Image.MAX_IMAGE_PIXELS and refuses above twice that; errkit's
    # limit decides instead, and Pillow's setting is restored afterwards.
    path = tmp_path / "wide.png"
    Image.new("L", (300, 200), 7).save(path)
    saved = Image.MAX_IMAGE_PIXELS
    try:
        Image.MAX_IMAGE_PIXELS = 10_000  # 60_000 pixels would be a "bomb" for Pillow
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = read_image(path, max_pixels=60_000)
        assert img.shape == (200, 300, 1) and int(img.max()) == 7
        assert Image.MAX_IMAGE_PIXELS == 10_000
        with pillow_bomb_check_deferred(), pillow_bomb_check_deferred():
            assert Image.MAX_IMAGE_PIXELS is None
        assert Image.MAX_IMAGE_PIXELS == 10_000
    finally:
        Image.MAX_IMAGE_PIXELS = saved


def _patch_tiff_tags(path, values) -> None:
    """Overwrite SHORT/LONG values of a little-endian TIFF's first IFD."""
    data = bytearray(path.read_bytes())
    offset = struct.unpack("<I", data[4:8])[0]
    for i in range(struct.unpack("<H", data[offset:offset + 2])[0]):
        entry = offset + 2 + 12 * i
        tag, kind = struct.unpack("<HH", data[entry:entry + 4])
        if tag in values:
            data[entry + 8:entry + 12] = struct.pack("<I" if kind == 4 else "<HH",
                                                     *([values[tag]] if kind == 4
                                                       else [values[tag], 0]))
    path.write_bytes(bytes(data))


def test_tiff_pillow_cannot_identify_is_measured_before_opencv(tmp_path):
    path = save_with_orientation(tmp_path / "odd.tif", face(3), 1)
    # BitsPerSample 7: Pillow cannot identify it, so errkit reads the size itself.
    _patch_tiff_tags(path, {258: 7, 256: 30000, 257: 30000, 274: 6})
    with pytest.raises(Exception):  # Pillow: UnidentifiedImageError
        Image.open(path)
    assert read_header(str(path)) == (30000, 30000, 6)
    with pytest.raises(ImageTooLargeError, match=r"odd\.tif: the image is 30000x30000"):
        read_image(path)


def test_radiance_hdr_goes_to_opencv_after_its_header_is_measured(tmp_path):
    path = tmp_path / "light.hdr"
    rgb = np.zeros((4, 5, 3), np.float32)
    rgb[0, 0] = (0.0, 0.0, 1.0)  # red in OpenCV's BGR order
    assert cv2.imwrite(str(path), rgb)
    assert read_header(str(path)) == (5, 4, 1)
    img = read_image(path, "color")
    assert img.shape == (4, 5, 3) and tuple(img[0, 0]) == (255, 0, 0)
    data = path.read_bytes().replace(b"-Y 4 +X 5", b"-Y 90000 +X 90000")
    path.write_bytes(data)
    with pytest.raises(ImageTooLargeError, match="90000x90000"):
        read_image(path)


def test_unknown_format_is_not_decoded_blind(tmp_path):
    path = tmp_path / "mystery.png"
    path.write_bytes(b"\x00\x01not an image format anyone reads" * 10)
    with pytest.raises(DataFileError) as info:
        read_image(path)
    assert not isinstance(info.value, ImageTooLargeError)
    assert "mystery.png: cannot identify the image format" in str(info.value)


def test_loading_transform_refuses_a_bomb(bomb):
    load = TRANSFORMS.build(dict(type="LoadFaceImages"))
    with pytest.raises(ImageTooLargeError, match="bomb.png"):
        load(dict(img_path=str(bomb), neutral_path=None))


def test_video_frames_are_measured_before_decoding(tmp_path, monkeypatch):
    path = tmp_path / "session.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (32, 24))
    for i in range(4):
        writer.write(np.full((24, 32, 3), 40 * i, np.uint8))
    writer.release()
    neutral, peaks = extract_frames(path, num_peak_frames=1)
    assert neutral.shape == (24, 32, 3) and len(peaks) == 1
    monkeypatch.setenv(MAX_IMAGE_PIXELS_ENV, str(32 * 24 - 1))
    with pytest.raises(ImageTooLargeError, match=r"session\.avi: the image is 32x24 pixels"):
        extract_frames(path, num_peak_frames=1)
