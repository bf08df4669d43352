import json
import os

import numpy as np
import pytest

from errkit.landmarks.face_cache import (
    CACHE_FORMAT_VERSION,
    FaceCache,
    FaceCacheError,
    load_face_cache,
    save_face_cache,
)


def make_cache(n=3, m=2, size=8, channels=1):
    rng = np.random.default_rng(0)
    samples = [
        {"img": rng.integers(0, 255, (size, size, channels), dtype=np.uint8),
         "landmarks": rng.random((68, 2), dtype=np.float32) * size,
         "neutral_index": (i % (m + 1)) - 1, "gt_label": i % 2, "subject": f"S{i % 2}",
         "sequence": f"{i:03d}", "frame": i + 1, "img_path": f"/data/img_{i}.png"}
        for i in range(n)
    ]
    neutrals = [
        {"img": rng.integers(0, 255, (size, size, channels), dtype=np.uint8),
         "landmarks": rng.random((68, 2), dtype=np.float32), "path": f"/data/neutral_{j}.png"}
        for j in range(m)
    ]
    return FaceCache.from_records(samples, neutrals, size, channels, ("a", "b"), {"size": size})


def test_round_trip(tmp_path):
    cache = make_cache()
    path = save_face_cache(cache, tmp_path / "sub" / "c.npz")
    assert sorted(p.name for p in path.parent.iterdir()) == ["c.npz"]  # no temp file left
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
    back = load_face_cache(path)
    assert len(back) == 3 and back.classes == ("a", "b")
    assert back.meta["size"] == 8 and back.meta["format_version"] == CACHE_FORMAT_VERSION
    for key in ("images", "landmarks", "neutral_index", "neutrals", "neutral_landmarks",
                "gt_label", "frame"):
        np.testing.assert_array_equal(getattr(back, key), getattr(cache, key))
    assert list(back.img_path) == [f"/data/img_{i}.png" for i in range(3)]
    assert list(back.neutral_paths) == ["/data/neutral_0.png", "/data/neutral_1.png"]
    assert back.images.dtype == np.uint8 and back.landmarks.dtype == np.float32


def test_empty_cache(tmp_path):
    cache = FaceCache.from_records([], [], 16, 3)
    back = load_face_cache(save_face_cache(cache, tmp_path / "e.npz", compress=False))
    assert back.images.shape == (0, 16, 16, 3) and back.neutrals.shape == (0, 16, 16, 3)


def test_failed_save_keeps_the_old_file(tmp_path, monkeypatch):
    path = save_face_cache(make_cache(n=2), tmp_path / "c.npz")

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez_compressed", boom)
    with pytest.raises(OSError, match="disk full"):
        save_face_cache(make_cache(n=3), path)
    assert len(load_face_cache(path)) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.npz"]


def test_load_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="prepare_data"):
        load_face_cache(tmp_path / "missing.npz")
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"nonsense")
    with pytest.raises(FaceCacheError, match="junk.npz"):
        load_face_cache(junk)
    other = tmp_path / "other.npz"
    np.savez(other, images=np.zeros((1, 2, 2, 1), np.uint8))
    with pytest.raises(FaceCacheError, match="other.npz.*missing"):
        load_face_cache(other)


def test_version_and_consistency_checks(tmp_path):
    path = save_face_cache(make_cache(), tmp_path / "c.npz")
    with np.load(path) as data:
        arrays = dict(data)
    arrays["meta"] = np.asarray(json.dumps({"format_version": 99}))
    np.savez(tmp_path / "v.npz", **arrays)
    with pytest.raises(FaceCacheError, match="v.npz.*version 99"):
        load_face_cache(tmp_path / "v.npz")
    arrays = {k: v for k, v in arrays.items()}
    arrays["meta"] = np.asarray(json.dumps({"format_version": CACHE_FORMAT_VERSION}))
    arrays["neutral_index"] = np.array([0, 5, -1])
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(FaceCacheError, match="bad.npz.*neutral_index"):
        load_face_cache(tmp_path / "bad.npz")
    cache = make_cache()
    cache.landmarks = cache.landmarks[:2]
    with pytest.raises(FaceCacheError, match="landmarks"):
        save_face_cache(cache, tmp_path / "x.npz")
    assert not (tmp_path / "x.npz").exists()
