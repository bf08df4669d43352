import numpy as np
import pytest
import torch

from errkit.datasets.cached_face_dataset import CachedFaceDataset
from errkit.landmarks.face_cache import FaceCache, FaceCacheError, save_face_cache
from errkit.registry import DATASETS


@pytest.fixture
def cache_file(tmp_path):
    rng = np.random.default_rng(1)
    samples, neutrals = [], []
    for s in range(6):
        neutrals.append({"img": np.full((16, 16, 1), s, np.uint8),
                         "landmarks": rng.random((68, 2), dtype=np.float32), "path": f"/n{s}.png"})
        for label in range(2):
            samples.append({"img": np.full((16, 16, 1), 100 + 10 * s + label, np.uint8),
                            "landmarks": rng.random((68, 2), dtype=np.float32) * 16,
                            "neutral_index": -1 if s == 5 else s, "gt_label": label,
                            "subject": f"S{s}", "sequence": f"{label:03d}", "frame": 3,
                            "img_path": f"/S{s}_{label}.png"})
    cache = FaceCache.from_records(samples, neutrals, 16, 1, ("happy", "sad"), {"size": 16})
    return save_face_cache(cache, tmp_path / "cache" / "faces.npz")


def test_samples_are_packed_from_the_cache(cache_file):
    dataset = CachedFaceDataset(str(cache_file))
    assert len(dataset) == 12 and dataset.metainfo["classes"] == ("happy", "sad")
    out = dataset[3]  # subject S1, label 1
    assert out["inputs"]["img"].dtype == torch.uint8
    assert out["inputs"]["img"].shape == (1, 16, 16)
    assert int(out["inputs"]["img"][0, 0, 0]) == 111
    assert int(out["inputs"]["neutral"][0, 0, 0]) == 1
    sample = out["data_samples"]
    assert sample.has_neutral and sample.has_landmarks
    assert sample.img_path == "/S1_1.png" and sample.subject == "S1"
    assert sample.img_shape == (16, 16) and int(sample.gt_label) == 1
    without = dataset[10]["data_samples"]  # subject S5 has no neutral
    assert not without.has_neutral


def test_arrays_are_copies(cache_file):
    dataset = CachedFaceDataset(str(cache_file), pipeline=[])
    info = dataset[0]
    info["img"][:] = 0
    assert dataset[0]["img"][0, 0, 0] == 100
    assert dataset[0]["neutral_path"] == "/n0.png"
    assert dataset[11]["neutral"] is None and dataset[11]["neutral_landmarks"] is None


def test_subject_independent_folds(cache_file):
    train = CachedFaceDataset(str(cache_file), fold=1, num_folds=3, split="train")
    test = CachedFaceDataset(str(cache_file), fold=1, num_folds=3, split="test")
    assert len(train) + len(test) == 12 and len(test) > 0
    assert not set(train.subjects) & set(test.subjects)


def test_built_from_config_with_data_root(cache_file):
    dataset = DATASETS.build(dict(type="CachedFaceDataset", cache_file="faces.npz",
                                  data_root=str(cache_file.parent)))
    assert isinstance(dataset, CachedFaceDataset) and len(dataset) == 12


def test_missing_or_broken_cache(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.npz"):
        CachedFaceDataset(str(tmp_path / "nothing.npz"))
    (tmp_path / "broken.npz").write_bytes(b"xx")
    with pytest.raises(FaceCacheError, match="broken.npz"):
        CachedFaceDataset(str(tmp_path / "broken.npz"))
