"""LoadFaceImages and PackFERInputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from errkit.datasets.transforms import LoadFaceImages, PackFERInputs
from tests.helpers import face, points


def test_load_face_images(tmp_path):
    Image.fromarray(face(0, (12, 10), 3)).save(tmp_path / "a.png")
    Image.fromarray(face(1, (20, 16))).save(tmp_path / "n.png")
    out = LoadFaceImages("color")({"img_path": str(tmp_path / "a.png"),
                                   "neutral_path": str(tmp_path / "n.png")})
    assert out["img"].shape == (12, 10, 3) and out["neutral"].shape == (20, 16, 3)
    assert out["ori_shape"] == out["img_shape"] == (12, 10)
    out = LoadFaceImages()({"img_path": str(tmp_path / "a.png"), "neutral_path": None})
    assert out["img"].shape == (12, 10, 1) and "neutral" not in out
    with pytest.raises(ValueError, match="color_type"):
        LoadFaceImages("bgr")
    with pytest.raises(FileNotFoundError, match="gone.png"):
        LoadFaceImages()({"img_path": str(tmp_path / "gone.png")})
    assert repr(LoadFaceImages()) == "LoadFaceImages(color_type='grey')"


def test_pack_full_sample():
    results = dict(img=face(0)[..., None], neutral=face(1)[..., None],
                   landmarks=points(0), neutral_landmarks=points(1), gt_label=5,
                   img_path="/x/a.png", subject="S1", sequence="001", frame=7,
                   ori_shape=(30, 20), img_shape=(12, 10))
    out = PackFERInputs()(results)
    inputs, sample = out["inputs"], out["data_samples"]
    assert inputs["img"].dtype == torch.uint8 and inputs["img"].shape == (1, 12, 10)
    np.testing.assert_array_equal(inputs["neutral"][0].numpy(), face(1))
    assert inputs["landmarks"].dtype == torch.float32
    np.testing.assert_allclose(inputs["neutral_landmarks"].numpy(), points(1), rtol=1e-6)
    assert sample.gt_label.tolist() == [5]
    assert sample.metainfo == dict(img_path="/x/a.png", subject="S1", sequence="001", frame=7,
                                   ori_shape=(30, 20), img_shape=(12, 10), has_neutral=True,
                                   has_landmarks=True, has_face_landmarks=True)


def test_pack_fills_missing_parts_with_zeros():
    out = PackFERInputs()(dict(img=face(0, channels=3), landmarks=points(0)))
    inputs, sample = out["inputs"], out["data_samples"]
    assert inputs["img"].shape == (3, 12, 10)
    assert inputs["neutral"].shape == (3, 12, 10) and not inputs["neutral"].any()
    assert not inputs["neutral_landmarks"].any()
    assert sample.has_neutral is False and sample.has_landmarks is True
    assert "gt_label" not in sample
    # a neutral without landmarks makes the landmark pair unusable
    out = PackFERInputs()(dict(img=face(0)[..., None], neutral=face(1)[..., None],
                               landmarks=points(0)))
    assert out["data_samples"].has_landmarks is False
    # ... but the face's own landmarks stay usable (for branches that read them)
    assert out["data_samples"].has_face_landmarks is True


def test_pack_errors():
    with pytest.raises(ValueError, match="differs from img shape"):
        PackFERInputs()(dict(img=face(0)[..., None], neutral=face(0, (8, 8))[..., None]))
    with pytest.raises(ValueError, match=r"landmarks must have shape \(68, 2\)"):
        PackFERInputs()(dict(img=face(0)[..., None], landmarks=np.zeros((5, 2))))
    with pytest.raises(KeyError, match="LoadFaceImages"):
        PackFERInputs()({})
