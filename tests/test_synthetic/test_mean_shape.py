import importlib.util

import numpy as np
import pytest

from errkit.landmarks.flip_index import FLIP_INDEX_68
from errkit.landmarks.mean_shape import (MEAN_SHAPE_68, canonical_landmarks, eye_centres,
                                         to_eye_frame)
from tests.helpers import REPO_ROOT


def test_mean_shape_is_in_the_eye_frame():
    assert MEAN_SHAPE_68.shape == (68, 2) and MEAN_SHAPE_68.dtype == np.float32
    right, left = eye_centres(MEAN_SHAPE_68)
    np.testing.assert_allclose(right, (-0.5, 0), atol=1e-4)
    np.testing.assert_allclose(left, (0.5, 0), atol=1e-4)


def test_mean_shape_is_a_face():
    m = MEAN_SHAPE_68
    assert m[8, 1] > m[57, 1] > m[51, 1] > m[33, 1] > m[30, 1] > m[27, 1] > m[19, 1]
    assert m[36, 0] < m[39, 0] < m[42, 0] < m[45, 0]
    assert m[48, 0] < m[51, 0] < m[54, 0]
    assert m[0, 0] < m[36, 0] and m[16, 0] > m[45, 0]


def test_mean_shape_is_symmetric():
    mirrored = MEAN_SHAPE_68[list(FLIP_INDEX_68)] * np.array([-1, 1])
    np.testing.assert_allclose(mirrored, MEAN_SHAPE_68, atol=1e-4)


def test_to_eye_frame_undoes_a_similarity():
    angle, scale, shift = 0.3, 57.0, np.array([40.0, -12.0])
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    moved = MEAN_SHAPE_68 @ rot.T * scale + shift
    np.testing.assert_allclose(to_eye_frame(moved), MEAN_SHAPE_68, atol=1e-4)


def test_canonical_landmarks_places_the_eyes():
    pts = canonical_landmarks(128, scale=0.3, eye_y=0.36)
    right, left = eye_centres(pts)
    np.testing.assert_allclose(right, (63.5 - 0.15 * 128, 0.36 * 128 - 0.5), atol=1e-3)
    np.testing.assert_allclose(left, (63.5 + 0.15 * 128, 0.36 * 128 - 0.5), atol=1e-3)
    assert pts.dtype == np.float32
    assert pts.min() >= 0 and pts.max() <= 127
    small = canonical_landmarks(64)
    np.testing.assert_allclose(small, (pts + 0.5) / 2 - 0.5, atol=1e-3)


def test_canonical_landmarks_rejects_bad_arguments():
    with pytest.raises(ValueError, match='size'):
        canonical_landmarks(0)
    with pytest.raises(ValueError, match='mean_shape'):
        canonical_landmarks(64, mean_shape=np.zeros((5, 2)))


@pytest.mark.slow
def test_mean_shape_matches_a_new_measurement(yale_dir):
    pytest.importorskip('dlib')
    if importlib.util.find_spec('face_recognition_models') is None:
        pytest.skip('face_recognition_models is not installed')
    spec = importlib.util.spec_from_file_location(
        'measure_mean_shape', REPO_ROOT / 'tools' / 'analysis' / 'measure_mean_shape.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    shapes = tool.detect_shapes(sorted(yale_dir.glob('*_normal.png')), upsample=1)
    assert len(shapes) >= 10
    mean = np.mean([to_eye_frame(s) for s in shapes], axis=0)
    # a plain average of eye-frame shapes is close to the Procrustes mean
    assert np.abs(mean - MEAN_SHAPE_68).max() < 0.05
