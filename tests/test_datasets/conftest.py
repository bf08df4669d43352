"""Fixture writers of miniature datasets in their exact on-disk formats."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import pytest
from PIL import Image

from errkit.synthetic.ckplus_writer import write_ckplus_sequence

FACE_SIZE = (12, 10)  # (H, W) of every fixture image


def face(seed: int, size: Tuple[int, int] = FACE_SIZE, channels: int = 0) -> np.ndarray:
    """A deterministic random uint8 image, grey (channels=0) or (H, W, channels)."""
    rng = np.random.default_rng(seed)
    shape = size if channels == 0 else (*size, channels)
    return rng.integers(0, 256, shape, dtype=np.uint8)


def points(seed: int) -> np.ndarray:
    """Deterministic 68-point landmarks inside a FACE_SIZE image."""
    rng = np.random.default_rng(1000 + seed)
    return (rng.random((68, 2)) * [FACE_SIZE[1], FACE_SIZE[0]]).astype(np.float64)


#: (subject, sequence, number of frames, CK+ code or None, landmarks?)
CKPLUS_SPEC: List[Tuple[str, str, int, Optional[int], bool]] = [
    ("S005", "001", 5, 3, True),    # disgust
    ("S005", "002", 4, None, True),  # unlabelled
    ("S010", "001", 4, 5, True),    # happy
    ("S010", "004", 6, 2, True),    # contempt
    ("S011", "001", 4, 7, False),   # surprise, no landmark files
    ("S014", "002", 5, 1, True),    # anger
    ("S022", "001", 4, 6, True),    # sadness
    ("S026", "003", 4, 4, True),    # fear
    ("S032", "001", 4, 5, True),    # happy
]


def write_ckplus_tree(root: Path, spec=CKPLUS_SPEC) -> Dict[Tuple[str, str], dict]:
    """Write every sequence of ``spec``; returns frames/landmarks/files per sequence."""
    written = {}
    for index, (subject, sequence, n, code, with_lm) in enumerate(spec):
        frames = [face(100 * index + f) for f in range(n)]
        lms = [points(100 * index + f) for f in range(n)] if with_lm else None
        files = write_ckplus_sequence(root, subject, sequence, frames, code, lms)
        written[(subject, sequence)] = dict(frames=frames, landmarks=lms, files=files,
                                            code=code)
    return written


@pytest.fixture
def ckplus_tree(tmp_path) -> Tuple[Path, Dict[Tuple[str, str], dict]]:
    root = tmp_path / "ckplus"
    return root, write_ckplus_tree(root)


#: JAFFE-style names: (subject, raw label, repetition, image number).
JAFFE_SPEC = [
    ("KA", "NE", 1, 26), ("KA", "HA", 1, 29), ("KA", "SA", 2, 33),
    ("KL", "NE", 1, 155), ("KL", "HA", 3, 160), ("KL", "SU", 1, 164),
    ("KM", "NE", 2, 17), ("KM", "AN", 1, 23), ("KM", "DI", 1, 20),
    ("KR", "NE", 1, 38), ("KR", "FE", 1, 40), ("KR", "HA", 2, 42),
    ("MK", "HA", 1, 50),  # no neutral of MK
]
JAFFE_MAP = dict(AN="anger", DI="disgust", FE="fear", HA="happy", SA="sadness",
                 SU="surprise", NE="neutral")
JAFFE_CLASSES = ("anger", "disgust", "fear", "happy", "sadness", "surprise")


def write_jaffe(root: Path) -> Dict[str, np.ndarray]:
    """Write JAFFE-like TIFFs: odd ones grey 'L', even ones palette 'P'."""
    root.mkdir(parents=True, exist_ok=True)
    pixels = {}
    for index, (subject, label, rep, number) in enumerate(JAFFE_SPEC):
        name = f"{subject}.{label}{rep}.{number}.tiff"
        grey = face(index)
        if index % 2:
            Image.fromarray(grey, mode="L").save(root / name)
        else:  # a palette image whose palette maps index i to grey level i
            img = Image.fromarray(grey, mode="P")
            img.putpalette([v for i in range(256) for v in (i, i, i)])
            img.save(root / name)
        pixels[name] = grey
    (root / "README.txt").write_text("not an image")
    (root / "thumbs.png").write_bytes((root / name).read_bytes())  # does not match
    return pixels


def write_crops(root: Path) -> None:
    """CK+ crops in class folders with a neutral/ folder."""
    files = {
        "happiness": ["S010_006_00000015.png", "S011_002_00000009.png"],
        "anger": ["S010_004_00000019.png", "S014_001_00000030.png"],
        "surprise": ["S022_001_00000011.png"],
        "neutral": ["S010_001_00000001.png", "S010_006_00000001.png",
                    "S014_001_00000001.png", "S022_005_00000001.png"],
    }
    for index, (folder, names) in enumerate(files.items()):
        (root / folder).mkdir(parents=True, exist_ok=True)
        for j, name in enumerate(names):
            Image.fromarray(face(10 * index + j)).save(root / folder / name)


def write_mmi(root: Path, subjects: Sequence[str] = ("1", "2", "3", "4"),
              landmarks: bool = True) -> Path:
    """Frames and a manifest: one sequence of 1 neutral + 2 peaks per subject."""
    rows = []
    labels = ["anger", "happy", "3", "surprise"]  # "3" is the class index of happy
    for i, subject in enumerate(subjects):
        sequence = f"{100 + i}"
        for role, frame in (("neutral", 0), ("peak", 20), ("peak", 21)):
            rel = f"frames/{sequence}/{sequence}_{frame:05d}.png"
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(face(1000 * i + frame)).save(root / rel)
            row = dict(subject=subject, sequence=sequence, frame_path=rel,
                       label=labels[i % len(labels)], role=role, landmarks_path="")
            if landmarks:
                lm_rel = f"landmarks/{sequence}_{frame:05d}.txt"
                (root / lm_rel).parent.mkdir(parents=True, exist_ok=True)
                (root / lm_rel).write_text(
                    "".join("   %.7e   %.7e\n" % tuple(p) for p in points(frame)))
                row["landmarks_path"] = lm_rel
            rows.append(row)
    manifest = root / "manifest.csv"
    with open(manifest, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return manifest


def assert_subject_independent_folds(build: Callable[..., object], num_folds: int) -> None:
    """For every fold: train and test share no subject; the test folds cover every
    sample exactly once; rebuilding a fold gives the same samples."""
    everything = build(fold=None, split="all")
    all_paths = sorted(everything.get_data_info(i)["img_path"] for i in range(len(everything)))
    tested: List[str] = []
    for fold in range(num_folds):
        train = build(fold=fold, split="train")
        test = build(fold=fold, split="test")
        assert set(train.subjects).isdisjoint(test.subjects), fold
        assert len(train) + len(test) == len(everything)
        paths = [test.get_data_info(i)["img_path"] for i in range(len(test))]
        assert paths == [build(fold=fold, split="test").get_data_info(i)["img_path"]
                         for i in range(len(test))]
        tested.extend(paths)
    assert sorted(tested) == all_paths
