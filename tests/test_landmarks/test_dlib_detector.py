import sys

import cv2
import numpy as np
import pytest

from errkit.landmarks.detectors import (
    BaseLandmarkDetector,
    DetectorUnavailableError,
    DlibLandmarkDetector,
    build_landmark_detector,
)
from errkit.landmarks.detectors.dlib_detector import default_predictor_path
from errkit.registry import LANDMARK_DETECTORS

pytest.importorskip("dlib")
if default_predictor_path() is None or not default_predictor_path().is_file():
    pytest.skip("face_recognition_models is not installed", allow_module_level=True)


@pytest.fixture(scope="module")
def detector():
    return DlibLandmarkDetector()


def test_finds_68_points_on_most_yale_neutral_faces(detector, yale_dir):
    paths = sorted(yale_dir.glob("*_normal.png"))
    assert len(paths) >= 10
    found = 0
    for path in paths:
        img = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        faces = detector.detect(img)
        if faces:
            found += 1
            points = faces[0]
            assert points.shape == (68, 2) and points.dtype == np.float32
            h, w = img.shape
            assert (points[:, 0] > -5).all() and (points[:, 0] < w + 5).all()
            assert (points[:, 1] > -5).all() and (points[:, 1] < h + 5).all()
            # the subject's right eye is on the image's left, eyes above the mouth
            assert points[36:42, 0].mean() < points[42:48, 0].mean()
            assert points[36:48, 1].mean() < points[48:60, 1].mean()
    assert found >= 0.8 * len(paths)


def test_largest_face_first_and_colour_input(detector, yale_dir):
    face = cv2.imread(str(yale_dir / "01_normal.png"), cv2.IMREAD_GRAYSCALE)
    small = cv2.resize(face, None, fx=0.8, fy=0.8)
    canvas = np.full((face.shape[0] + 20, face.shape[1] + small.shape[1] + 40), 128, np.uint8)
    canvas[10:10 + face.shape[0], 10:10 + face.shape[1]] = face
    x0 = face.shape[1] + 30
    canvas[10:10 + small.shape[0], x0:x0 + small.shape[1]] = small
    faces = detector.detect(np.repeat(canvas[..., None], 3, axis=2))
    assert len(faces) == 2
    assert faces[0][:, 0].mean() < x0 < faces[1][:, 0].mean()
    assert np.ptp(faces[0][:, 0]) > np.ptp(faces[1][:, 0])


def test_blank_image_and_input_checks(detector):
    assert detector.detect(np.zeros((120, 100, 1), np.uint8)) == []
    assert detector.landmarks_for(np.zeros((50, 50), np.uint8)) is None
    with pytest.raises(ValueError, match="uint8"):
        detector.detect(np.zeros((10, 10), np.float32))
    with pytest.raises(ValueError, match="shape"):
        detector.detect(np.zeros((10, 10, 4), np.uint8))


def test_missing_predictor_file_is_explained(tmp_path):
    missing = tmp_path / "nope.dat"
    with pytest.raises(DetectorUnavailableError, match="errkit\\[dlib\\]") as info:
        DlibLandmarkDetector(predictor_path=missing)
    assert str(missing) in str(info.value)
    junk = tmp_path / "junk.dat"
    junk.write_bytes(b"not a model")
    with pytest.raises(DetectorUnavailableError, match="junk.dat"):
        DlibLandmarkDetector(predictor_path=junk)


def test_missing_dlib_is_explained(monkeypatch):
    monkeypatch.setitem(sys.modules, "dlib", None)
    with pytest.raises(DetectorUnavailableError, match="pip install errkit\\[dlib\\]"):
        DlibLandmarkDetector()


def test_registered():
    assert LANDMARK_DETECTORS.get("DlibLandmarkDetector") is DlibLandmarkDetector
    det = build_landmark_detector(
        dict(type="PrecomputedLandmarks", fallback="DlibLandmarkDetector"))
    assert isinstance(det.fallback, DlibLandmarkDetector)
    assert isinstance(det, BaseLandmarkDetector)
