"""MMIDataset from a manifest, and the MMI video-to-manifest converter."""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import cv2
import numpy as np
import pytest

from errkit.datasets import DataFileError, MMIDataset, read_image
from errkit.datasets.mmi_dataset import MMI_CLASSES
from errkit.datasets.mmi_manifest import (build_mmi_manifest, peak_frame_indices,
                                          read_session_labels)
from tests.helpers import REPO_ROOT, assert_subject_independent_folds, points, write_mmi


def _rewrite(manifest: Path, edit) -> None:
    with open(manifest, newline="") as f:
        rows = list(csv.DictReader(f))
    rows, fields = edit(rows)
    with open(manifest, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def test_peaks_paired_with_their_neutral(tmp_path):
    write_mmi(tmp_path)
    ds = MMIDataset(data_root=str(tmp_path))
    assert ds.classes == MMI_CLASSES and len(ds) == 8
    samples = [ds.get_data_info(i) for i in range(len(ds))]
    first = samples[0]
    assert first["img_path"] == str((tmp_path / "frames/100/100_00020.png").resolve())
    assert first["neutral_path"] == str((tmp_path / "frames/100/100_00000.png").resolve())
    assert (first["subject"], first["sequence"], first["frame"]) == ("1", "100", 20)
    assert first["gt_label"] == MMI_CLASSES.index("anger")
    np.testing.assert_allclose(first["landmarks"], points(20), atol=1e-4)
    np.testing.assert_allclose(first["neutral_landmarks"], points(0), atol=1e-4)
    assert [s["gt_label"] for s in samples[2::2]] == [3, 3, 5]  # 'happy', '3', 'surprise'
    assert samples[1]["frame"] == 21
    assert ds.report["issues"] == {}


def test_without_landmark_column_and_missing_neutral(tmp_path):
    manifest = write_mmi(tmp_path, landmarks=False)

    def drop(rows):
        rows = [r for r in rows if not (r["sequence"] == "101" and r["role"] == "neutral")]
        for r in rows:
            r.pop("landmarks_path")
        return rows, list(rows[0])

    _rewrite(manifest, drop)
    ds = MMIDataset(data_root=str(tmp_path), ann_file="manifest.csv")
    samples = [ds.get_data_info(i) for i in range(len(ds))]
    assert all(s["landmarks"] is None for s in samples)
    orphans = [s for s in samples if s["sequence"] == "101"]
    assert len(orphans) == 2 and all(s["neutral_path"] is None for s in orphans)
    assert ds.report["issues"]["sequence without a neutral row (neutral_path None)"][
        "count"] == 1


def test_missing_column_names_column_and_file(tmp_path):
    manifest = write_mmi(tmp_path)
    _rewrite(manifest, lambda rows: ([{k: v for k, v in r.items() if k != "role"}
                                      for r in rows], ["subject", "sequence", "frame_path",
                                                       "label", "landmarks_path"]))
    with pytest.raises(DataFileError, match=r"manifest.csv.*missing column 'role'"):
        MMIDataset(data_root=str(tmp_path))


def test_bad_label_names_row(tmp_path):
    manifest = write_mmi(tmp_path)

    def bad(rows):
        rows[4]["label"] = "contempt"  # file row 6 (header is row 1); a peak row
        return rows, list(rows[0])

    _rewrite(manifest, bad)
    with pytest.raises(DataFileError, match=r"manifest.csv: row 6: label 'contempt'"):
        MMIDataset(data_root=str(tmp_path))


def test_missing_manifest_explains(tmp_path):
    with pytest.raises(FileNotFoundError, match="mmi_to_manifest.py.*\n.*make demo"):
        MMIDataset(data_root=str(tmp_path))


def test_folds_are_subject_independent(tmp_path):
    write_mmi(tmp_path, subjects=[str(s) for s in range(6)], landmarks=False)
    with open(tmp_path / "manifest.csv", "a") as f:  # a second sequence of subject 0
        for role, frame in (("neutral", 0), ("peak", 20)):
            f.write(f"0,100b,frames/101/101_{frame:05d}.png,fear,{role},\n")

    def build(**kwargs):
        return MMIDataset(data_root=str(tmp_path), num_folds=4, serialize_data=False, **kwargs)

    assert_subject_independent_folds(build, num_folds=4)


# ---------------------------------------------------------------- converter
def _write_video(path: Path, num_frames: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (32, 24))
    assert writer.isOpened()
    for i in range(num_frames):
        writer.write(np.full((24, 32, 3), 20 * i, np.uint8))  # frame i has grey level 20 i
    writer.release()


def test_peak_frame_indices():
    assert peak_frame_indices(11, 3) == [4, 5, 6]
    assert peak_frame_indices(10, 4) == [3, 4, 5, 6]
    assert peak_frame_indices(2, 3) == [1]
    with pytest.raises(ValueError):
        peak_frame_indices(1)


def test_converter_extracts_neutral_and_apex_frames(tmp_path):
    sessions = tmp_path / "Sessions"
    _write_video(sessions / "1" / "S001-001.avi", 11)
    _write_video(sessions / "2" / "S002-003.avi", 9)
    _write_video(sessions / "7" / "S002-009.avi", 5)  # not in the label file
    (sessions / "3").mkdir()  # no video
    labels = tmp_path / "labels.csv"
    labels.write_text("session,subject,label\n1,S001,happy\n2,S002,6\n3,S003,fear\n"
                      "9,S009,anger\n")
    out = tmp_path / "mmi"
    spec = importlib.util.spec_from_file_location(
        "mmi_to_manifest", REPO_ROOT / "tools/dataset_converters/mmi_to_manifest.py")
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    assert cli.main([str(sessions), str(labels), "--out", str(out)]) == 0

    with open(out / "manifest.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["sequence"], r["role"], r["frame"]) for r in rows] == [
        ("1", "neutral", "0"), ("1", "peak", "4"), ("1", "peak", "5"), ("1", "peak", "6"),
        ("2", "neutral", "0"), ("2", "peak", "3"), ("2", "peak", "4"), ("2", "peak", "5")]
    assert {r["label"] for r in rows if r["sequence"] == "2"} == {"surprise"}
    assert not list(out.glob(".*"))  # no temporary manifest left behind
    for r in rows:
        img = read_image(out / r["frame_path"])
        assert abs(float(img.mean()) - 20 * int(r["frame"])) < 4

    ds = MMIDataset(data_root=str(out))
    assert len(ds) == 6 and set(ds.subjects) == {"S001", "S002"}
    assert ds.get_data_info(0)["neutral_path"].endswith("frames/1/1_00000.png")

    result = build_mmi_manifest(sessions, labels, out, num_peak_frames=1)
    assert result["num_rows"] == 4
    assert result["skipped"]["unlabelled"] == ["7"]
    assert result["skipped"]["no_video"] == ["3"]
    assert result["skipped"]["labels_without_session"] == ["9"]


def test_label_file_errors(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text("session,label\n1,happy\n")
    with pytest.raises(DataFileError, match="missing column 'subject'"):
        read_session_labels(path)
    path.write_text("session,subject,label\n1,S1,happy\n2,S2,7\n")
    with pytest.raises(DataFileError, match="row 3: label '7'"):
        read_session_labels(path)
    (tmp_path / "s" / "1").mkdir(parents=True)
    (tmp_path / "s" / "1" / "bad.avi").write_bytes(b"not a video")
    path.write_text("session,subject,label\n1,S1,happy\n")
    with pytest.raises(DataFileError, match="bad.avi"):
        build_mmi_manifest(tmp_path / "s", path, tmp_path / "out")
