import cv2
import numpy as np
import pytest

from errkit.landmarks.alignment import (
    crop_resize_matrix,
    similarity_from_eyes,
    transform_points,
    warp_face,
)
from errkit.landmarks.mean_shape import canonical_landmarks, eye_centres


def _face_in_image(angle_deg=12.0, scale=1.7, shift=(31.0, 17.0)):
    """The canonical shape rotated, scaled and moved into a larger image."""
    base = canonical_landmarks(100).astype(np.float64)
    theta = np.deg2rad(angle_deg)
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    return (base @ rot.T * scale + np.asarray(shift)).astype(np.float32)


@pytest.mark.parametrize("size", [64, 128])
def test_eyes_land_on_template_eyes(size):
    rng = np.random.default_rng(size)
    points = _face_in_image() + rng.normal(0, 2, (68, 2)).astype(np.float32)
    matrix = similarity_from_eyes(points, size)
    mapped = transform_points(points, matrix)
    want = np.stack(eye_centres(canonical_landmarks(size)))
    np.testing.assert_allclose(np.stack(eye_centres(mapped)), want, atol=1e-3)
    # a similarity: equal scale on both axes, no shear
    a, b = matrix[0, 0], matrix[1, 0]
    np.testing.assert_allclose(matrix[:, :2], [[a, -b], [b, a]])


def test_explicit_template_and_eye_pairs():
    points = _face_in_image()
    template = np.array([[10.0, 20.0], [30.0, 20.0]])
    mapped = transform_points(points, similarity_from_eyes(points, 50, template))
    np.testing.assert_allclose(np.stack(eye_centres(mapped)), template, atol=1e-3)


def test_warped_pixels_follow_the_points():
    points = _face_in_image()
    img = np.zeros((260, 240, 1), np.uint8)
    x, y = np.round(points[30]).astype(int)
    points[30] = (x, y)
    cv2.circle(img, (int(x), int(y)), 3, 255, -1)
    matrix = similarity_from_eyes(points, 128)
    out = warp_face(img, matrix, 128)
    assert out.shape == (128, 128, 1) and out.dtype == np.uint8
    ys, xs = np.nonzero(out[..., 0] > 0)
    weights = out[ys, xs, 0].astype(np.float64)
    centroid = np.array([np.average(xs, weights=weights), np.average(ys, weights=weights)])
    np.testing.assert_allclose(centroid, transform_points(points[30:31], matrix)[0], atol=0.5)


def test_warp_keeps_channels_and_replicates_border():
    img = np.full((40, 30, 3), 7, np.uint8)
    out = warp_face(img, np.array([[2.0, 0, -50], [0, 2.0, -50]]), 32)
    assert out.shape == (32, 32, 3)
    assert (out == 7).all()  # replicated, never black
    assert warp_face(img[..., 0], np.eye(2, 3), 8).shape == (8, 8)


def test_crop_resize_matrix_matches_cv2_resize():
    img = np.zeros((90, 150), np.uint8)
    img[40:43, 80:83] = 255  # dot centred at (81, 41)
    matrix = crop_resize_matrix(90, 150, 45)
    out = cv2.resize(np.ascontiguousarray(img[:, 30:120]), (45, 45), interpolation=cv2.INTER_AREA)
    ys, xs = np.nonzero(out)
    weights = out[ys, xs].astype(np.float64)
    centroid = np.array([np.average(xs, weights=weights), np.average(ys, weights=weights)])
    np.testing.assert_allclose(centroid, transform_points([[81.0, 41.0]], matrix)[0], atol=0.3)


def test_bad_inputs():
    points = _face_in_image()
    with pytest.raises(ValueError, match="68, 2"):
        similarity_from_eyes(points[:60], 64)
    same = points.copy()
    same[36:48] = 5.0
    with pytest.raises(ValueError, match="coincide"):
        similarity_from_eyes(same, 64)
    with pytest.raises(ValueError, match="non-finite"):
        transform_points([[np.nan, 1.0]], np.eye(2, 3))
    with pytest.raises(ValueError, match="matrix"):
        warp_face(np.zeros((4, 4), np.uint8), np.eye(3), 4)


def test_shrinking_warp_is_area_filtered():
    # A fine checkerboard shrunk 8x: area filtering averages it to flat grey, plain
    # bilinear sampling lands on single cells (aliasing).
    board = ((np.indices((512, 512)).sum(axis=0) % 2) * 255).astype(np.uint8)
    matrix = np.array([[0.125, 0.0, 0.0], [0.0, 0.125, 0.0]])
    filtered = warp_face(board, matrix, 48)
    aliased = warp_face(board, matrix, 48, antialias=False)
    assert abs(float(filtered.mean()) - 127.5) < 2 and filtered.std() < 2
    assert abs(float(aliased.mean()) - 127.5) > 100  # every sample lands on one colour
    # Enlarging warps are left to bilinear sampling.
    up = np.array([[2.0, 0.0, 0.0], [0.0, 2.0, 0.0]])
    np.testing.assert_array_equal(warp_face(board, up, 32), warp_face(board, up, 32,
                                                                      antialias=False))
