import cv2
import numpy as np
import pytest

from errkit.datasets.transforms.align_face import AlignFace
from errkit.landmarks.mean_shape import canonical_landmarks, eye_centres
from errkit.registry import TRANSFORMS


def _shape(angle_deg, scale, shift):
    base = canonical_landmarks(100).astype(np.float64)
    t = np.deg2rad(angle_deg)
    rot = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    return (base @ rot.T * scale + np.asarray(shift)).astype(np.float32)


def _dot_image(shape, point, channels):
    img = np.zeros(shape + (channels,), np.uint8)
    cv2.circle(img, tuple(int(v) for v in np.round(point)), 3, (255,) * channels, -1)
    return img


def _centroid(img):
    ys, xs = np.nonzero(img[..., 0] > 0)
    w = img[ys, xs, 0].astype(np.float64)
    return np.array([np.average(xs, weights=w), np.average(ys, weights=w)])


@pytest.mark.parametrize("channels", [1, 3])
def test_aligns_img_and_neutral_each_by_its_own_landmarks(channels):
    lm = np.round(_shape(10, 1.5, (40, 30)))
    nlm = np.round(_shape(-8, 1.2, (20, 50)))
    results = {
        "img": _dot_image((250, 230), lm[30], channels), "landmarks": lm.copy(),
        "neutral": _dot_image((240, 200), nlm[30], channels), "neutral_landmarks": nlm.copy(),
    }
    out = AlignFace(size=96)(results)
    want = np.stack(eye_centres(canonical_landmarks(96)))
    for img_key, lm_key in (("img", "landmarks"), ("neutral", "neutral_landmarks")):
        assert out[img_key].shape == (96, 96, channels) and out[img_key].dtype == np.uint8
        assert out[lm_key].dtype == np.float32 and out[lm_key].shape == (68, 2)
        np.testing.assert_allclose(np.stack(eye_centres(out[lm_key])), want, atol=1e-3)
        np.testing.assert_allclose(_centroid(out[img_key]), out[lm_key][30], atol=0.5)
    assert out["img_shape"] == (96, 96)


def test_without_landmarks_centre_crops_and_resizes():
    img = np.zeros((100, 160, 1), np.uint8)
    img[:, 30:130] = 200  # the centre square
    out = AlignFace(size=50)({"img": img, "landmarks": None})
    assert out["img"].shape == (50, 50, 1)
    assert (out["img"] == 200).all()
    assert out["landmarks"] is None and out["img_shape"] == (50, 50)


def test_use_landmarks_false_scales_landmarks():
    lm = np.round(_shape(0, 1.0, (60, 10)))
    img = _dot_image((100, 160), lm[30], 1)
    out = AlignFace(size=50, use_landmarks=False)({"img": img, "landmarks": lm.copy()})
    # centre crop x in [30, 130), scale 0.5
    np.testing.assert_allclose(out["landmarks"], (lm - [30, 0] + 0.5) * 0.5 - 0.5, atol=1e-4)
    np.testing.assert_allclose(_centroid(out["img"]), out["landmarks"][30], atol=0.5)


def test_neutral_without_landmarks_is_resized_and_img_aligned():
    lm = _shape(5, 1.3, (30, 30))
    results = {"img": np.zeros((200, 200, 1), np.uint8), "landmarks": lm,
               "neutral": np.zeros((120, 90, 1), np.uint8), "neutral_landmarks": None}
    out = AlignFace(size=64)(results)
    assert out["neutral"].shape == (64, 64, 1) and out["neutral_landmarks"] is None
    np.testing.assert_allclose(np.stack(eye_centres(out["landmarks"])),
                               np.stack(eye_centres(canonical_landmarks(64))), atol=1e-3)


def test_registry_repr_and_errors():
    t = TRANSFORMS.build(dict(type="AlignFace", size=32))
    assert isinstance(t, AlignFace) and repr(t) == "AlignFace(size=32, use_landmarks=True, neutral_alignment='own')"
    with pytest.raises(KeyError, match="img"):
        t({"landmarks": None})
    with pytest.raises(ValueError):
        AlignFace(size=0)


def test_image_alignment_keeps_pixel_correspondence_of_a_still_camera():
    # Two frames of one still camera: the "expression" raised the upper lids, which moves
    # the eye centres. Aligned each by its own eyes, the unchanged background shifts
    # between the crops; warped by the face's transform it stays put pixel for pixel.
    rng = np.random.default_rng(0)
    scene = cv2.GaussianBlur(rng.random((240, 240)).astype(np.float32), (0, 0), 2)
    frame = (scene * 255).astype(np.uint8)[..., None]
    neutral_lm = _shape(4, 1.0, (40, 50))
    expressive_lm = neutral_lm.copy()
    expressive_lm[[37, 38, 43, 44], 1] -= 6.0
    results = {"img": frame.copy(), "landmarks": expressive_lm,
               "neutral": frame.copy(), "neutral_landmarks": neutral_lm}
    own = AlignFace(size=48)(dict(results))
    shared = AlignFace(size=48, neutral_alignment="image")(dict(results))
    assert np.array_equal(shared["img"], shared["neutral"])
    assert np.abs(own["img"].astype(int) - own["neutral"].astype(int)).max() > 5
    # The neutral's landmarks follow the face's transform: unmoved points coincide.
    np.testing.assert_allclose(shared["landmarks"][:36], shared["neutral_landmarks"][:36],
                               atol=1e-6)
    with pytest.raises(ValueError, match="neutral_alignment"):
        AlignFace(neutral_alignment="neutral")

