"""ExpressionRemover: every kind of input, detection, batch robustness, checkpoint checks."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from errkit.apis.expression_remover import (CheckpointMismatchError, ExpressionRemover,
                                            FaceResult, ImageResult, class_names_from_config,
                                            to_image_array)
from errkit.datasets.ckplus_dataset import CKPLUS_CLASSES_6, CKPLUS_CLASSES_7
from errkit.engine.checkpoint import CheckpointError
from tests.helpers import (CHECKPOINT_CLASSES, LANDMARK_RESIDUAL, PIXEL_RESIDUAL, errnet_fields,
                           save_mmengine_checkpoint, write_tiny_config)

SIZE = 64  # write_tiny_config's inference faces: aligned to 64 px, grey


def _errnet(decoder_channels: int = 8, landmark: dict = LANDMARK_RESIDUAL) -> dict:
    """A tiny ERR-Net with a pixel and a landmark residual branch."""
    return errnet_fields(decoder_channels, residuals=(PIXEL_RESIDUAL, landmark))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny")
    config = write_tiny_config(folder, model=_errnet())
    return config, save_mmengine_checkpoint(config, folder / "epoch_1.pth")


@pytest.fixture(scope="module")
def remover(tiny):
    return ExpressionRemover(str(tiny[0]), str(tiny[1]), detector=None)


def _check_face(face: FaceResult, channels: int = 1, classes=CHECKPOINT_CLASSES) -> None:
    assert isinstance(face, FaceResult)
    assert tuple(face.probabilities) == classes
    assert sum(face.probabilities.values()) == pytest.approx(1.0, abs=1e-5)
    assert face.label == max(face.probabilities, key=face.probabilities.get)
    assert face.aligned_face.shape == (SIZE, SIZE, channels)
    assert face.aligned_face.dtype == np.uint8
    assert face.neutral.shape == (SIZE, SIZE, channels) and face.neutral.dtype == np.uint8
    assert face.residual.shape == (SIZE, SIZE, channels) and face.residual.dtype == np.float32
    assert face.segment_activations.shape == (len(classes),)
    assert face.box.shape == (4,)


def test_every_kind_of_input(remover, tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "odd.png"
    Image.fromarray(rng.integers(0, 255, (37, 53), dtype=np.uint8)).save(path)
    inputs = [str(path), path,
              rng.integers(0, 255, (41, 29), dtype=np.uint8),
              rng.integers(0, 255, (23, 70, 1), dtype=np.uint8),
              rng.integers(0, 255, (50, 61, 3), dtype=np.uint8),
              torch.rand(3, 45, 39), torch.randint(0, 255, (31, 33), dtype=torch.uint8),
              Image.fromarray(rng.integers(0, 255, (20, 30, 3), dtype=np.uint8))]
    results = remover(inputs)
    assert len(results) == len(inputs)
    for result, item in zip(results, inputs):
        assert isinstance(result, ImageResult) and result.ok, result.error
        assert len(result) == 1 and "aligned face" in result.warning
        _check_face(result[0])
        h, w = result.image.shape[:2]
        assert result[0].box.tolist() == [0, 0, w, h] and result[0].landmarks is None
    assert results[0].source == str(path)
    assert results[2].source == "<ndarray 2>"
    # a single input gives a single result, equal to its batched result
    single = remover(inputs[4])
    assert isinstance(single, ImageResult)
    np.testing.assert_allclose(single[0].residual, results[4][0].residual, atol=1e-5)
    # a 4-D batch is a list of images
    assert len(remover(torch.rand(3, 1, 40, 40))) == 3


def test_to_image_array_conversions():
    rgb = np.zeros((4, 5, 3), np.uint8)
    rgb[..., 0] = 255
    assert to_image_array(rgb, "grey").shape == (4, 5, 1)
    assert to_image_array(rgb, "grey")[0, 0, 0] == 76  # luma of pure red
    assert to_image_array(np.ones((4, 5)), "color").tolist()[0][0] == [255, 255, 255]
    assert to_image_array(torch.zeros(4, 2, 3), "grey").shape == (2, 3, 1)  # RGBA (C, H, W)
    with pytest.raises(ValueError, match="shape"):
        to_image_array(np.zeros((4, 5, 2), np.uint8))
    with pytest.raises(TypeError):
        to_image_array({"not": "an image"})


def test_bad_inputs_are_reported_and_the_rest_processed(remover, tmp_path):
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\n this is not a png")
    missing = tmp_path / "missing.jpg"
    results = remover([corrupt, np.zeros((30, 30), np.uint8), missing, {"x": 1},
                       np.zeros((5, 5, 2), np.uint8)])
    assert [r.ok for r in results] == [False, True, False, False, False]
    assert str(corrupt) in results[0].error and "cannot read image" in results[0].error
    assert str(missing) in results[2].error and "does not exist" in results[2].error
    assert "dict" in results[3].error and "shape" in results[4].error
    assert all(len(r) == 0 for r in results if not r.ok) and len(results[1]) == 1


def test_class_names(tiny, tmp_path):
    from errkit.cli.common import load_config

    cfg = load_config(str(tiny[0]))
    assert class_names_from_config(cfg, 7) == CKPLUS_CLASSES_7  # SyntheticCKPlusDataset
    cfg.test_dataloader.dataset.num_classes = 6
    assert class_names_from_config(cfg, 6) == CKPLUS_CLASSES_6
    cfg.test_dataloader.dataset.classes = ("x", "y", "z")
    assert class_names_from_config(cfg, 3) == ("x", "y", "z")
    assert class_names_from_config(cfg, 4) == ("class_0", "class_1", "class_2", "class_3")
    # without dataset_meta in the checkpoint the config's names are used
    ckpt = save_mmengine_checkpoint(tiny[0], tmp_path / "no_meta.pth", classes=None)
    assert ExpressionRemover(str(tiny[0]), str(ckpt), detector=None).classes == CKPLUS_CLASSES_7


def test_timm_classifier_has_no_removal_outputs(tmp_path):
    config = write_tiny_config(tmp_path, "baselines/timm_classifier_synthetic.py",
                               model=dict(model_name="resnet10t"))
    ckpt = save_mmengine_checkpoint(config, tmp_path / "cls.pth")
    remover = ExpressionRemover(str(config), str(ckpt), aligned=True)
    assert remover.detector is None
    face = remover(np.zeros((70, 50, 3), np.uint8))[0]
    assert face.neutral is None and face.residual is None and face.segment_activations is None
    assert sum(face.probabilities.values()) == pytest.approx(1.0, abs=1e-5)
    assert face.aligned_face.shape == (SIZE, SIZE, 1)


def test_checkpoint_mismatch_names_config_checkpoint_and_keys(tiny, tmp_path):
    other = write_tiny_config(tmp_path, model=_errnet(decoder_channels=16))
    with pytest.raises(CheckpointMismatchError) as info:
        ExpressionRemover(str(other), str(tiny[1]), detector=None)
    message = str(info.value)
    assert str(other) in message and str(tiny[1]) in message
    assert "generator.decoder" in message and "another shape" in message
    # a model with another residual set: missing and unexpected keys
    fewer = write_tiny_config(tmp_path, name="fewer.py",
                              model=_errnet(landmark=dict(LANDMARK_RESIDUAL, source="encoder")))
    with pytest.raises(CheckpointMismatchError, match="unexpected keys.*residuals.1"):
        ExpressionRemover(str(fewer), str(tiny[1]), detector=None)


def test_checkpoint_without_discriminator_loads(tiny, tmp_path):
    ckpt = torch.load(tiny[1], weights_only=False)
    state = {k: v for k, v in ckpt["state_dict"].items() if not k.startswith("discriminator.")}
    torch.save({"state_dict": {f"module.{k}": v for k, v in state.items()}}, tmp_path / "g.pth")
    remover = ExpressionRemover(str(tiny[0]), str(tmp_path / "g.pth"), detector=None)
    loaded = remover.model.state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in state.items() if torch.is_tensor(v))


def test_unsafe_or_missing_checkpoints_are_refused(tiny, tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        ExpressionRemover(str(tiny[0]), str(tmp_path / "nope.pth"), detector=None)
    evil = tmp_path / "evil.pth"
    torch.save({"state_dict": {}, "meta": {"hook": pickle.loads}}, evil)
    with pytest.raises(CheckpointError, match="refused"):
        ExpressionRemover(str(tiny[0]), str(evil), detector=None)


def test_missing_config_is_reported(tmp_path):
    from errkit.cli.common import ConfigNotFoundError

    with pytest.raises(ConfigNotFoundError, match="no_such_config"):
        ExpressionRemover(str(tmp_path / "no_such_config.py"), detector=None)


def test_auto_detector_falls_back_with_a_warning(tiny, monkeypatch):
    import errkit.apis.expression_remover as module
    from errkit.landmarks.detectors import DetectorUnavailableError

    def unavailable(cfg):
        raise DetectorUnavailableError("no dlib here")

    monkeypatch.setattr(module, "build_landmark_detector", unavailable)
    with pytest.warns(UserWarning, match="no dlib here"):
        remover = ExpressionRemover(str(tiny[0]), str(tiny[1]), detector="auto")
    assert remover.detector is None
    result = remover(np.zeros((40, 40), np.uint8))
    assert len(result) == 1 and "dlib unavailable" in result.warning


def test_detection_on_yale_faces_with_dlib(tiny, tmp_path, yale_dir):
    happy, surprised = (np.asarray(Image.open(yale_dir / name).convert("L"))
                        for name in ("01_happy.png", "02_surprised.png"))
    from errkit.landmarks.detectors import DetectorUnavailableError

    try:
        remover = ExpressionRemover(str(tiny[0]), str(tiny[1]), detector="dlib")
    except DetectorUnavailableError as exc:
        pytest.skip(str(exc))
    corrupt = tmp_path / "broken.jpg"
    corrupt.write_bytes(b"\xff\xd8\xff\xe0 truncated")
    height = min(happy.shape[0], surprised.shape[0])
    pair = np.concatenate([happy[:height], surprised[:height]], axis=1)  # two faces
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # detection ran: no fallback warning
        results = remover([str(yale_dir / "01_happy.png"), np.full((90, 120), 200, np.uint8),
                           corrupt, pair])
    face, blank, broken, two = results
    assert len(face) == 1 and face.ok and face.warning is None
    _check_face(face[0])
    h, w = face.image.shape[:2]
    points = face[0].landmarks
    assert points.shape == (68, 2)
    assert (points[:, 0] > -5).all() and (points[:, 0] < w + 5).all()
    assert (points[:, 1] > -5).all() and (points[:, 1] < h + 5).all()
    np.testing.assert_allclose(face[0].box, [*points.min(0), *points.max(0)])
    # the aligned eyes sit on the canonical template's eyes
    from errkit.landmarks.mean_shape import canonical_landmarks, eye_centres

    got, want = eye_centres(face[0].aligned_landmarks), eye_centres(canonical_landmarks(SIZE))
    np.testing.assert_allclose(np.stack(got), np.stack(want), atol=1e-3)
    assert blank.ok and len(blank) == 0 and "no face found" in blank.warning
    assert not broken.ok and str(corrupt) in broken.error
    assert two.ok and len(two) == 2
    assert two[0].box[0] < w <= two[1].box[0] or two[1].box[0] < w <= two[0].box[0]
