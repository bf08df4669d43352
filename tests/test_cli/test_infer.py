"""``errkit infer``: figures and results.json, exit codes, clear messages."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from errkit.cli.infer import collect_images, main
from tests.helpers import (REPO_ROOT, errnet_fields, save_with_orientation, sideways,
                           write_png_bomb, write_tiny_config)

CLASSES = ["anger", "contempt", "disgust", "fear", "happy", "sadness", "surprise"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from errkit.apis.expression_remover import load_inference_model

    folder = tmp_path_factory.mktemp("infer")
    config = write_tiny_config(folder)
    torch.manual_seed(0)
    model, _, _ = load_inference_model(str(config))
    ckpt = folder / "epoch_1.pth"
    torch.save(dict(meta=dict(dataset_meta=dict(classes=tuple(CLASSES))),
                    state_dict=model.state_dict()), ckpt)
    return config, ckpt


def _images(folder: Path) -> list:
    folder.mkdir()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (50, 42), dtype=np.uint8)).save(folder / "grey.png")
    Image.fromarray(rng.integers(0, 255, (33, 61, 3), dtype=np.uint8)).save(folder / "rgb.jpg")
    (folder / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    (folder / "notes.txt").write_text("not an image")
    return sorted(folder.glob("*.png")) + sorted(folder.glob("*.jpg"))


def test_collect_images_expands_folders(tmp_path):
    files = _images(tmp_path / "imgs")
    assert collect_images([str(tmp_path / "imgs"), "x.png"]) == [str(f) for f in files] + ["x.png"]


def test_infer_writes_figures_and_json_and_fails_on_a_bad_image(tiny, tmp_path, capsys):
    _images(tmp_path / "imgs")
    out = tmp_path / "out"
    code = main([str(tiny[0]), str(tiny[1]), str(tmp_path / "imgs"), "--out", str(out),
                 "--detector", "none"])
    captured = capsys.readouterr()
    assert code == 1
    assert "corrupt.png" in captured.err and "cannot read image" in captured.err
    assert sorted(p.name for p in out.iterdir()) == ["grey.png", "results.json", "rgb.png"]
    for name in ("grey.png", "rgb.png"):
        with Image.open(out / name) as figure:
            assert figure.format == "PNG" and figure.width > 600
    summary = json.loads((out / "results.json").read_text())
    assert summary["classes"] == CLASSES and summary["num_failed"] == 1
    assert summary["model"] == "ERRNet" and summary["img_size"] == 64
    by_name = {Path(e["source"]).name: e for e in summary["images"]}
    bad = by_name["corrupt.png"]
    assert bad["faces"] == [] and bad["figure"] is None and "corrupt.png" in bad["error"]
    for name, shape in (("grey.png", [50, 42]), ("rgb.jpg", [33, 61])):
        entry = by_name[name]
        assert entry["error"] is None and entry["image_shape"] == shape
        (face,) = entry["faces"]
        assert sum(face["probabilities"].values()) == pytest.approx(1.0, abs=1e-4)
        assert face["label"] in CLASSES and face["landmarks"] is None
        assert len(face["segment_activations"]) == 7
    assert by_name["rgb.jpg"]["figure"] == "rgb.png"


def test_infer_all_good_exits_zero_and_keeps_same_stems_apart(tiny, tmp_path):
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        Image.fromarray(np.zeros((40, 40), np.uint8)).save(tmp_path / sub / "face.png")
    out = tmp_path / "out"
    code = main([str(tiny[0]), str(tiny[1]), str(tmp_path / "a" / "face.png"),
                 str(tmp_path / "b" / "face.png"), "--out", str(out), "--aligned"])
    assert code == 0
    assert (out / "face.png").is_file() and (out / "face_1.png").is_file()


def test_clear_messages_for_config_and_checkpoint(tiny, tmp_path, capsys):
    image = tmp_path / "x.png"
    Image.fromarray(np.zeros((40, 40), np.uint8)).save(image)
    with pytest.raises(SystemExit) as info:
        main([str(tmp_path / "nowhere.py"), str(tiny[1]), str(image), "--out", str(tmp_path)])
    assert info.value.code == 2
    assert "config file not found" in capsys.readouterr().err
    other = write_tiny_config(tmp_path, model=errnet_fields(decoder_channels=16))
    with pytest.raises(SystemExit) as info:
        main([str(other), str(tiny[1]), str(image), "--out", str(tmp_path), "--aligned"])
    err = capsys.readouterr().err
    assert info.value.code == 2
    assert "does not match" in err and str(other) in err and "generator.decoder" in err
    assert not (tmp_path / "results.json").exists()


def test_infer_detects_yale_faces_and_reports_no_face(tiny, tmp_path, capsys, yale_dir):
    pytest.importorskip("dlib")
    blank = tmp_path / "blank.png"
    Image.fromarray(np.full((80, 100), 128, np.uint8)).save(blank)
    out = tmp_path / "out"
    code = main([str(tiny[0]), str(tiny[1]), str(yale_dir / "03_happy.png"), str(blank),
                 "--out", str(out), "--detector", "dlib"])
    assert code == 0  # no face is a warning, not a failure
    assert "blank.png: no face found" in capsys.readouterr().err
    summary = json.loads((out / "results.json").read_text())
    face_entry, blank_entry = summary["images"]
    assert summary["detector"] == "DlibLandmarkDetector"
    assert len(face_entry["faces"]) == 1
    assert np.asarray(face_entry["faces"][0]["landmarks"]).shape == (68, 2)
    assert blank_entry["faces"] == [] and "no face" in blank_entry["warning"]
    assert (out / "03_happy.png").is_file() and (out / "blank.png").is_file()


def test_infer_refuses_a_decompression_bomb_and_goes_on(tiny, tmp_path, capsys):
    bomb = write_png_bomb(tmp_path / "bomb.png")  # 20000 x 20000 in a few dozen KB
    good = tmp_path / "good.png"
    Image.fromarray(np.zeros((40, 40), np.uint8)).save(good)
    detector = "dlib" if importlib.util.find_spec("dlib") else "none"
    out = tmp_path / "out"
    code = main([str(tiny[0]), str(tiny[1]), str(bomb), str(good), "--out", str(out),
                 "--detector", detector])
    err = capsys.readouterr().err
    assert code == 1
    assert "bomb.png" in err and "20000x20000 pixels" in err and "ERRKIT_MAX_IMAGE_PIXELS" in err
    summary = json.loads((out / "results.json").read_text())
    bad, ok = summary["images"]
    assert "20000x20000" in bad["error"] and ok["error"] is None


def test_infer_finds_the_face_of_a_sideways_photo(tiny, tmp_path, capsys, yale_dir):
    pytest.importorskip("dlib")
    upright = np.asarray(Image.open(yale_dir / "03_happy.png").convert("L"))
    photo = save_with_orientation(tmp_path / "sideways.jpg", sideways(upright, 6), 6,
                                  quality=95)
    out = tmp_path / "out"
    code = main([str(tiny[0]), str(tiny[1]), str(photo), "--out", str(out),
                 "--detector", "dlib"])
    assert code == 0
    assert "no face" not in capsys.readouterr().err
    (entry,) = json.loads((out / "results.json").read_text())["images"]
    assert entry["image_shape"] == list(upright.shape) and len(entry["faces"]) == 1


@pytest.mark.slow
def test_tools_infer_script(tiny, tmp_path):
    image = tmp_path / "x.png"
    Image.fromarray(np.zeros((40, 40), np.uint8)).save(image)
    proc = subprocess.run([sys.executable, str(REPO_ROOT / "tools" / "infer.py"), str(tiny[0]),
                           str(tiny[1]), str(image), str(tmp_path / "gone.png"), "--out",
                           str(tmp_path / "out"), "--aligned"],
                          capture_output=True, text=True, cwd=str(REPO_ROOT))
    assert proc.returncode == 1, proc.stderr
    assert "gone.png does not exist" in proc.stderr
    assert (tmp_path / "out" / "x.png").is_file()


def test_infer_takes_a_work_dir_or_its_last_checkpoint(tiny, tmp_path, capsys):
    """The README's command: ``errkit infer CONFIG work_dirs/demo/last_checkpoint face.png``."""
    run = tmp_path / "work_dirs" / "demo"
    run.mkdir(parents=True)
    ckpt = run / "epoch_6.pth"
    ckpt.write_bytes(tiny[1].read_bytes())
    (run / "last_checkpoint").write_text(str(ckpt))
    image = tmp_path / "face.png"
    Image.fromarray(np.zeros((40, 40), np.uint8)).save(image)
    for given in (run / "last_checkpoint", run):
        out = tmp_path / f"out_{given.name}"
        assert main([str(tiny[0]), str(given), str(image), "--out", str(out), "--aligned"]) == 0
        assert json.loads((out / "results.json").read_text())["checkpoint"] == str(ckpt)
    # a last_checkpoint naming a vanished file: one line naming it, no unsafe advice
    ckpt.unlink()
    capsys.readouterr()
    with pytest.raises(SystemExit) as info:
        main([str(tiny[0]), str(run / "last_checkpoint"), str(image), "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert info.value.code == 2 and err.count("\n") == 1
    assert str(run / "last_checkpoint") in err and "weights_only" not in err
