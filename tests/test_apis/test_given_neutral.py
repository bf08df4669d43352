"""Given-neutral inference: ExpressionRemover.predict(face, neutral=ref) and errkit infer --neutral.

Real Yale photos (beside the checkout; skipped when absent) and dlib's real detector;
the model is a tiny ERR-Net whose landmark branch reads the faces' own points.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from PIL import Image

from errkit.apis.expression_remover import ExpressionRemover
from errkit.cli.infer import main as infer_main
from tests.helpers import (LANDMARK_RESIDUAL, PIXEL_RESIDUAL, errnet_fields,
                           save_mmengine_checkpoint, write_tiny_config)

pytest.importorskip("dlib")


def _landmark_model(**options) -> dict:
    """A tiny ERR-Net whose landmark branch reads the faces' own points."""
    return errnet_fields(residuals=(PIXEL_RESIDUAL,
                                    dict(LANDMARK_RESIDUAL, type="DetectedLandmarkResidual")),
                         use_encoder_features_in_head=True, fusion_norm="branch", **options)


@pytest.fixture(scope="module")
def landmark_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("given")
    config = write_tiny_config(folder, model=_landmark_model(train_cfg=dict(neutral="given")))
    return config, save_mmengine_checkpoint(config, folder / "epoch_1.pth")


def test_given_neutral_changes_recognition_not_removal(landmark_model, yale_dir):
    config, checkpoint = landmark_model
    remover = ExpressionRemover(str(config), str(checkpoint), detector="dlib")
    face = yale_dir / "01_happy.png"
    single = remover(face).faces[0]
    given = remover(face, neutral=yale_dir / "01_normal.png").faces[0]
    assert single.neutral_mode == "generated" and given.neutral_mode == "given"
    assert given.to_dict()["neutral_mode"] == "given"
    # the generated neutral and residual do not depend on the reference photo
    np.testing.assert_array_equal(single.neutral, given.neutral)
    assert not np.allclose(list(single.probabilities.values()),
                           list(given.probabilities.values()))
    # the face itself as its own neutral: a zero landmark residual, other scores again
    itself = remover(face, neutral=face).faces[0]
    assert not np.allclose(list(itself.probabilities.values()),
                           list(given.probabilities.values()))


def test_a_bad_neutral_photo_is_refused_with_its_name(landmark_model, yale_dir, tmp_path):
    config, checkpoint = landmark_model
    remover = ExpressionRemover(str(config), str(checkpoint), detector="dlib")
    blank = tmp_path / "blank.png"
    Image.fromarray(np.full((120, 100), 90, np.uint8)).save(blank)
    with pytest.raises(ValueError, match="blank.png: no face found"):
        remover(yale_dir / "01_happy.png", neutral=blank)
    with pytest.raises(ValueError, match="cannot be read"):
        remover(yale_dir / "01_happy.png", neutral=tmp_path / "missing.png")


def test_models_that_did_not_learn_from_given_neutrals_warn(tmp_path, yale_dir):
    config = write_tiny_config(tmp_path, model=_landmark_model())
    checkpoint = save_mmengine_checkpoint(config, tmp_path / "epoch_1.pth")
    remover = ExpressionRemover(str(config), str(checkpoint), detector="dlib")
    with pytest.warns(UserWarning, match="learned from generated neutral faces"):
        remover(yale_dir / "01_happy.png", neutral=yale_dir / "01_normal.png")
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # said once
        remover(yale_dir / "02_happy.png", neutral=yale_dir / "02_normal.png")


def test_landmark_models_need_a_detector(landmark_model, yale_dir):
    config, checkpoint = landmark_model
    remover = ExpressionRemover(str(config), str(checkpoint), detector=None)
    result = remover(yale_dir / "01_happy.png")
    assert result.error and "landmark detector" in result.error


def test_infer_command_with_a_neutral_photo(landmark_model, yale_dir, tmp_path, capsys):
    config, checkpoint = landmark_model
    out = tmp_path / "out"
    code = infer_main([str(config), str(checkpoint), str(yale_dir / "03_surprised.png"),
                       "--out", str(out), "--detector", "dlib",
                       "--neutral", str(yale_dir / "03_normal.png")])
    assert code == 0
    summary = json.loads((out / "results.json").read_text())
    assert summary["neutral"].endswith("03_normal.png")
    assert summary["images"][0]["faces"][0]["neutral_mode"] == "given"
    assert (out / "03_surprised.png").is_file()
    with pytest.raises(SystemExit):
        infer_main([str(config), str(checkpoint), str(yale_dir / "03_surprised.png"),
                    "--out", str(out), "--neutral", str(tmp_path / "nope.png")])
    assert "--neutral" in capsys.readouterr().err
