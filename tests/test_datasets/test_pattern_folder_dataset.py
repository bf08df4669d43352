"""PatternFolderDataset on JAFFE-style, CK+-crop and Yale folders."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mmengine.config import Config

from errkit.datasets import PatternFolderDataset
from tests.helpers import (JAFFE_CLASSES, JAFFE_MAP, REPO_ROOT, assert_subject_independent_folds,
                           face, write_crops, write_jaffe)

CONFIGS = REPO_ROOT / "configs" / "_base_" / "datasets"
PIPELINE = [dict(type="LoadFaceImages", color_type="grey"), dict(type="PackFERInputs")]


def _config_kwargs(name: str) -> dict:
    """The dataset arguments of a dataset base config, without fold and pipeline (of
    the folder a cached base prepares its cache from)."""
    cfg = Config.fromfile(str(CONFIGS / f"{name}.py")).train_dataloader.dataset.to_dict()
    cfg = cfg.get("source", cfg)
    for key in ("type", "fold", "split", "num_folds", "split_seed", "pipeline", "data_root",
                "prepare"):
        cfg.pop(key, None)
    return cfg


def _samples(ds):
    return {ds.get_data_info(i)["img_path"].rsplit("/", 1)[-1]: ds.get_data_info(i)
            for i in range(len(ds))}


def test_jaffe_flat_folder_with_grey_and_palette_tiffs(tmp_path):
    pixels = write_jaffe(tmp_path)
    ds = PatternFolderDataset(data_root=str(tmp_path), pipeline=PIPELINE,
                              **_config_kwargs("jaffe"))
    assert ds.classes == JAFFE_CLASSES
    samples = _samples(ds)
    assert sorted(samples) == sorted(n for n in pixels if ".NE" not in n)
    ka = samples["KA.HA1.29.tiff"]
    assert (ka["subject"], ka["sequence"], ka["frame"]) == ("KA", "1", 29)
    assert ds.classes[ka["gt_label"]] == "happy"
    assert ka["neutral_path"] == str(tmp_path.resolve() / "KA.NE1.26.tiff")
    # KL.HA3 has no NE3: falls back to the subject's neutral
    assert samples["KL.HA3.160.tiff"]["neutral_path"].endswith("KL.NE1.155.tiff")
    assert samples["MK.HA1.50.tiff"]["neutral_path"] is None
    assert ka["landmarks"] is None and ka["neutral_landmarks"] is None
    issues = ds.report["issues"]
    assert issues["image without a neutral reference (kept, neutral_path None)"] == {
        "count": 1, "examples": [str(tmp_path.resolve() / "MK.HA1.50.tiff")]}
    assert issues["file not matching the pattern (ignored)"]["count"] == 1  # thumbs.png
    for index in range(len(ds)):  # grey and palette TIFFs read to the same grey levels
        out = ds[index]
        name = out["data_samples"].img_path.rsplit("/", 1)[-1]
        np.testing.assert_array_equal(out["inputs"]["img"][0].numpy(), pixels[name])
        assert out["data_samples"].has_neutral == (not name.startswith("MK"))


def test_ckplus_crops_parent_labels_and_sequence_neutrals(tmp_path):
    write_crops(tmp_path)
    ds = PatternFolderDataset(data_root=str(tmp_path), **_config_kwargs("ckplus_crops"))
    samples = _samples(ds)
    assert len(samples) == 5
    happy = samples["S010_006_00000015.png"]
    assert ds.classes[happy["gt_label"]] == "happy"  # 'happiness' folder mapped
    assert (happy["subject"], happy["sequence"], happy["frame"]) == ("S010", "006", 15)
    assert happy["neutral_path"].endswith("neutral/S010_006_00000001.png")  # same sequence
    anger = samples["S010_004_00000019.png"]
    assert ds.classes[anger["gt_label"]] == "anger"
    assert anger["neutral_path"].endswith("neutral/S010_001_00000001.png")  # same subject
    assert samples["S011_002_00000009.png"]["neutral_path"] is None
    assert samples["S022_001_00000011.png"]["neutral_path"].endswith("S022_005_00000001.png")


def test_yale_faces(yale_dir):
    kwargs = _config_kwargs("yale_faces")
    ds = PatternFolderDataset(data_root=str(yale_dir), pipeline=PIPELINE, **kwargs)
    assert len(ds) == 75 and len(set(ds.subjects)) == 15
    assert ds.report["issues"]["file not matching the pattern (ignored)"]["count"] == 60
    samples = _samples(ds)
    assert samples["04_sad.png"]["neutral_path"] == str(yale_dir.resolve() / "04_normal.png")
    out = ds[ds.subjects.index("04") + ds.classes.index("sad")]
    assert out["data_samples"].img_path.endswith("04_sad.png")
    # 04_sad is a copy of 04_normal; it is read like any other image
    np.testing.assert_array_equal(out["inputs"]["img"].numpy(), out["inputs"]["neutral"].numpy())
    assert np.bincount(ds.get_gt_labels()).tolist() == [15] * 5


def test_yale_config_data_root_points_beside_the_checkout(yale_dir):
    cfg = Config.fromfile(str(CONFIGS / "yale_faces.py"))
    assert (REPO_ROOT / cfg.train_dataloader.dataset.data_root).resolve() == yale_dir.resolve()


def test_folds_are_subject_independent(tmp_path):
    write_jaffe(tmp_path)
    kwargs = _config_kwargs("jaffe")

    def build(**fold_kwargs):
        return PatternFolderDataset(data_root=str(tmp_path), num_folds=3,
                                    serialize_data=False, **kwargs, **fold_kwargs)

    assert_subject_independent_folds(build, num_folds=3)


def test_empty_folder_names_folder(tmp_path):
    (tmp_path / "notes.txt").write_text("no images here")
    with pytest.raises(ValueError, match=f"{re.escape(str(tmp_path))} holds no image files"):
        PatternFolderDataset(data_root=str(tmp_path), pattern=r"(?P<subject>.+)\.png",
                             classes=("happy",), label_source="parent")
    with pytest.raises(FileNotFoundError, match="missing"):
        PatternFolderDataset(data_root=str(tmp_path / "missing"),
                             pattern=r"(?P<subject>.+)\.png", classes=("happy",),
                             label_source="parent")


def test_pattern_matching_nothing_shows_examples(tmp_path):
    write_jaffe(tmp_path)
    pattern = r"(?P<subject>S\d+)_(?P<label>\w+)\.png"
    with pytest.raises(ValueError) as info:
        PatternFolderDataset(data_root=str(tmp_path), pattern=pattern, classes=("happy",))
    message = str(info.value)
    assert pattern in message and str(tmp_path.resolve()) in message
    assert "KA.HA1.29.tiff" in message


def test_pattern_needs_its_groups(tmp_path):
    with pytest.raises(ValueError, match="subject"):
        PatternFolderDataset(data_root=str(tmp_path), pattern=r"(?P<label>\w+)\.png",
                             classes=("happy",))
    with pytest.raises(ValueError, match="label_source='parent'"):
        PatternFolderDataset(data_root=str(tmp_path), pattern=r"(?P<subject>\w+)\.png",
                             classes=("happy",))
    with pytest.raises(ValueError, match="invalid pattern"):
        PatternFolderDataset(data_root=str(tmp_path), pattern=r"(?P<subject>\w+",
                             classes=("happy",))


def test_labels_outside_classes_or_map_are_reported(tmp_path):
    from PIL import Image
    for name in ("A_happy.png", "A_neutral.png", "A_angry.png", "B_happy.png"):
        Image.fromarray(face(0)).save(tmp_path / name)
    ds = PatternFolderDataset(data_root=str(tmp_path),
                              pattern=r"(?P<subject>[A-Z])_(?P<label>\w+)\.png",
                              classes=("happy",), fold=None)
    assert len(ds) == 2
    assert ds.report["issues"]["label not in classes (ignored)"]["count"] == 1
    ds = PatternFolderDataset(data_root=str(tmp_path),
                              pattern=r"(?P<subject>[A-Z])_(?P<label>\w+)\.png",
                              classes=("happy",), label_map={"happy": "happy"})
    assert ds.report["issues"]["raw label not in label_map (ignored)"]["count"] == 1
    assert ds.get_data_info(0)["neutral_path"].endswith("A_neutral.png")


_token = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=3)


@given(subject=_token, label=st.sampled_from(sorted(JAFFE_MAP)), sequence=st.integers(0, 99),
       frame=st.integers(0, 10**6), ext=st.sampled_from(["tiff", "tif", "TIFF"]))
@settings(max_examples=80, deadline=None)
def test_parse_path_property(tmp_path_factory, subject, label, sequence, frame, ext):
    ds = _parser(tmp_path_factory)
    name = f"{subject}.{label}{sequence}.{frame}.{ext}"
    parsed = ds.parse_path(name)
    if len(subject) != 2:  # the JAFFE pattern wants two-letter subjects
        assert parsed is None
        return
    assert parsed == dict(subject=subject, sequence=str(sequence), frame=frame, raw_label=label,
                          label=JAFFE_MAP[label])
    assert ds.parse_path("sub/" + name) is None  # fullmatch on the whole relative path


_PARSERS = {}


def _parser(tmp_path_factory):
    if "jaffe" not in _PARSERS:
        root = tmp_path_factory.mktemp("jaffe")
        write_jaffe(root)
        _PARSERS["jaffe"] = PatternFolderDataset(data_root=str(root), lazy_init=True,
                                                 **_config_kwargs("jaffe"))
    return _PARSERS["jaffe"]
