"""Preparing real faces: small crops, undetected faces, disagreeing pairs, label tables.

The faces are real (the Yale faces beside the checkout, skipped when absent) and
dlib's real detector finds their landmarks; every odd file is written by the test.
"""

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from errkit.datasets import CachedFaceDataset
from errkit.datasets.prepare import (cache_source, format_summary, pair_disagreement,
                                     prepare_dataset)
from errkit.evaluation.metrics import ExpressionMetric
from errkit.landmarks.face_cache import load_face_cache, save_face_cache

pytest.importorskip("dlib")
from errkit.landmarks.detectors import DlibLandmarkDetector  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
CLASSES = ("happy", "sad", "surprised")
PATTERN = r"(?P<subject>\d+)_(?P<label>[a-z]+)\.png"


@pytest.fixture(scope="module")
def detector():
    return DlibLandmarkDetector()


def folder_cfg(root, **kwargs):
    return dict(type="PatternFolderDataset", data_root=str(root), pattern=PATTERN,
                classes=CLASSES, neutral_label="normal", **kwargs)


def link_subject(root: Path, yale_dir: Path, subject: str, labels=("normal",) + CLASSES):
    for label in labels:
        (root / f"{subject}_{label}.png").symlink_to(yale_dir / f"{subject}_{label}.png")


def write_tight_crops(root: Path, yale_dir: Path, subjects, detector) -> None:
    """48-pixel crops from brows to chin, like the common CK+ crops."""
    root.mkdir()
    for subject in subjects:
        for label in ("normal",) + CLASSES:
            img = np.asarray(Image.open(yale_dir / f"{subject}_{label}.png").convert("L"))
            points = detector.detect(img)[0]
            (x0, y0), (x1, y1) = points.min(0), points.max(0)
            side = 1.1 * max(x1 - x0, y1 - y0)
            s = 48 / side
            matrix = np.float32([[s, 0, 24 - s * (x0 + x1) / 2], [0, s, 24 - s * (y0 + y1) / 2]])
            crop = cv2.warpAffine(img, matrix, (48, 48), flags=cv2.INTER_AREA,
                                  borderMode=cv2.BORDER_REPLICATE)
            Image.fromarray(crop).save(root / f"{subject}_{label}.png")


def test_small_crops_are_upsampled_for_the_detector(tmp_path, yale_dir, detector):
    """Tight 48-pixel crops: a detector that does not upsample by itself finds no
    face in them, and nearly all once they are upsampled; the summary says how many."""
    root = tmp_path / "crops"
    write_tight_crops(root, yale_dir, ("01", "02", "03", "05", "06", "07"), detector)
    fast = DlibLandmarkDetector(upsample=0)
    plain = prepare_dataset(folder_cfg(root), fast, tmp_path / "plain.npz", size=48,
                            keep_undetected=True, progress=False)
    upsampled = prepare_dataset(folder_cfg(root), fast, tmp_path / "up.npz", size=48,
                                detect_min_size=144, keep_undetected=True, progress=False)
    assert plain["detection_rate"] < 0.2
    assert upsampled["detection_rate"] >= 0.9
    assert upsampled["num_cached"] == plain["num_cached"] == 18  # found or not, kept
    cache = load_face_cache(tmp_path / "up.npz")
    assert int((~cache.has_landmarks).sum()) == upsampled["num_kept_without_landmarks"]
    assert f"landmarks found on {100 * upsampled['detection_rate']:.1f} %" in \
        format_summary(upsampled)
    # The mapped-back landmarks lie on the face: eyes above the mouth, inside the crop.
    found = cache.landmarks[cache.has_landmarks]
    assert (found[:, 36:48, 1].mean(1) < found[:, 48:68, 1].mean(1)).all()
    assert found.min() > -5 and found.max() < 53


def test_undetected_faces_are_kept_without_landmarks(tmp_path, yale_dir, detector):
    root = tmp_path / "faces"
    root.mkdir()
    link_subject(root, yale_dir, "01")
    Image.fromarray(np.full((160, 120), 90, np.uint8)).save(root / "02_happy.png")
    link_subject(root, yale_dir, "02", labels=("normal",))
    summary = prepare_dataset(folder_cfg(root), detector, tmp_path / "c.npz", size=64,
                              keep_undetected=True, progress=False)
    assert summary["num_cached"] == 4 and summary["num_kept_without_landmarks"] == 1
    assert summary["detection_rate"] == pytest.approx(0.75)
    dataset = CachedFaceDataset(tmp_path / "c.npz", pipeline=[dict(type="PackFERInputs")])
    blank = [i for i in range(len(dataset))
             if dataset.get_data_info(i)["img_path"].endswith("02_happy.png")][0]
    sample = dataset[blank]["data_samples"]
    assert sample.has_face_landmarks is False and sample.has_landmarks is False
    assert sample.has_neutral is True  # the neutral is still there for the removal terms
    others = [dataset[i]["data_samples"] for i in range(len(dataset)) if i != blank]
    assert all(s.has_face_landmarks and s.has_landmarks for s in others)


def test_pairs_whose_landmarks_disagree_are_named(tmp_path, yale_dir, detector):
    """A 'neutral' photo whose face sits elsewhere at another scale (another photo,
    or a detection on the background) is not paired with the face."""
    root = tmp_path / "faces"
    root.mkdir()
    link_subject(root, yale_dir, "01")
    link_subject(root, yale_dir, "02", labels=CLASSES)
    face = np.asarray(Image.open(yale_dir / "02_normal.png").convert("L"))
    canvas = np.full((face.shape[0] * 3, face.shape[1] * 3), 128, np.uint8)
    canvas[-face.shape[0]:, -face.shape[1]:] = face  # small, in a corner
    Image.fromarray(canvas).save(root / "02_normal.png")
    summary = prepare_dataset(folder_cfg(root), detector, tmp_path / "c.npz", size=64,
                              progress=False)
    pairs = summary["pairs_disagreeing"]
    assert {Path(p["path"]).name for p in pairs} == {f"02_{c}.png" for c in CLASSES}
    assert all(p["scale_ratio"] > 2 for p in pairs)
    assert summary["num_pairs_disagreeing"] == 3
    cache = load_face_cache(tmp_path / "c.npz")
    by_name = {Path(p).name: i for i, p in enumerate(cache.img_path)}
    assert all(cache.neutral_index[by_name[f"02_{c}.png"]] == -1 for c in CLASSES)
    assert all(cache.neutral_index[by_name[f"01_{c}.png"]] >= 0 for c in CLASSES)
    assert "disagree with their neutral's" in format_summary(summary)


def test_subject_without_neutral_is_named(tmp_path, yale_dir, detector):
    root = tmp_path / "faces"
    root.mkdir()
    link_subject(root, yale_dir, "01")
    link_subject(root, yale_dir, "03", labels=CLASSES)
    summary = prepare_dataset(folder_cfg(root), detector, tmp_path / "c.npz", size=64,
                              progress=False)
    assert summary["subjects_without_neutral"] == ["03"]
    assert summary["num_cached"] == 6
    assert "1 subjects without any neutral photo: 03" in format_summary(summary)


def test_pair_disagreement_is_relative_to_each_image():
    from errkit.landmarks.mean_shape import canonical_landmarks
    face = canonical_landmarks(100)
    # the same framing at twice the resolution agrees
    assert pair_disagreement(face * 2, (200, 200), face, (100, 100)) == (1.0, 0.0)
    scale, shift = pair_disagreement(face + 60, (100, 100), face, (100, 100))
    assert scale == 1.0 and shift > 2


def test_observer_labels_reach_the_metric(tmp_path, yale_dir, detector):
    """A ratings table gives each face a second label set, carried by the cache and
    reported by ExpressionMetric beside the performed labels."""
    root = tmp_path / "faces"
    root.mkdir()
    for subject in ("01", "02"):
        link_subject(root, yale_dir, subject)
    rows = ["file,rated_top"] + [f"{s}_{c}.png,{r}" for s in ("01", "02")
                                 for c, r in zip(CLASSES, ("1", "1", "9"))]
    (root / "ratings.csv").write_text("\n".join(rows) + "\n")
    extra = dict(rated=dict(file="ratings.csv", key="file", column="rated_top",
                            label_map={"1": "happy", "2": "sad", "3": "surprised"}))
    prepare_dataset(folder_cfg(root, extra_labels=extra), detector, tmp_path / "c.npz",
                    size=64, progress=False)
    dataset = CachedFaceDataset(tmp_path / "c.npz", pipeline=[dict(type="PackFERInputs")])
    samples = [dataset[i]["data_samples"] for i in range(len(dataset))]
    assert sorted(s.extra_labels["rated"] for s in samples) == [-1, -1, 0, 0, 0, 0]
    metric = ExpressionMetric()
    metric.dataset_meta = dataset.metainfo
    for s in samples:  # predict the performed label everywhere
        s.set_pred_score(torch.nn.functional.one_hot(s.gt_label, 3)[0].float())
    metric.process(None, [s.to_dict() for s in samples])
    result = metric.evaluate(len(samples))
    assert result["expr/accuracy"] == 1.0
    assert result["expr/rated/count"] == 4  # the '9' ratings are outside the classes
    assert result["expr/rated/accuracy"] == pytest.approx(0.5)  # happy right, sad wrong


def test_format_1_caches_are_still_read(tmp_path):
    from errkit.landmarks.face_cache import FaceCache
    cache = FaceCache.from_records(
        [dict(img=np.zeros((8, 8, 1), np.uint8), landmarks=np.ones((68, 2)), neutral_index=-1,
              gt_label=0, subject="1", sequence="", frame=0, img_path="a.png")],
        [], 8, 1, ("happy",))
    path = save_face_cache(cache, tmp_path / "v2.npz")
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files
                  if k not in ("has_landmarks", "neutral_has_landmarks", "extra_label_names",
                               "extra_labels")}
    meta = json.loads(str(arrays["meta"]))
    arrays["meta"] = np.asarray(json.dumps(dict(meta, format_version=1)))
    np.savez(tmp_path / "v1.npz", **arrays)
    old = load_face_cache(tmp_path / "v1.npz")
    assert old.has_landmarks.tolist() == [True] and old.extra_labels.shape == (1, 0)
    arrays["meta"] = np.asarray(json.dumps(dict(meta, format_version=2)))
    np.savez(tmp_path / "v2_broken.npz", **arrays)
    with pytest.raises(ValueError, match="keys .* are missing"):
        load_face_cache(tmp_path / "v2_broken.npz")


def test_one_config_prepares_and_trains(tmp_path, yale_dir):
    """A CachedFaceDataset config with a source: tools/prepare_data.py CONFIG writes
    its cache, and a missing cache names that command."""
    root = tmp_path / "faces"
    root.mkdir()
    for subject in ("01", "02"):
        link_subject(root, yale_dir, subject)
    cache_file = tmp_path / "cache" / "faces.npz"
    source = folder_cfg(root, prepare=dict(size=64, keep_undetected=True))
    dataset = dict(type="CachedFaceDataset", cache_file=str(cache_file), source=source)
    config = tmp_path / "faces_config.py"
    config.write_text(f"train_dataloader = dict(dataset={dataset!r})\n")
    with pytest.raises(FileNotFoundError, match="tools/prepare_data.py"):
        CachedFaceDataset(**{k: v for k, v in dataset.items() if k != "type"})
    planned = cache_source(dataset)
    assert planned[1] == str(cache_file) and planned[2] == dict(size=64, keep_undetected=True)
    proc = subprocess.run([sys.executable, str(REPO / "tools" / "prepare_data.py"),
                           str(config), "--no-progress"], capture_output=True, text=True,
                          cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    assert "6/6 faces cached" in proc.stdout
    assert "landmarks found on 100.0 % of the faces" in proc.stdout
    assert load_face_cache(cache_file).images.shape[1:] == (64, 64, 1)
    with pytest.raises(ValueError, match="unknown settings"):
        cache_source(dict(dataset, source=dict(source, prepare=dict(sise=64))))
