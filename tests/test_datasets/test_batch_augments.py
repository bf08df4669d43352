"""Tests for errkit.datasets.batch_augments (PairedAugmentation, PhotometricJitter)."""

import pytest
import torch

from errkit.datasets.batch_augments import PairedAugmentation, PhotometricJitter
from errkit.landmarks.flip_index import FLIP_INDEX_68

SIZE = 48
#: A few points of a frontal face (subject's right side on the image left):
#: jaw ends, chin, nose tip, eye corners, mouth corners. Far enough apart that a
#: 9x9 window around one holds no other.
FACE_POINTS = {0: (6.0, 16.0), 16: (41.0, 16.0), 8: (23.5, 42.0), 30: (23.5, 26.0),
               36: (12.0, 16.0), 45: (35.0, 16.0), 48: (15.0, 34.0), 54: (32.0, 34.0)}
GEOMETRY = [dict(type="RandomHorizontalFlip", p=0.5),
            dict(type="RandomAffine", degrees=12, translate=(0.05, 0.05), scale=(0.9, 1.1),
                 p=1.0)]


def face_landmarks(batch: int) -> torch.Tensor:
    pts = torch.full((batch, 68, 2), (SIZE - 1) / 2.0)
    for i, xy in FACE_POINTS.items():
        pts[:, i] = torch.tensor(xy)
    return pts


def dot_image(points: torch.Tensor, channels: int = 1, sigma: float = 1.0) -> torch.Tensor:
    """(B, N, 2) points -> (B, C, SIZE, SIZE) images in [-1, 1], a bright blob at each."""
    yy, xx = torch.meshgrid(torch.arange(SIZE, dtype=torch.float32),
                            torch.arange(SIZE, dtype=torch.float32), indexing="ij")
    d2 = (xx - points[..., 0, None, None]) ** 2 + (yy - points[..., 1, None, None]) ** 2
    blobs = torch.exp(-d2 / (2 * sigma ** 2)).amax(dim=1)
    return (blobs * 2 - 1)[:, None].expand(-1, channels, -1, -1).contiguous()


def blob_centre(img: torch.Tensor, near: torch.Tensor, radius: int = 4) -> torch.Tensor:
    """Intensity centroid (x, y) of the blob in a window of ``img`` (H, W) around ``near``."""
    x0, y0 = int(round(float(near[0]))), int(round(float(near[1])))
    ys = slice(max(y0 - radius, 0), min(y0 + radius + 1, SIZE))
    xs = slice(max(x0 - radius, 0), min(x0 + radius + 1, SIZE))
    w = (img[ys, xs] + 1).clamp(min=0)
    yy, xx = torch.meshgrid(torch.arange(SIZE, dtype=torch.float32),
                            torch.arange(SIZE, dtype=torch.float32), indexing="ij")
    total = w.sum()
    assert total > 0.5, f"no blob near {near.tolist()}"
    return torch.stack([(w * xx[ys, xs]).sum() / total, (w * yy[ys, xs]).sum() / total])


def make_batch(batch: int = 4, channels: int = 1, landmark_mask=None, neutral_mask=None):
    pts = face_landmarks(batch)
    img = dot_image(pts[:, list(FACE_POINTS)], channels)
    return {"img": img, "neutral": img.clone(), "landmarks": pts, "neutral_landmarks": pts.clone(),
            "landmark_mask": torch.ones(batch, dtype=torch.bool) if landmark_mask is None
            else torch.tensor(landmark_mask),
            "neutral_mask": torch.ones(batch, dtype=torch.bool) if neutral_mask is None
            else torch.tensor(neutral_mask)}


@pytest.mark.parametrize("channels", [1, 3])
def test_landmarks_land_on_transformed_dots(channels):
    torch.manual_seed(1)
    aug = PairedAugmentation(GEOMETRY[1:])
    batch = make_batch(4, channels)
    out = aug(batch)
    assert out["img"].shape == batch["img"].shape
    for b in range(4):
        for c in range(channels):
            for i in FACE_POINTS:
                centre = blob_centre(out["img"][b, c], out["landmarks"][b, i])
                assert torch.dist(centre, out["landmarks"][b, i]) < 1.0, (b, c, i)
    # the geometry really moved things
    assert (out["landmarks"] - batch["landmarks"]).abs().amax() > 1.0


def test_flip_reindexes_landmarks():
    torch.manual_seed(2)
    aug = PairedAugmentation([dict(type="RandomHorizontalFlip", p=1.0), GEOMETRY[1]])
    batch = make_batch(4)
    out = aug(batch)
    lm = out["landmarks"]
    for b in range(4):
        for i in FACE_POINTS:
            # the blob drawn for point i is now where its mirror partner's index points
            j = FLIP_INDEX_68[i]
            assert torch.dist(blob_centre(out["img"][b, 0], lm[b, j]), lm[b, j]) < 1.0
    # every index keeps its anatomical side on the (still frontal) face
    assert bool((lm[:, 36, 0] < lm[:, 45, 0]).all())
    assert bool((lm[:, 0, 0] < lm[:, 16, 0]).all())
    assert bool((lm[:, 48, 0] < lm[:, 54, 0]).all())
    # a flip alone: exact mirror of the re-indexed points
    plain = PairedAugmentation([dict(type="RandomHorizontalFlip", p=1.0)])(batch)
    expected = batch["landmarks"][:, list(FLIP_INDEX_68)].clone()
    expected[..., 0] = SIZE - 1 - expected[..., 0]
    torch.testing.assert_close(plain["landmarks"], expected)
    torch.testing.assert_close(plain["img"], batch["img"].flip(-1))


def test_mixed_flips_in_one_batch():
    torch.manual_seed(3)
    num = 16
    aug = PairedAugmentation(GEOMETRY)
    pts = face_landmarks(num)
    img = dot_image(pts[:, [36]])  # only the subject's right outer eye corner is marked
    out = aug({"img": img, "landmarks": pts})
    lm = out["landmarks"]
    flipped = []
    for b in range(num):
        bright = {}
        for i in (36, 45):
            x, y = int(lm[b, i, 0].round()), int(lm[b, i, 1].round())
            bright[i] = float(out["img"][b, 0, y - 1:y + 2, x - 1:x + 2].max())
        assert (bright[36] > 0) != (bright[45] > 0), (b, bright)  # exactly one is marked
        marked = 36 if bright[36] > 0 else 45
        assert torch.dist(blob_centre(out["img"][b, 0], lm[b, marked]), lm[b, marked]) < 1.0
        flipped.append(marked == 45)
    assert any(flipped) and not all(flipped)
    assert bool((lm[:, 36, 0] < lm[:, 45, 0]).all())


def test_img_and_neutral_get_identical_geometry():
    torch.manual_seed(4)
    aug = PairedAugmentation(GEOMETRY)
    batch = make_batch(6, 3)
    # a neutral with different content: its own dots at its own (shifted) landmarks
    batch["neutral_landmarks"] = batch["landmarks"] + torch.tensor([1.5, -1.0])
    batch["neutral"] = dot_image(batch["neutral_landmarks"][:, list(FACE_POINTS)], 3)
    same = aug({**batch, "neutral": batch["img"].clone()})
    assert torch.equal(same["img"], same["neutral"])
    torch.manual_seed(4)
    out = aug(batch)
    torch.testing.assert_close(out["img"], same["img"])
    for b in range(6):
        for i in FACE_POINTS:
            p = out["neutral_landmarks"][b, i]
            assert torch.dist(blob_centre(out["neutral"][b, 0], p), p) < 1.0, (b, i)
    # the displacement between the two shapes changed only by the shared similarity
    disp = (out["neutral_landmarks"] - out["landmarks"]).norm(dim=-1)
    assert torch.allclose(disp[:, list(FACE_POINTS)], disp[:, [0]].expand(-1, len(FACE_POINTS)),
                          atol=1e-4)


def test_seed_makes_it_deterministic():
    aug = PairedAugmentation(GEOMETRY)
    batch = make_batch(4)
    torch.manual_seed(5)
    first = aug(batch)
    torch.manual_seed(5)
    second = aug(batch)
    third = aug(batch)
    for key in ("img", "neutral", "landmarks", "neutral_landmarks"):
        assert torch.equal(first[key], second[key]), key
    assert not torch.equal(first["landmarks"], third["landmarks"])


def test_mixed_masks_keep_placeholders():
    torch.manual_seed(6)
    batch = make_batch(4, landmark_mask=[True, False, True, False],
                       neutral_mask=[True, True, False, False])
    batch["landmarks"][1] = 0
    batch["neutral_landmarks"][1:] = 0
    batch["neutral"][2:] = -1
    aug = PairedAugmentation(GEOMETRY)
    out = aug(batch)
    assert torch.equal(out["landmarks"][1], torch.zeros(68, 2))
    assert torch.equal(out["neutral_landmarks"][1:], torch.zeros(3, 68, 2))
    assert torch.equal(out["neutral"][2:], batch["neutral"][2:])
    for b in (0, 2):
        for i in FACE_POINTS:
            p = out["landmarks"][b, i]
            assert torch.dist(blob_centre(out["img"][b, 0], p), p) < 1.0
    assert not torch.equal(out["neutral"][:2], batch["neutral"][:2])
    assert torch.equal(out["landmark_mask"], batch["landmark_mask"])


def test_range_dtype_and_image_only_batch():
    torch.manual_seed(7)
    aug = PairedAugmentation(GEOMETRY + [dict(type="ColorJiggle", brightness=0.5, p=1.0)])
    img = torch.rand(3, 3, SIZE, SIZE, dtype=torch.float64) * 2 - 1
    out = aug({"img": img, "landmark_mask": torch.zeros(3, dtype=torch.bool)})
    assert set(out) == {"img", "landmark_mask"}
    assert out["img"].dtype == torch.float64 and out["img"].shape == img.shape
    assert out["img"].min() >= -1 and out["img"].max() <= 1
    assert out["img"].min() == -1  # zero padding of the affine is black, not grey


def test_rejects_bad_configs():
    with pytest.raises(ValueError, match="NoSuchAugmentation"):
        PairedAugmentation([dict(type="NoSuchAugmentation")])
    with pytest.raises(ValueError, match="non-rigid"):
        PairedAugmentation([dict(type="RandomElasticTransform")])
    with pytest.raises(ValueError, match="mixes samples"):
        PairedAugmentation([dict(type="RandomMixUpV2")])
    with pytest.raises(KeyError, match="type"):
        PairedAugmentation([dict(p=0.5)])
    with pytest.raises(TypeError, match="RandomAffine"):
        PairedAugmentation([dict(type="RandomAffine", no_such_arg=1)])
    with pytest.raises(ValueError, match="flip_index"):
        PairedAugmentation(GEOMETRY, flip_index=[1, 2, 0])


def test_built_from_registry_in_the_preprocessor():
    from errkit.models.data_preprocessors.fer_data_preprocessor import FERDataPreprocessor
    from errkit.structures import FERDataSample

    pre = FERDataPreprocessor(batch_augments=[
        dict(type="PairedAugmentation", augmentations=[dict(type="RandomHorizontalFlip", p=1.0)]),
        dict(type="PhotometricJitter", p=1.0)])
    pts = face_landmarks(2)
    img = ((dot_image(pts[:, list(FACE_POINTS)]) + 1) * 127.5).round().to(torch.uint8)
    samples = [FERDataSample(metainfo=dict(has_neutral=True, has_landmarks=True))
               for _ in range(2)]
    data = {"inputs": {"img": list(img), "neutral": list(img.clone()), "landmarks": list(pts),
                       "neutral_landmarks": list(pts.clone())}, "data_samples": samples}
    out = pre(data, training=True)["inputs"]
    assert out["img"].dtype == torch.float32
    assert bool((out["landmarks"][:, 36, 0] < out["landmarks"][:, 45, 0]).all())
    torch.testing.assert_close(out["landmarks"][:, 36, 0], SIZE - 1 - pts[:, 45, 0])
    torch.testing.assert_close(out["img"], out["neutral"])


# ------------------------------------------------------------------ PhotometricJitter


@pytest.mark.parametrize("channels", [1, 3])
def test_jitter_shares_parameters_with_neutral(channels):
    torch.manual_seed(8)
    img = torch.rand(5, channels, 16, 16) * 0.8 - 0.4
    neutral = torch.rand(5, channels, 16, 16) * 0.8 - 0.4
    jitter = PhotometricJitter(brightness=0.2, contrast=0, gamma=0, noise_std=0, p=1.0)
    out = jitter({"img": img, "neutral": neutral})
    shift_img = (out["img"] - img).flatten(1)
    shift_neutral = (out["neutral"] - neutral).flatten(1)
    # one brightness shift per sample, the same for face and neutral
    torch.testing.assert_close(shift_img, shift_img[:, :1].expand_as(shift_img))
    torch.testing.assert_close(shift_img, shift_neutral)
    assert shift_img[:, 0].abs().min() > 0 and shift_img[:, 0].std() > 0
    # so the residual is unchanged
    torch.testing.assert_close(out["img"] - out["neutral"], img - neutral)


def test_jitter_all_operations_identical_for_identical_images():
    torch.manual_seed(9)
    img = torch.rand(4, 3, 16, 16) * 2 - 1
    out = PhotometricJitter(noise_std=0.05, p=1.0)({"img": img, "neutral": img.clone()})
    assert torch.equal(out["img"], out["neutral"])
    assert not torch.equal(out["img"], img)
    assert out["img"].min() >= -1 and out["img"].max() <= 1


def test_jitter_independent_when_configured_and_masked_neutral_untouched():
    torch.manual_seed(10)
    img = torch.rand(4, 1, 16, 16) * 2 - 1
    jitter = PhotometricJitter(p=1.0, same_for_neutral=False)
    out = jitter({"img": img, "neutral": img.clone(),
                  "neutral_mask": torch.tensor([True, True, False, True])})
    for b in (0, 1, 3):
        assert not torch.equal(out["img"][b], out["neutral"][b])
    assert torch.equal(out["neutral"][2], img[2])


def test_jitter_seed_dtype_and_image_only():
    jitter = PhotometricJitter(p=0.7)
    img = (torch.rand(3, 1, 12, 12, dtype=torch.float64) * 2 - 1)
    torch.manual_seed(11)
    a = jitter({"img": img})
    torch.manual_seed(11)
    b = jitter({"img": img})
    assert torch.equal(a["img"], b["img"]) and a["img"].dtype == torch.float64
    assert set(a) == {"img"}
    with pytest.raises(ValueError, match="disabled"):
        PhotometricJitter(brightness=0, contrast=0, gamma=0, noise_std=0)
    with pytest.raises(ValueError, match="brightness"):
        PhotometricJitter(brightness=1.5)
