import hashlib
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from errkit.datasets.cached_face_dataset import CachedFaceDataset
from errkit.landmarks.detectors import BaseLandmarkDetector, PrecomputedLandmarks
from errkit.landmarks.face_cache import load_face_cache
from errkit.landmarks.mean_shape import canonical_landmarks, eye_centres
from errkit.datasets.prepare import prepare_dataset, sidecar_paths

pytest.importorskip("dlib")
from errkit.landmarks.detectors import DlibLandmarkDetector  # noqa: E402

CLASSES = ("happy", "sad", "surprised")
PATTERN = r"(?P<subject>\d+)_(?P<label>[a-z]+)\.png"
REPO = Path(__file__).resolve().parents[2]


class Interrupt(BaseException):
    """Stands for Ctrl-C or a killed job."""


class Spy(BaseLandmarkDetector):
    """Counts the images it sees and can stop the run at the n-th."""

    def __init__(self, inner, stop_at=None, on_call=None):
        self.inner, self.stop_at, self.on_call = inner, stop_at, on_call
        self._seen = []

    def _detect(self, image):
        self._seen.append(hashlib.sha1(image.tobytes()).hexdigest())
        if self.on_call is not None:
            self.on_call(len(self._seen))
        if len(self._seen) == self.stop_at:
            raise Interrupt()
        return self.inner._detect(image)


@pytest.fixture(scope="module")
def dlib_detector():
    return DlibLandmarkDetector()


@pytest.fixture
def face_folder(tmp_path, yale_dir):
    """Yale faces of 4 subjects (linked) plus a blank face and a blank neutral."""
    root = tmp_path / "faces"
    root.mkdir()
    for subject in ("01", "02", "03", "04"):
        for label in ("normal",) + CLASSES:
            (root / f"{subject}_{label}.png").symlink_to(yale_dir / f"{subject}_{label}.png")
    blank = Image.fromarray(np.full((160, 120), 90, np.uint8))
    (root / "05_normal.png").symlink_to(yale_dir / "05_normal.png")
    blank.save(root / "05_happy.png")  # a sample with no face
    blank.save(root / "06_normal.png")  # a neutral with no face
    (root / "06_happy.png").symlink_to(yale_dir / "06_happy.png")
    return root


def folder_cfg(root):
    return dict(type="PatternFolderDataset", data_root=str(root), pattern=PATTERN,
                classes=CLASSES, neutral_label="normal")


def test_prepares_cache_and_summary(face_folder, tmp_path, dlib_detector):
    out = tmp_path / "cache" / "faces.npz"
    summary = prepare_dataset(folder_cfg(face_folder), dlib_detector, out, size=64,
                              progress=False)
    summary_file, partial_file = sidecar_paths(out)
    assert out.is_file() and summary_file.is_file() and not partial_file.exists()
    assert json.loads(summary_file.read_text()) == summary
    assert summary["num_samples"] == 14 and summary["num_cached"] == 13
    missing = {(Path(m["path"]).name, m["role"]) for m in summary["not_found"]}
    assert missing == {("05_happy.png", "img"), ("06_normal.png", "neutral")}
    assert all(m["reason"] == "no face found" for m in summary["not_found"])

    cache = load_face_cache(out)
    assert cache.images.shape == (13, 64, 64, 1) and cache.classes == CLASSES
    # each neutral face is processed once and shared; 05's only sample has no face,
    # so its neutral is never needed
    assert sorted(Path(p).name for p in cache.neutral_paths) == [
        "01_normal.png", "02_normal.png", "03_normal.png", "04_normal.png"]
    names = [Path(p).name for p in cache.img_path]
    assert "05_happy.png" not in names
    assert cache.neutral_index[names.index("06_happy.png")] == -1
    by_subject = {s: set(cache.neutral_index[cache.subject == s]) for s in set(cache.subject)}
    assert all(len(v) == 1 for v in by_subject.values())
    # aligned: the eyes of the cached landmarks sit on the template's eyes
    want = np.stack(eye_centres(canonical_landmarks(64)))
    for points in list(cache.landmarks) + list(cache.neutral_landmarks):
        np.testing.assert_allclose(np.stack(eye_centres(points)), want, atol=1e-3)

    dataset = CachedFaceDataset(str(out))
    assert len(dataset) == 13
    assert dataset[0]["inputs"]["img"].shape == (1, 64, 64)


def test_resumes_after_an_interruption(face_folder, tmp_path, dlib_detector):
    cfg = folder_cfg(face_folder)
    fresh = Spy(dlib_detector)
    prepare_dataset(cfg, fresh, tmp_path / "fresh.npz", size=48, progress=False)
    # 14 faces + 5 distinct neutral files (05's is never needed): each detected once
    assert len(fresh._seen) == 19

    out = tmp_path / "run.npz"
    _, partial = sidecar_paths(out)
    periodic = []

    def check_partial(call):
        if call == 9:  # by now at least one periodic save (every 2 samples) happened
            periodic.append(load_face_cache(partial).meta["next_index"])

    first = Spy(dlib_detector, stop_at=12, on_call=check_partial)
    with pytest.raises(Interrupt):
        prepare_dataset(cfg, first, out, size=48, save_every=2, progress=False)
    assert periodic and periodic[0] >= 2 and periodic[0] % 2 == 0
    assert partial.is_file() and not out.exists()
    state = load_face_cache(partial)
    done = state.meta["next_index"]
    assert 0 < done < 14

    second = Spy(dlib_detector)
    prepare_dataset(cfg, second, out, size=48, save_every=2, progress=False)
    assert not partial.exists()
    # nothing finished before the interruption is detected again
    finished = set(first._seen[: len(first._seen) - 1]) - set(first._seen[-1:])
    redone = finished & set(second._seen)
    assert not redone
    assert len(second._seen) < len(fresh._seen)
    a, b = load_face_cache(tmp_path / "fresh.npz"), load_face_cache(out)
    assert list(a.img_path) == list(b.img_path)
    np.testing.assert_array_equal(a.images, b.images)
    np.testing.assert_array_equal(a.neutral_index, b.neutral_index)
    np.testing.assert_array_equal(a.neutrals, b.neutrals)
    sa = json.loads(sidecar_paths(tmp_path / "fresh.npz")[0].read_text())["not_found"]
    sb = json.loads(sidecar_paths(out)[0].read_text())["not_found"]
    assert sa == sb


def test_progress_of_other_inputs_is_ignored(face_folder, tmp_path, dlib_detector):
    out = tmp_path / "x.npz"
    with pytest.raises(Interrupt):
        prepare_dataset(folder_cfg(face_folder), Spy(dlib_detector, stop_at=4), out,
                        size=32, progress=False)
    spy = Spy(dlib_detector)
    summary = prepare_dataset(folder_cfg(face_folder), spy, out, size=40, progress=False)
    assert summary["num_cached"] == 13 and load_face_cache(out).images.shape[1] == 40


def test_precomputed_landmarks_and_unreadable_files(tmp_path):
    size = 200
    points = canonical_landmarks(size) * 0.8 + 15  # a known face in a 200x200 image
    img_path, neutral_path, broken = tmp_path / "a.png", tmp_path / "n.png", tmp_path / "b.png"
    Image.fromarray(np.full((size, size), 50, np.uint8)).save(img_path)
    Image.fromarray(np.full((size, size), 60, np.uint8)).save(neutral_path)
    broken.write_bytes(b"not a png")
    base = dict(neutral_path=str(neutral_path), neutral_landmarks=points, gt_label=1,
                subject="S1", sequence="001", frame=1)
    items = [dict(base, img_path=str(img_path), landmarks=points),
             dict(base, img_path=str(img_path), landmarks=None),
             dict(base, img_path=str(broken), landmarks=points)]
    out = tmp_path / "pre.npz"
    summary = prepare_dataset(items, "PrecomputedLandmarks", out, size=32, classes=("a", "b"),
                              progress=False)
    assert summary["num_cached"] == 1 and summary["num_neutrals"] == 1
    reasons = [m["reason"] for m in summary["not_found"]]
    assert reasons[0] == PrecomputedLandmarks().miss_reason
    assert "DataFileError" in reasons[1] and "b.png" in reasons[1]
    cache = load_face_cache(out)
    np.testing.assert_allclose(cache.landmarks[0], canonical_landmarks(32), atol=1e-3)
    assert int(cache.gt_label[0]) == 1 and (cache.images[0] == 50).all()


def _load_tool():
    spec = importlib.util.spec_from_file_location("prepare_data_tool",
                                                  REPO / "tools" / "prepare_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_command_line(face_folder, tmp_path, capsys):
    tool = _load_tool()
    config = tmp_path / "cfg.py"
    config.write_text(
        "train_dataloader = dict(dataset=dict(type='PatternFolderDataset', data_root="
        f"{str(face_folder)!r}, pattern={PATTERN!r}, classes={CLASSES!r}, "
        "neutral_label='normal', fold=0, split='train', pipeline=[]))\n")
    out = tmp_path / "cli.npz"
    assert tool.main([str(config), "--out", str(out), "--size", "32", "--no-progress"]) == 0
    assert "13/14 faces cached" in capsys.readouterr().out
    assert load_face_cache(out).images.shape == (13, 32, 32, 1)

    out2 = tmp_path / "cli2.npz"
    argv = ["--dataset-type", "PatternFolderDataset", "--data-root", str(face_folder),
            "--pattern", PATTERN, "--classes", *CLASSES, "--dataset-options",
            "neutral_label=normal", "--detector", "precomputed", "--fallback", "dlib",
            "--color-type", "color", "--out", str(out2), "--size", "24", "--no-progress"]
    assert tool.main(argv) == 0
    assert load_face_cache(out2).images.shape == (13, 24, 24, 3)

    assert tool.main([str(config), "--detector", "fan", "--fan-weights",
                      str(tmp_path / "none.pth"), "--out", str(tmp_path / "f.npz")]) == 2
    assert "none.pth" in capsys.readouterr().err
