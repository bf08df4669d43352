"""CKPlusDataset on a miniature CK+ tree in the official layout and formats."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from errkit.datasets import CKPlusDataset, DataFileError
from errkit.datasets.ckplus_dataset import CKPLUS_CLASSES_6, CKPLUS_CLASSES_7
from errkit.synthetic.ckplus_writer import write_ckplus_sequence
from errkit.registry import DATASETS
from errkit.structures import FERDataSample
from tests.helpers import CKPLUS_SPEC, assert_subject_independent_folds, face

PIPELINE = [dict(type="LoadFaceImages", color_type="grey"), dict(type="PackFERInputs")]


def _by_key(ds):
    return {(d["subject"], d["sequence"], d["frame"]): d
            for d in (ds.get_data_info(i) for i in range(len(ds)))}


def test_every_field_of_every_sample(ckplus_tree):
    root, written = ckplus_tree
    ds = CKPlusDataset(data_root=str(root))
    assert ds.classes == CKPLUS_CLASSES_7 and ds.metainfo["classes"] == CKPLUS_CLASSES_7
    samples = _by_key(ds)
    labelled = [(s, q) for s, q, _, code, _ in CKPLUS_SPEC if code is not None]
    assert len(ds) == 3 * len(labelled)
    for (subject, sequence), info in written.items():
        n = len(info["frames"])
        if info["code"] is None:
            assert not any(k[:2] == (subject, sequence) for k in samples)
            continue
        for frame in range(n - 2, n + 1):  # last three frames, 1-based
            d = samples[(subject, sequence, frame)]
            assert d["img_path"] == str(info["files"]["frames"][frame - 1].resolve())
            assert d["neutral_path"] == str(info["files"]["frames"][0].resolve())
            assert d["gt_label"] == info["code"] - 1
            assert CKPLUS_CLASSES_7[d["gt_label"]] == (
                "neutral anger contempt disgust fear happy sadness surprise".split()
                [info["code"]])
            if info["landmarks"] is None:
                assert d["landmarks"] is None and d["neutral_landmarks"] is None
            else:
                assert d["landmarks"].dtype == np.float32 and d["landmarks"].shape == (68, 2)
                np.testing.assert_allclose(d["landmarks"], info["landmarks"][frame - 1],
                                           rtol=1e-6, atol=1e-5)
                np.testing.assert_allclose(d["neutral_landmarks"], info["landmarks"][0],
                                           rtol=1e-6, atol=1e-5)
    assert sorted(set(ds.subjects)) == sorted({s for s, _ in labelled})
    np.testing.assert_array_equal(ds.get_gt_labels(),
                                  [ds.get_data_info(i)["gt_label"] for i in range(len(ds))])


def test_report_counts_unlabelled_and_missing_landmarks(ckplus_tree):
    root, _ = ckplus_tree
    ds = CKPlusDataset(data_root=str(root))
    issues = ds.report["issues"]
    unlabelled = issues["unlabelled sequence (no emotion file, skipped)"]
    assert unlabelled["count"] == 1 and unlabelled["examples"][0].endswith("S005/002")
    assert issues["frame without landmark file (landmarks None)"]["count"] == 4  # S011
    assert ds.report["num_loaded"] == len(ds) == 24
    assert "unlabelled sequence" in ds.format_report()


def test_six_classes_drop_contempt(ckplus_tree):
    root, _ = ckplus_tree
    ds = CKPlusDataset(data_root=str(root), num_classes=6)
    assert ds.classes == CKPLUS_CLASSES_6
    assert len(ds) == 21 and ("S010", "004") not in {(d["subject"], d["sequence"])
                                                     for d in _by_key(ds).values()}
    happy = _by_key(ds)[("S010", "001", 4)]
    assert ds.classes[happy["gt_label"]] == "happy" and happy["gt_label"] == 3
    assert ds.report["issues"]["contempt sequence not in the 6 classes (skipped)"]["count"] == 1


def test_num_peak_frames_and_short_sequences(tmp_path):
    for s in range(2):
        write_ckplus_sequence(tmp_path, f"S00{s}", 1, [face(i) for i in range(5)], 5)
    write_ckplus_sequence(tmp_path, "S009", 2, [face(0), face(1)], 5)
    write_ckplus_sequence(tmp_path, "S009", 3, [face(0)], 5)
    ds = CKPlusDataset(data_root=str(tmp_path), num_peak_frames=1, with_landmarks=False)
    assert sorted(_by_key(ds)) == [("S000", "001", 5), ("S001", "001", 5),
                                   ("S009", "002", 2)]
    ds = CKPlusDataset(data_root=str(tmp_path), num_peak_frames=2, with_landmarks=False)
    assert len(ds) == 5
    assert "sequence with fewer than 2 frames (skipped)" in ds.report["issues"]


def test_missing_emotion_file_is_a_reported_skip(ckplus_tree):
    root, written = ckplus_tree
    written[("S022", "001")]["files"]["emotion"].unlink()
    ds = CKPlusDataset(data_root=str(root))
    assert len(ds) == 21
    assert ds.report["issues"]["unlabelled sequence (no emotion file, skipped)"]["count"] == 2


def test_corrupt_emotion_file_is_an_error(ckplus_tree):
    root, written = ckplus_tree
    path = written[("S014", "002")]["files"]["emotion"]
    path.write_text("   9.0000000e+00\n")
    with pytest.raises(DataFileError, match="S014_002_00000005_emotion.txt"):
        CKPlusDataset(data_root=str(root))


def test_landmark_file_with_wrong_number_of_points(ckplus_tree):
    root, written = ckplus_tree
    path = written[("S026", "003")]["files"]["landmarks"][3]
    path.write_text("".join(path.read_text().splitlines(keepends=True)[:67]))
    with pytest.raises(DataFileError, match="S026_003_00000004_landmarks.txt.*found 67"):
        CKPlusDataset(data_root=str(root))


def test_missing_root_says_how_to_get_ckplus(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        CKPlusDataset(data_root=str(tmp_path / "nowhere"))
    message = str(info.value)
    for needle in ("nowhere", "data/ckplus", "cohn-kanade-images/S005/001",
                   "tools/prepare_data.py", "make demo", "synthetic"):
        assert needle in message
    (tmp_path / "cohn-kanade-images").mkdir()
    with pytest.raises(FileNotFoundError, match="Emotion"):
        CKPlusDataset(data_root=str(tmp_path))


def test_folds_are_subject_independent(ckplus_tree):
    root, _ = ckplus_tree

    def build(**kwargs):
        return CKPlusDataset(data_root=str(root), num_folds=3, split_seed=5,
                             with_landmarks=False, serialize_data=False, **kwargs)

    assert_subject_independent_folds(build, num_folds=3)


def test_fold_arguments_are_checked(ckplus_tree):
    root, _ = ckplus_tree
    with pytest.raises(ValueError, match="needs a fold"):
        CKPlusDataset(data_root=str(root), split="train")
    with pytest.raises(ValueError, match="split must be one of"):
        CKPlusDataset(data_root=str(root), fold=0, split="val")
    with pytest.raises(ValueError, match="fold must be in 0..2"):
        CKPlusDataset(data_root=str(root), fold=3, num_folds=3, split="test")
    with pytest.raises(ValueError, match="7 subjects cannot fill 10"):
        CKPlusDataset(data_root=str(root), fold=0, split="test")


@pytest.mark.parametrize("color_type,channels", [("grey", 1), ("color", 3)])
def test_pipeline_output_from_config(ckplus_tree, color_type, channels):
    root, written = ckplus_tree
    ds = DATASETS.build(dict(type="CKPlusDataset", data_root=str(root), lazy_init=True,
                             pipeline=[dict(type="LoadFaceImages", color_type=color_type),
                                       dict(type="PackFERInputs")]))
    index = next(i for i in range(len(ds)) if ds.get_data_info(i)["subject"] == "S010"
                 and ds.get_data_info(i)["frame"] == 4)
    out = ds[index]
    inputs, sample = out["inputs"], out["data_samples"]
    assert isinstance(sample, FERDataSample)
    assert inputs["img"].dtype == torch.uint8 and inputs["img"].shape == (channels, 12, 10)
    frames = written[("S010", "001")]["frames"]
    np.testing.assert_array_equal(inputs["img"][0].numpy(), frames[3])
    np.testing.assert_array_equal(inputs["neutral"][0].numpy(), frames[0])
    np.testing.assert_allclose(inputs["landmarks"].numpy(),
                               written[("S010", "001")]["landmarks"][3], atol=1e-5)
    assert inputs["landmarks"].dtype == torch.float32
    assert sample.gt_label.tolist() == [4]
    assert sample.has_neutral and sample.has_landmarks
    assert (sample.subject, sample.sequence, sample.frame) == ("S010", "001", 4)
    assert sample.ori_shape == (12, 10) and sample.img_shape == (12, 10)


def test_samples_without_landmarks_pack_zeros(ckplus_tree):
    root, _ = ckplus_tree
    ds = CKPlusDataset(data_root=str(root), pipeline=PIPELINE)
    index = next(i for i in range(len(ds)) if ds.get_data_info(i)["subject"] == "S011")
    out = ds[index]
    assert not out["data_samples"].has_landmarks
    assert torch.count_nonzero(out["inputs"]["landmarks"]) == 0
    assert out["inputs"]["neutral_landmarks"].shape == (68, 2)
