"""Awkward files through the loaders and the full pipeline: duplicates, extreme sizes, odd modes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from errkit.datasets import PatternFolderDataset
from errkit.registry import TRANSFORMS
from tests.helpers import face

PATTERN = r"(?P<subject>S\d+)_(?P<label>[a-z]+)_(?P<frame>\d+)\.png"
CLASSES = ("happy", "sadness")


def _pipeline(color_type: str = "grey", size: int = 32, use_landmarks: bool = True):
    transforms = [TRANSFORMS.build(dict(type="LoadFaceImages", color_type=color_type)),
                  TRANSFORMS.build(dict(type="AlignFace", size=size,
                                        use_landmarks=use_landmarks)),
                  TRANSFORMS.build(dict(type="PackFERInputs"))]

    def run(path, landmarks=None, neutral_path=None):
        results = dict(img_path=str(path), neutral_path=neutral_path, landmarks=landmarks,
                       neutral_landmarks=None, gt_label=0, subject="S1", sequence="1", frame=1)
        for t in transforms:
            results = t(results)
        return results

    return run


def test_duplicate_images_are_reported_not_fatal(tmp_path):
    for s in (1, 2):
        Image.fromarray(face(10 * s, (16, 16))).save(tmp_path / f"S{s}_neutral_0.png")
        Image.fromarray(face(10 * s + 1, (16, 16))).save(tmp_path / f"S{s}_happy_1.png")
    # the same image twice: under another subject and a conflicting label
    shutil.copy(tmp_path / "S1_happy_1.png", tmp_path / "S2_sadness_2.png")
    shutil.copy(tmp_path / "S1_happy_1.png", tmp_path / "S1_happy_3.png")
    ds = PatternFolderDataset(data_root=str(tmp_path), pattern=PATTERN, classes=CLASSES,
                              pipeline=[dict(type="LoadFaceImages"), dict(type="PackFERInputs")])
    assert len(ds) == 4  # both copies kept (neutrals are references, not samples)
    issue = ds.report["issues"]["duplicate image (same bytes as another file; kept)"]
    assert issue["count"] == 2
    assert sorted(issue["examples"]) == ["S1_happy_3.png = S1_happy_1.png",
                                         "S2_sadness_2.png = S1_happy_1.png"]
    assert "duplicate image" in ds.format_report()
    for i in range(len(ds)):
        assert ds[i]["inputs"]["img"].shape == (1, 16, 16)


def test_same_size_different_images_are_not_duplicates(tmp_path):
    for s in (1, 2):
        Image.fromarray(face(s, (16, 16))).save(tmp_path / f"S{s}_happy_1.png")
    ds = PatternFolderDataset(data_root=str(tmp_path), pattern=PATTERN, classes=CLASSES)
    assert not any("duplicate" in k for k in ds.report["issues"])


@pytest.mark.parametrize("landmarks", [None, "points"])
def test_one_pixel_image_is_a_clear_error(tmp_path, landmarks):
    path = tmp_path / "tiny.png"
    Image.new("L", (1, 1), 128).save(path)
    lm = None if landmarks is None else np.full((68, 2), 0.5, np.float32)
    with pytest.raises(ValueError, match=r"AlignFace: cannot align img .*tiny\.png: the image "
                                         r"is 1x1 pixels, smaller than 8"):
        _pipeline()(path, landmarks=lm)


def test_smallest_accepted_image_goes_through(tmp_path):
    path = tmp_path / "small.png"
    Image.fromarray(face(3, (8, 9))).save(path)
    out = _pipeline(size=16)(path)
    assert out["inputs"]["img"].shape == (1, 16, 16)


BIG_SCRIPT = """
import json, resource, sys
import numpy as np
from errkit.registry import TRANSFORMS
import errkit.datasets

def peak():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0

load = TRANSFORMS.build(dict(type='LoadFaceImages', color_type='grey'))
align = TRANSFORMS.build(dict(type='AlignFace', size=64))
pack = TRANSFORMS.build(dict(type='PackFERInputs'))
before = peak()
lm = np.stack([np.linspace(3000, 7000, 68), np.linspace(4000, 6000, 68)], 1).astype(np.float32)
shapes = []
for landmarks in (None, lm):
    r = load(dict(img_path=sys.argv[1], neutral_path=None, landmarks=landmarks,
                  neutral_landmarks=None, gt_label=0, subject='s', sequence='1', frame=0))
    ori = r['ori_shape']
    r = pack(align(r))
    shapes.append(list(r['inputs']['img'].shape))
    del r
print(json.dumps(dict(ori=list(ori), shapes=shapes, growth_mb=peak() - before)))
"""


@pytest.mark.slow
def test_huge_image_through_the_pipeline_without_memory_blowup(tmp_path):
    path = tmp_path / "huge.png"
    img = np.zeros((10000, 10000), np.uint8)
    img[::50] = 200  # compressible: a small file, a 100 MB image
    assert cv2.imwrite(str(path), img)
    del img
    proc = subprocess.run([sys.executable, "-W", "ignore", "-c", textwrap.dedent(BIG_SCRIPT),
                           str(path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["ori"] == [10000, 10000]
    assert result["shapes"] == [[1, 64, 64], [1, 64, 64]]  # resized, and warped by landmarks
    # a few copies of the 100 MB image at most (PIL decode, array, crop), never GBs
    assert result["growth_mb"] < 800, result


def _cmyk(tmp_path, ext):
    rng = np.random.default_rng(0)
    cmyk = Image.fromarray(rng.integers(0, 256, (16, 16, 4), dtype=np.uint8), mode="CMYK")
    path = tmp_path / f"cmyk.{ext}"
    cmyk.save(path)
    with Image.open(path) as saved:  # JPEG is lossy: compare with what was written
        return path, np.array(saved.convert("RGB"))


@pytest.mark.parametrize("ext", ["jpg", "tiff"])
def test_cmyk_through_the_pipeline(tmp_path, ext):
    path, rgb = _cmyk(tmp_path, ext)
    out = _pipeline("color", size=16, use_landmarks=False)(path)["inputs"]["img"]
    assert out.dtype == torch.uint8 and out.shape == (3, 16, 16)
    assert torch.equal(out, torch.from_numpy(rgb).permute(2, 0, 1))
    grey = _pipeline("grey", size=16, use_landmarks=False)(path)["inputs"]["img"]
    assert grey.shape == (1, 16, 16)


def test_sixteen_bit_through_the_pipeline(tmp_path):
    values = (np.arange(256, dtype=np.uint32).reshape(16, 16) * 257).astype(np.uint16)
    path = tmp_path / "deep.png"
    assert cv2.imwrite(str(path), values)  # a genuine 16-bit PNG
    with Image.open(path) as check:
        assert check.mode.startswith("I")
    for color_type, channels in (("grey", 1), ("color", 3)):
        out = _pipeline(color_type, size=16, use_landmarks=False)(path)["inputs"]["img"]
        assert out.dtype == torch.uint8 and out.shape == (channels, 16, 16)
        # full 16-bit range mapped onto 0..255 (v / 257), not clipped at 255
        assert torch.equal(out[0], torch.arange(256, dtype=torch.uint8).reshape(16, 16))


@pytest.mark.parametrize("transparency", [False, True])
def test_palette_through_the_pipeline(tmp_path, transparency):
    indices = np.tile(np.arange(4, dtype=np.uint8), (16, 4))
    pal = Image.fromarray(indices, mode="P")
    colors = [255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255]
    pal.putpalette(colors + [0] * (768 - len(colors)))
    path = tmp_path / "palette.png"
    pal.save(path, **({"transparency": 0} if transparency else {}))
    out = _pipeline("color", size=16, use_landmarks=False)(path)["inputs"]["img"]
    assert out.shape == (3, 16, 16)
    want = torch.tensor(colors, dtype=torch.uint8).reshape(4, 3)
    assert torch.equal(out[:, 0, :4].T, want)  # palette colours, not indices
    grey = _pipeline("grey", size=16, use_landmarks=False)(path)["inputs"]["img"]
    assert grey.shape == (1, 16, 16) and int(grey[0, 0, 3]) == 255
