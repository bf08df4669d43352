"""Checkpoints say what data trained them; a synthetic-only model warns on real photos, and
a model without a neutral class says that a neutral face is forced into an expression.

Both models are trained here for a few iterations (``errkit train --smoke``): one on the
synthetic faces, one on a CK+ tree read by the real CK+ loader.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from errkit.apis import ExpressionRemover
from errkit.apis.training_domain import OutOfDomainWarning, no_neutral_note
from errkit.cli import main
from errkit.cli.infer import main as infer_main
from errkit.datasets.ckplus_dataset import CKPLUS_CLASSES_7
from errkit.synthetic import is_synthetic_image
from tests.helpers import (TINY_CKPLUS, TINY_SYNTHETIC, YALE_DIR, write_bar_ckplus,
                           write_tiny_config)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two tiny smoke runs: (config, work dir, data root) of the synthetic and the CK+ one."""
    root = tmp_path_factory.mktemp("domain")
    synthetic = write_tiny_config(root, data=TINY_SYNTHETIC, name="tiny_errnet.py")
    main(["train", str(synthetic), "--smoke", "--data-root", str(root / "faces"),
          "--work-dir", str(root / "synthetic_run")])
    write_bar_ckplus(root / "ckplus", subjects=12, size=32, frames=4)
    ckplus = write_tiny_config(root, "errnet_ckplus.py", data=TINY_CKPLUS, name="tiny_ckplus.py")
    main(["train", str(ckplus), "--smoke", "--data-root", str(root / "ckplus"),
          "--work-dir", str(root / "ckplus_run")])
    return {"synthetic": (synthetic, root / "synthetic_run", root / "faces"),
            "ckplus": (ckplus, root / "ckplus_run", root / "ckplus")}


@pytest.fixture()
def real_photo(tmp_path) -> Path:
    """A photo of a real face when the Yale faces are there, else any image outside a set."""
    if YALE_DIR.is_dir():
        return YALE_DIR / "01_happy.png"
    path = tmp_path / "photo.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (60, 50), np.uint8)).save(path)
    return path


def _synthetic_face(faces: Path) -> Path:
    return sorted((faces / "cohn-kanade-images").rglob("*.png"))[-1]


def test_checkpoints_record_the_training_data(runs):
    for name, kind, synthetic in (("synthetic", "SyntheticCKPlusDataset", True),
                                  ("ckplus", "CKPlusDataset", False)):
        _, work_dir, data = runs[name]
        meta = torch.load(work_dir / "epoch_1.pth", weights_only=False)["meta"]
        described = meta["training_data"]
        assert described["synthetic"] is synthetic
        assert described["classes"] == list(CKPLUS_CLASSES_7)
        (dataset,) = described["datasets"]
        assert dataset["type"] == kind and dataset["data_root"] == str(data)
        assert dataset["num_samples"] == 32 and dataset["synthetic"] is synthetic


def test_a_synthetic_model_warns_once_on_real_photos_only(runs, real_photo):
    config, work_dir, faces = runs["synthetic"]
    remover = ExpressionRemover(str(config), str(work_dir), detector=None)
    assert remover.synthetic_only and remover.training_data["synthetic"]
    face = _synthetic_face(faces)
    assert is_synthetic_image(face) and not is_synthetic_image(real_photo)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a face of the synthetic set: no warning
        own = remover(str(face))
    assert own.notes == [no_neutral_note(remover.classes)] and remover.domain_warning is None
    with pytest.warns(OutOfDomainWarning) as caught:
        results = remover([str(real_photo), np.zeros((40, 40), np.uint8), str(face)])
    assert len(caught) == 1  # once per remover, however many real photos
    message = str(caught[0].message)
    assert "synthetic faces only" in message and "SyntheticCKPlusDataset" in message
    assert "out of domain" in message and "\n" not in message
    photo, array, synthetic = results
    assert remover.domain_warning in photo.notes and remover.domain_warning in array.notes
    assert remover.domain_warning not in synthetic.notes


def test_a_model_trained_on_real_data_does_not_warn(runs, real_photo):
    config, work_dir, _ = runs["ckplus"]
    remover = ExpressionRemover(str(config), str(work_dir), detector=None)
    assert not remover.synthetic_only
    with warnings.catch_warnings():
        warnings.simplefilter("error", OutOfDomainWarning)
        result = remover(str(real_photo))
    assert remover.domain_warning is None and result.notes == remover.notes


def test_infer_says_it_once_and_writes_it_to_the_figure_and_json(runs, real_photo, tmp_path,
                                                                capsys):
    config, work_dir, _ = runs["synthetic"]
    out = tmp_path / "out"
    second = tmp_path / "second.png"
    Image.fromarray(np.full((50, 50), 90, np.uint8)).save(second)
    code = infer_main([str(config), str(work_dir / "last_checkpoint"), str(real_photo),
                       str(second), "--out", str(out), "--detector", "none"])
    assert code == 0
    err = capsys.readouterr().err
    warned = [ln for ln in err.splitlines() if "synthetic faces only" in ln]
    assert len(warned) == 1 and warned[0].startswith("warning: this model was trained")
    assert "note: the classes have no 'neutral'" in err
    summary = json.loads((out / "results.json").read_text())
    assert summary["training_data"]["synthetic"] is True
    assert summary["notes"][0] == warned[0][len("warning: "):]
    assert "a neutral face is forced into one of the expressions" in summary["notes"][1]
    assert all(len(entry["notes"]) == 2 for entry in summary["images"])
    assert summary["residual_scale"] == "fixed"
    with Image.open(out / f"{real_photo.stem}.png") as figure:
        assert figure.format == "PNG"


def test_no_neutral_note_only_without_a_neutral_class():
    assert no_neutral_note(("anger", "happy")).startswith("the classes have no 'neutral'")
    assert no_neutral_note(("Neutral", "happy")) is None
