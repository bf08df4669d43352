"""Dangling symlinks, symlink loops and folders named like images: reported, never fatal."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest
from PIL import Image

from errkit.datasets import CKPlusDataset, MMIDataset, PatternFolderDataset
from errkit.datasets.file_listing import (DANGLING_SYMLINK, FOLDER_NAMED_LIKE_FILE,
                                          REPEATED_FOLDER, SYMLINK_LOOP)
from tests.helpers import face, write_crops, write_mmi

CROPS_PATTERN = r"(?P<label>[a-z]+)/(?P<subject>S\d+)_(?P<sequence>\d+)_(?P<frame>\d+)\.png"
CROPS_CLASSES = ("anger", "happiness", "surprise")

pytestmark = pytest.mark.timeout(120)  # a walk that loops must fail, not hang


def _break_folder(folder: Path, name: str) -> dict:
    """Add one of each awkward entry to ``folder``; returns their paths by issue kind."""
    dangling = folder / f"{name}_gone.png"
    os.symlink(folder / "no_such_file.png", dangling)
    loop_a, loop_b = folder / f"{name}_a.png", folder / f"{name}_b.png"
    os.symlink(loop_b, loop_a)  # a.png -> b.png -> a.png
    os.symlink(loop_a, loop_b)
    parent = folder / "up"
    os.symlink(folder.parent, parent)  # a folder link to the folder above
    like_image = folder / f"{name}_99999999.png"
    like_image.mkdir()
    return {DANGLING_SYMLINK: [dangling], SYMLINK_LOOP: [loop_a, loop_b],
            REPEATED_FOLDER: [parent], FOLDER_NAMED_LIKE_FILE: [like_image]}


def _assert_reported(report: dict, expected: dict) -> None:
    for kind, paths in expected.items():
        assert kind in report["issues"], f"{kind!r} not in {sorted(report['issues'])}"
        entry = report["issues"][kind]
        assert entry["count"] == len(paths), (kind, entry)
        assert sorted(entry["examples"]) == sorted(str(p) for p in paths)


def test_pattern_folder_reports_broken_entries_and_follows_linked_folders(tmp_path):
    root = tmp_path / "crops"
    write_crops(root)
    expected = _break_folder(root / "happiness", "S011_002")
    # A linked folder outside data_root is searched (once), like a real one.
    elsewhere = tmp_path / "elsewhere" / "surprise_more"
    elsewhere.mkdir(parents=True)
    Image.fromarray(face(77)).save(elsewhere / "S030_001_00000005.png")
    os.symlink(elsewhere, root / "surprise" / "more")
    os.symlink(elsewhere, root / "surprise" / "more_again")  # the same folder twice
    expected[REPEATED_FOLDER].append(root / "surprise" / "more_again")
    ds = PatternFolderDataset(
        data_root=str(root), pattern=CROPS_PATTERN.replace(r"(?P<label>[a-z]+)/",
                                                           r"(?P<label>[a-z]+)/(?:\w+/)?"),
        classes=CROPS_CLASSES, label_map={"neutral": "neutral", "anger": "anger",
                                          "happiness": "happiness", "surprise": "surprise"})
    _assert_reported(ds.report, {k: [root.resolve() / p.relative_to(root) for p in v]
                                 for k, v in expected.items()})
    names = sorted(Path(ds.get_data_info(i)["img_path"]).name for i in range(len(ds)))
    assert names == ["S010_004_00000019.png", "S010_006_00000015.png",
                     "S011_002_00000009.png", "S014_001_00000030.png",
                     "S022_001_00000011.png", "S030_001_00000005.png"]
    text = ds.format_report()
    assert "dangling symlink (ignored): 1" in text and "symlink loop (ignored): 2" in text


def test_pattern_folder_survives_a_folder_that_links_to_itself(tmp_path):
    root = tmp_path / "flat"
    root.mkdir()
    for s in (1, 2):
        Image.fromarray(face(s)).save(root / f"S{s}_neutral_0.png")
        Image.fromarray(face(10 + s)).save(root / f"S{s}_happy_1.png")
    os.symlink(root, root / "again")
    os.symlink(root / "again", root / "again_and_again")
    ds = PatternFolderDataset(data_root=str(root), classes=("happy",),
                              pattern=r"(?P<subject>S\d+)_(?P<label>[a-z]+)_\d+\.png")
    assert len(ds) == 2
    assert ds.report["issues"][REPEATED_FOLDER]["count"] == 2


def test_ckplus_reports_broken_frames_labels_and_folders(ckplus_tree):
    root, _ = ckplus_tree
    images = root / "cohn-kanade-images"
    seq = images / "S010" / "001"
    expected = _break_folder(seq, "S010_001")
    up = expected.pop(REPEATED_FOLDER)  # a folder in a sequence folder is not a frame
    expected[REPEATED_FOLDER] = [images / "S999"]
    os.symlink(images, images / "S999")  # a subject folder that is the images folder
    expected[REPEATED_FOLDER].append(images / "S005" / "009")
    os.symlink(images / "S014" / "002", images / "S005" / "009")  # a sequence seen twice
    emotion = root / "Emotion" / "S022" / "001"
    for f in emotion.iterdir():  # the label is a dangling link: the sequence is unlabelled
        f.unlink()
    os.symlink(emotion / "gone.txt", emotion / "S022_001_00000004_emotion.txt")
    expected[DANGLING_SYMLINK].append(emotion / "S022_001_00000004_emotion.txt")
    ds = CKPlusDataset(data_root=str(root))
    _assert_reported(ds.report, {k: [root.resolve() / p.relative_to(root) for p in v]
                                 for k, v in expected.items()})
    assert str(root.resolve() / up[0].relative_to(root)) in ds.report["issues"][
        "file not named like a CK+ frame (ignored)"]["examples"]
    unlabelled = ds.report["issues"]["unlabelled sequence (no emotion file, skipped)"]
    assert str(root.resolve() / "cohn-kanade-images/S022/001") in unlabelled["examples"]
    sequences = {(ds.get_data_info(i)["subject"], ds.get_data_info(i)["sequence"])
                 for i in range(len(ds))}
    assert ("S010", "001") in sequences and ("S022", "001") not in sequences
    assert not any(s == "S999" for s, _ in sequences)


def test_mmi_names_why_a_listed_frame_cannot_be_read(tmp_path):
    manifest = write_mmi(tmp_path)
    frames = tmp_path / "frames"
    with open(manifest, newline="") as f:
        rows = list(csv.DictReader(f))
    (frames / "100" / "100_00020.png").unlink()
    os.symlink(frames / "gone.png", frames / "100" / "100_00020.png")  # peak: dangling
    (frames / "101" / "101_00021.png").unlink()
    (frames / "101" / "101_00021.png").mkdir()  # peak: a folder
    (frames / "102" / "102_00000.png").unlink()
    os.symlink(frames / "102" / "102_00000.png", frames / "102" / "102_00000.png")  # loop
    ds = MMIDataset(data_root=str(tmp_path))
    issues = ds.report["issues"]
    assert issues["peak frame listed but a dangling symlink (skipped)"]["count"] == 1
    assert issues["peak frame listed but a folder (skipped)"]["count"] == 1
    assert issues["neutral frame listed but a symlink loop (ignored)"]["count"] == 1
    assert len(ds) == len([r for r in rows if r["role"] == "peak"]) - 2
