"""Tests for errkit.landmarks.flip_index."""

import numpy as np
import pytest
import torch

from errkit.landmarks.flip_index import FLIP_INDEX_68, flip_landmarks


def frontal_face(width: int = 64) -> np.ndarray:
    """A left-right symmetric 68-point frontal face in a ``width``-pixel image.

    Written point by point from the iBUG layout (the subject's right side on the
    image left), independently of FLIP_INDEX_68.
    """
    cx = (width - 1) / 2.0
    s = width / 64.0
    pts = np.zeros((68, 2), dtype=np.float64)

    def mirror(i):
        return (2 * cx - pts[i, 0], pts[i, 1])

    for k in range(17):                                   # jaw, image left -> chin -> right
        t = np.pi * k / 16
        pts[k] = (cx - 24 * s * np.cos(t), 22 * s + 26 * s * np.sin(t))
    for i in range(5):                                    # right brow, outer -> inner
        pts[17 + i] = (cx - (20 - 4 * i) * s, (17 - 2 * np.sin(np.pi * i / 4)) * s)
    for i in range(5):                                    # left brow, inner -> outer
        pts[22 + i] = mirror(21 - i)
    for i in range(4):                                    # nose bridge, top -> tip
        pts[27 + i] = (cx, (22 + 4 * i) * s)
    for i in range(5):                                    # nostrils, image left -> right
        pts[31 + i] = (cx + (i - 2) * 3 * s, 37 * s + abs(i - 2) * -0.5 * s)
    ex, ey = cx - 11 * s, 23 * s                          # subject's right eye
    eye = [(-5, 0), (-2, -2), (2, -2), (5, 0), (2, 2), (-2, 2)]   # 36 outer .. 39 inner .. 41
    for i, (dx, dy) in enumerate(eye):
        pts[36 + i] = (ex + dx * s, ey + dy * s)
    for i, j in enumerate([39, 38, 37, 36, 41, 40]):      # 42 inner, 43, 44, 45 outer, 46, 47
        pts[42 + i] = mirror(j)
    my = 46 * s
    pts[48] = (cx - 9 * s, my)                            # right mouth corner
    pts[49] = (cx - 6 * s, my - 3 * s)
    pts[50] = (cx - 3 * s, my - 4 * s)
    pts[51] = (cx, my - 3.5 * s)
    pts[52], pts[53], pts[54] = mirror(50), mirror(49), mirror(48)
    pts[55] = (cx + 6 * s, my + 3 * s)                    # lower lip, image right -> left
    pts[56] = (cx + 3 * s, my + 4 * s)
    pts[57] = (cx, my + 4.5 * s)
    pts[58], pts[59] = mirror(56), mirror(55)
    pts[60] = (cx - 7 * s, my)                            # inner lips
    pts[61] = (cx - 3 * s, my - 1.5 * s)
    pts[62] = (cx, my - 1.5 * s)
    pts[63], pts[64] = mirror(61), mirror(60)
    pts[65] = (cx + 3 * s, my + 1.5 * s)
    pts[66] = (cx, my + 1.5 * s)
    pts[67] = mirror(65)
    return pts


def test_flip_index_is_an_involution():
    index = np.asarray(FLIP_INDEX_68)
    assert index.shape == (68,)
    assert sorted(index.tolist()) == list(range(68))
    np.testing.assert_array_equal(index[index], np.arange(68))
    with pytest.raises(ValueError):
        FLIP_INDEX_68[0] = 0  # read-only, so nobody can corrupt the shared map


def test_flip_index_pairs_and_fixed_points():
    expected_pairs = {0: 16, 7: 9, 17: 26, 21: 22, 31: 35, 32: 34, 36: 45, 39: 42, 40: 47,
                      41: 46, 48: 54, 50: 52, 55: 59, 56: 58, 60: 64, 61: 63, 65: 67}
    for a, b in expected_pairs.items():
        assert FLIP_INDEX_68[a] == b and FLIP_INDEX_68[b] == a
    fixed = [i for i in range(68) if FLIP_INDEX_68[i] == i]
    assert fixed == [8, 27, 28, 29, 30, 33, 51, 57, 62, 66]


@pytest.mark.parametrize("width", [64, 65])
def test_flip_of_symmetric_face_is_itself(width):
    face = frontal_face(width)
    np.testing.assert_allclose(flip_landmarks(face, width), face, atol=1e-9)
    mirrored_pairs = face[FLIP_INDEX_68] * (-1, 1) + (width - 1, 0)
    np.testing.assert_allclose(mirrored_pairs, face, atol=1e-9)
    # the mirrored coordinates without re-indexing are not a valid face
    mirrored = face.copy()
    mirrored[:, 0] = width - 1 - mirrored[:, 0]
    assert mirrored[36, 0] > mirrored[45, 0]


def test_flip_numpy_and_torch_agree_and_twice_is_identity():
    rng = np.random.default_rng(0)
    pts = rng.uniform(0, 50, size=(3, 68, 2)).astype(np.float32)
    original = pts.copy()
    once = flip_landmarks(pts, 50)
    np.testing.assert_allclose(flip_landmarks(once, 50), pts, atol=1e-5)
    # point 36 moves to where 45 was mirrored
    np.testing.assert_allclose(once[:, 36], np.stack([49 - pts[:, 45, 0], pts[:, 45, 1]], -1))
    out_t = flip_landmarks(torch.from_numpy(pts), 50)
    assert isinstance(out_t, torch.Tensor) and out_t.dtype == torch.float32
    np.testing.assert_allclose(out_t.numpy(), once, atol=1e-6)
    np.testing.assert_array_equal(pts, original)  # the input is not modified


def test_flip_rejects_wrong_shape():
    with pytest.raises(ValueError, match=r"\(\.\.\., 68, 2\)"):
        flip_landmarks(np.zeros((5, 2)), 10)
