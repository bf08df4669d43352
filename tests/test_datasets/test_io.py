"""Readers of images, CK+ emotion files and landmark files; the CK+ writer."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image

from errkit.synthetic.ckplus_writer import (format_emotion, format_landmarks, frame_stem,
                                          write_ckplus_sequence)
from errkit.datasets.io import (DataFileError, read_emotion_file, read_image,
                                read_landmarks_file)
from tests.helpers import face, points


def _grey(rgb: np.ndarray) -> np.ndarray:
    return np.asarray(Image.fromarray(rgb).convert("L"))


@pytest.mark.parametrize("color_type,channels", [("grey", 1), ("color", 3)])
def test_read_grey_png(tmp_path, color_type, channels):
    pixels = face(0)
    Image.fromarray(pixels).save(tmp_path / "a.png")
    out = read_image(tmp_path / "a.png", color_type)
    assert out.dtype == np.uint8 and out.shape == (*pixels.shape, channels)
    for c in range(channels):
        np.testing.assert_array_equal(out[:, :, c], pixels)


def test_read_rgb_and_rgba(tmp_path):
    rgb = face(1, channels=3)
    Image.fromarray(rgb).save(tmp_path / "rgb.png")
    rgba = np.concatenate([rgb, np.full(rgb.shape[:2] + (1,), 7, np.uint8)], axis=2)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")
    for name in ("rgb.png", "rgba.png"):
        np.testing.assert_array_equal(read_image(tmp_path / name, "color"), rgb)
        np.testing.assert_array_equal(read_image(tmp_path / name, "grey")[:, :, 0], _grey(rgb))


def test_read_palette_image(tmp_path):
    img = Image.fromarray(np.array([[0, 1], [2, 1]], np.uint8), mode="P")
    img.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255] + [0] * (253 * 3))
    img.save(tmp_path / "p.png")
    out = read_image(tmp_path / "p.png", "color")
    np.testing.assert_array_equal(out[0, 0], [255, 0, 0])
    np.testing.assert_array_equal(out[1, 0], [0, 0, 255])
    assert read_image(tmp_path / "p.png", "grey").shape == (2, 2, 1)


@pytest.mark.parametrize("suffix", ["png", "tif"])
def test_read_16_bit(tmp_path, suffix):
    values = np.array([[0, 257 * 100], [65535, 257 * 3]], np.uint16)
    Image.fromarray(values).save(tmp_path / f"a.{suffix}")
    assert Image.open(tmp_path / f"a.{suffix}").mode.startswith("I")
    out = read_image(tmp_path / f"a.{suffix}")
    np.testing.assert_array_equal(out[:, :, 0], [[0, 100], [255, 3]])


def test_read_cmyk_tiff(tmp_path):
    Image.new("CMYK", (3, 2), (0, 255, 255, 0)).save(tmp_path / "c.tif")
    out = read_image(tmp_path / "c.tif", "color")
    assert out.shape == (2, 3, 3)
    np.testing.assert_array_equal(out[1, 2], [255, 0, 0])


def test_read_multipage_tiff_takes_first_page(tmp_path):
    pages = [Image.fromarray(face(i)) for i in range(3)]
    pages[0].save(tmp_path / "m.tiff", save_all=True, append_images=pages[1:])
    np.testing.assert_array_equal(read_image(tmp_path / "m.tiff")[:, :, 0], face(0))


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_truncated_image_names_file(tmp_path, fmt):
    path = tmp_path / f"cut.{fmt.lower()}"
    Image.fromarray(face(2, (64, 64), 3)).save(path, format=fmt)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataFileError, match="cut") as info:
        read_image(path)
    assert info.value.path == str(path)


def test_corrupt_and_empty_files(tmp_path):
    (tmp_path / "junk.png").write_bytes(b"not an image at all" * 5)
    with pytest.raises(DataFileError, match="junk.png"):
        read_image(tmp_path / "junk.png")
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(DataFileError, match="empty.png.*empty"):
        read_image(tmp_path / "empty.png")
    with pytest.raises(FileNotFoundError, match="missing.png"):
        read_image(tmp_path / "missing.png")
    with pytest.raises(ValueError, match="color_type"):
        read_image(tmp_path / "junk.png", "rgb")


def _patch_tiff_tag(path, tag: int, value: int) -> None:
    data = bytearray(path.read_bytes())
    assert data[:2] == b"II"
    offset = struct.unpack("<I", data[4:8])[0]
    for i in range(struct.unpack("<H", data[offset:offset + 2])[0]):
        entry = offset + 2 + 12 * i
        if struct.unpack("<H", data[entry:entry + 2])[0] == tag:
            data[entry + 8:entry + 10] = struct.pack("<H", value)
            path.write_bytes(bytes(data))
            return
    raise KeyError(tag)


def test_unreadable_tiff_mode(tmp_path):
    path = tmp_path / "odd.tif"
    Image.fromarray(face(3)).save(path)
    _patch_tiff_tag(path, 258, 7)  # BitsPerSample = 7: neither Pillow nor OpenCV reads it
    with pytest.raises(DataFileError, match=r"odd\.tif.*TIFF"):
        read_image(path)


# ---------------------------------------------------------------- emotion files
def test_read_official_emotion_file(tmp_path):
    (tmp_path / "e.txt").write_text("   3.0000000e+00\n")
    assert read_emotion_file(tmp_path / "e.txt") == 3


@given(st.integers(0, 7))
def test_emotion_round_trip(tmp_path_factory, code):
    path = tmp_path_factory.mktemp("em") / "e.txt"
    path.write_text(format_emotion(code))
    assert read_emotion_file(path) == code


@given(st.one_of(st.integers(8, 10**6), st.integers(-10**6, -1),
                 st.floats(-100, 100).filter(lambda v: v != int(v))))
@settings(max_examples=30)
def test_emotion_out_of_range(tmp_path_factory, value):
    path = tmp_path_factory.mktemp("em") / "e.txt"
    path.write_text("   %.7e\n" % value)
    with pytest.raises(DataFileError, match="e.txt"):
        read_emotion_file(path)


@pytest.mark.parametrize("text,reason", [("", "empty"), ("  \n", "empty"),
                                         ("happy\n", "not a number"),
                                         ("1.0 2.0\n", "one number"),
                                         ("nan\n", "whole number")])
def test_bad_emotion_files(tmp_path, text, reason):
    (tmp_path / "S005_001_00000011_emotion.txt").write_text(text)
    with pytest.raises(DataFileError, match=f"S005_001_00000011_emotion.txt.*{reason}"):
        read_emotion_file(tmp_path / "S005_001_00000011_emotion.txt")


# ---------------------------------------------------------------- landmark files
def test_read_official_landmark_line(tmp_path):
    lines = "   2.8414220e+02   2.3561232e+02\n" * 68
    (tmp_path / "l.txt").write_text(lines)
    out = read_landmarks_file(tmp_path / "l.txt")
    assert out.dtype == np.float32 and out.shape == (68, 2)
    np.testing.assert_allclose(out[5], [284.1422, 235.61232], rtol=1e-6)


@given(arrays(np.float64, (68, 2), elements=st.floats(-1e4, 1e4)))
@settings(max_examples=25)
def test_landmark_round_trip(tmp_path_factory, pts):
    path = tmp_path_factory.mktemp("lm") / "l.txt"
    path.write_text(format_landmarks(pts))
    np.testing.assert_allclose(read_landmarks_file(path), pts.astype(np.float32),
                               rtol=1e-6, atol=1e-3)


@given(st.integers(0, 140).filter(lambda n: n != 68))
@settings(max_examples=15)
def test_wrong_number_of_points_names_file_and_count(tmp_path_factory, count):
    path = tmp_path_factory.mktemp("lm") / "S005_001_00000001_landmarks.txt"
    path.write_text("   1.0000000e+00   2.0000000e+00\n" * count)
    with pytest.raises(DataFileError, match=f"S005_001_00000001_landmarks.txt.*found {count}"):
        read_landmarks_file(path)


def test_bad_landmark_line(tmp_path):
    (tmp_path / "l.txt").write_text("   1.0e+00   2.0e+00\n" * 10 + "   1.0e+00\n")
    with pytest.raises(DataFileError, match="line 11"):
        read_landmarks_file(tmp_path / "l.txt")


# ---------------------------------------------------------------- CK+ writer
def test_write_ckplus_sequence_exact_formats(tmp_path):
    frames = [face(i) for i in range(11)]
    frames[3] = face(3, channels=3)  # RGB frames are allowed too
    lms = [points(i) for i in range(11)]
    lms[4] = None
    out = write_ckplus_sequence(tmp_path, "S005", 1, frames, 3, lms)
    assert out["frames"][0] == (tmp_path / "cohn-kanade-images/S005/001/"
                                "S005_001_00000001.png")
    assert out["frames"][10].name == "S005_001_00000011.png"
    assert out["emotion"] == tmp_path / "Emotion/S005/001/S005_001_00000011_emotion.txt"
    assert out["emotion"].read_text() == "   3.0000000e+00\n"
    assert out["landmarks"][4] is None
    lm_file = tmp_path / "Landmarks/S005/001/S005_001_00000002_landmarks.txt"
    assert out["landmarks"][1] == lm_file
    lines = lm_file.read_text().splitlines(keepends=True)
    assert len(lines) == 68
    assert lines[0] == "   %.7e   %.7e\n" % tuple(lms[1][0])
    np.testing.assert_array_equal(read_image(out["frames"][2])[:, :, 0], frames[2])
    np.testing.assert_array_equal(read_image(out["frames"][3], "color"), frames[3])
    leftovers = [p for p in tmp_path.rglob("*") if p.name.startswith(".")]
    assert leftovers == []
    assert frame_stem("S005", "001", 11) == "S005_001_00000011"


def test_write_ckplus_sequence_unlabelled_and_errors(tmp_path):
    out = write_ckplus_sequence(tmp_path, "S010", "002", [face(0)] * 2, None)
    assert out["emotion"] is None and not (tmp_path / "Emotion").exists()
    assert out["landmarks"] == [None, None]
    with pytest.raises(ValueError, match="0..7"):
        write_ckplus_sequence(tmp_path, "S010", 3, [face(0)], 8)
    with pytest.raises(ValueError, match="landmark"):
        write_ckplus_sequence(tmp_path, "S010", 3, [face(0)], 1, [points(0)] * 2)
    with pytest.raises(ValueError, match="uint8"):
        write_ckplus_sequence(tmp_path, "S010", 3, [face(0).astype(np.float32)], 1)
