"""Every checkpoint read goes through errkit's allow-listed loader, whatever the environment.

Each test writes a malicious checkpoint (``os.system('touch MARKER')`` via
``__reduce__``) and reads it through one entry point with
``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` set, which makes ``torch.load`` unpickle
anything when ``weights_only`` is left unset: the marker must never appear and
the command must end with one ``errkit: error:`` line, non-zero.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from errkit.utils.checkpoint import CheckpointError, CheckpointRefusedError
from tests.helpers import (REPO_ROOT, SMALL_CKPLUS, save_like_numpy1, write_bar_ckplus,
                           write_malicious_checkpoint, write_run_config)

FORCE_UNSAFE = "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"


def _command(name: str):
    """``errkit train`` / ``errkit test`` in this process, each call under an experiment
    name of its own: mmengine keys its logger by that name, and two runs started in one
    second would otherwise share one (writing to a stream of the previous test)."""
    from errkit.cli.test import main as test
    from errkit.cli.train import main as train

    command = {"train": train, "test": test}[name]

    def call(argv, *options):
        return command([*argv, "--cfg-options", f"experiment_name=run_{uuid.uuid4().hex[:8]}",
                        *options])

    return call


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """The config, and a good training checkpoint of its model."""
    root = tmp_path_factory.mktemp("untrusted")
    data_root = root / "ckplus"
    write_bar_ckplus(data_root, **SMALL_CKPLUS)
    # a whole-image classifier (test_resnet, 32 px faces), one short epoch
    cfg = write_run_config(root, data_root, name="tiny_classifier.py",
                           model_options=dict(model_name="test_resnet"), align=32,
                           num_peak_frames=1, folds=(0, 3), val_batch_size=8, local_vis=True,
                           seed=None)
    _command("train")([str(cfg), "--work-dir", str(root / "trained")])
    return dict(root=root, config=cfg, good=root / "trained" / "epoch_1.pth")


@pytest.fixture
def evil(tmp_path, monkeypatch):
    """A malicious checkpoint holding the model's real weights, and its marker."""
    monkeypatch.setenv(FORCE_UNSAFE, "1")
    marker = tmp_path / "pwned"
    return write_malicious_checkpoint(tmp_path / "evil.pth", marker), marker


def _refused(capsys, call, marker: Path) -> str:
    with pytest.raises(SystemExit) as info:
        call()
    err = capsys.readouterr().err
    assert info.value.code == 2, err
    assert not marker.exists()
    lines = [ln for ln in err.splitlines() if ln.startswith("errkit: error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert "weights_only=False" not in err and "weights_only` set to `False`" not in err
    return lines[0]


@pytest.mark.slow
def test_tools_test_py_refuses_with_the_unsafe_variable_set(setup, evil):
    path, marker = evil
    env = dict(os.environ, OMP_NUM_THREADS="1", **{FORCE_UNSAFE: "1"})
    proc = subprocess.run([sys.executable, str(REPO_ROOT / "tools" / "test.py"),
                           str(setup["config"]), str(path), "--work-dir",
                           str(path.parent / "w")], env=env, capture_output=True, text=True,
                          timeout=300, cwd=str(path.parent))
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert not marker.exists()
    assert "Traceback" not in proc.stderr and proc.stderr.count("errkit: error:") == 1
    assert f"refused to load {path}" in proc.stderr


@pytest.mark.slow
@pytest.mark.parametrize("how", ["test", "resume", "load_from"])
def test_runner_paths_refuse(setup, evil, capsys, how):
    test, train = _command("test"), _command("train")
    path, marker = evil
    work = ["--work-dir", str(path.parent / "w")]
    calls = {
        "test": lambda: test([str(setup["config"]), str(path), *work]),
        "resume": lambda: train([str(setup["config"]), "--resume", str(path), *work]),
        "load_from": lambda: train([str(setup["config"]), *work], f"load_from={path}"),
    }
    line = _refused(capsys, calls[how], marker)
    assert f"refused to load {path}" in line and "Nothing from it was executed" in line
    assert "remove" not in line and "delete" not in line


@pytest.mark.slow
def test_kfold_worker_refuses(setup, evil):
    path, marker = evil
    env = dict(os.environ, OMP_NUM_THREADS="1", **{FORCE_UNSAFE: "1"})
    proc = subprocess.run([sys.executable, str(REPO_ROOT / "tools" / "kfold.py"),
                           str(setup["config"]), "--folds", "2", "--fold-ids", "0", "--work-dir",
                           str(path.parent / "kfold"), "--cfg-options", f"load_from={path}"],
                          env=env, capture_output=True, text=True, timeout=300,
                          cwd=str(path.parent))
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert not marker.exists()
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    # the worker's line, then the driver's, which repeats it
    assert f"errkit: error: refused to load {path}" in proc.stderr
    assert "errkit: error: 1 of 1 folds failed" in proc.stderr
    assert "fold 0 failed (exit code 2)" in proc.stderr


@pytest.mark.slow
def test_infer_and_export_refuse(setup, evil, capsys, tmp_path):
    from errkit.cli.export import main as export
    from errkit.cli.infer import main as infer

    path, marker = evil
    image = tmp_path / "face.png"
    cv2.imwrite(str(image), np.full((32, 32), 128, np.uint8))
    line = _refused(capsys, lambda: infer([str(setup["config"]), str(path), str(image),
                                           "--aligned", "--out", str(tmp_path / "out")]), marker)
    assert f"refused to load {path}" in line
    line = _refused(capsys, lambda: export([str(setup["config"]), str(path),
                                            str(tmp_path / "model.pt")]), marker)
    assert f"refused to load {path}" in line
    assert not (tmp_path / "model.pt").exists()


def test_fan_detector_refuses_malicious_weights(evil):
    pytest.importorskip("face_alignment")
    from errkit.landmarks.detectors import DetectorUnavailableError, FANLandmarkDetector

    path, marker = evil
    with pytest.raises(DetectorUnavailableError, match="refused to load"):
        FANLandmarkDetector(weights_path=path)
    assert not marker.exists()


def test_timm_encoder_refuses_malicious_pretrained_weights(evil):
    from errkit.models.encoders import TimmEncoder

    path, marker = evil
    with pytest.raises(CheckpointRefusedError):
        TimmEncoder("test_resnet", in_channels=1, pretrained=str(path))
    assert not marker.exists()


def test_mmengine_loaders_are_errkits_after_build_runner(setup, evil, tmp_path):
    # init_cfg=dict(type='Pretrained') and any other mmengine path read through
    # mmengine's CheckpointLoader: every scheme it knows is errkit's.
    from mmengine.runner import CheckpointLoader
    from mmengine.runner.checkpoint import _load_checkpoint

    from errkit.config import load_config
    from errkit.engine import build_runner

    path, marker = evil
    cfg = load_config(str(setup["config"]))
    cfg.work_dir = str(tmp_path / "w")
    build_runner(cfg)
    assert {f.__name__ for f in CheckpointLoader._schemes.values()} == {
        "load_from_local_safe", "load_from_remote_refused"}
    with pytest.raises(CheckpointRefusedError):
        _load_checkpoint(str(path), map_location="cpu")
    with pytest.raises(CheckpointError, match="local files only"):
        _load_checkpoint("https://example.com/w.pth")
    assert not marker.exists()
    assert "state_dict" in _load_checkpoint(str(setup["good"]))


@pytest.mark.slow
def test_tools_test_refuses_a_checkpoint_that_does_not_fit(setup, capsys, tmp_path):
    test = _command("test")
    path = tmp_path / "other_model.pth"
    torch.save({"meta": {}, "state_dict": torch.nn.Linear(3, 2).state_dict()}, path)
    line = _refused(capsys, lambda: test([str(setup["config"]), str(path), "--work-dir",
                                          str(tmp_path / "w")]), tmp_path / "no_marker")
    assert f"checkpoint {path} does not match the model of config" in line
    assert "keys missing from the checkpoint (e.g. " in line
    assert "2 unexpected keys in the checkpoint (e.g. weight, bias)" in line
    # a checkpoint of the right model with one tensor reshaped
    good = torch.load(setup["good"], map_location="cpu", weights_only=False)
    key = next(k for k, v in good["state_dict"].items() if v.ndim == 4)
    good["state_dict"][key] = good["state_dict"][key][:1]
    torch.save(good, path)
    line = _refused(capsys, lambda: test([str(setup["config"]), str(path), "--work-dir",
                                          str(tmp_path / "w")]), tmp_path / "no_marker")
    assert f"1 tensors of another shape (e.g. {key}: checkpoint (1," in line


@pytest.mark.slow
def test_resume_needs_a_training_checkpoint_of_the_model(setup, capsys, tmp_path):
    train = _command("train")
    weights_only = tmp_path / "weights.pth"
    good = torch.load(setup["good"], map_location="cpu", weights_only=False)
    torch.save(good["state_dict"], weights_only)
    line = _refused(capsys, lambda: train([str(setup["config"]), "--resume", str(weights_only),
                                           "--work-dir", str(tmp_path / "w")]),
                    tmp_path / "no_marker")
    assert "holds no training state" in line and f"load_from={weights_only}" in line
    unrelated = tmp_path / "unrelated.pth"
    torch.save({"state_dict": torch.nn.Linear(3, 2).state_dict()}, unrelated)
    line = _refused(capsys, lambda: train([str(setup["config"]), "--work-dir",
                                           str(tmp_path / "w")], f"load_from={unrelated}"),
                    tmp_path / "no_marker")
    assert "shares no parameter with the model" in line


@pytest.mark.slow
def test_numpy1_training_checkpoint_resumes(setup, tmp_path):
    from errkit.utils.checkpoint import safe_load

    train = _command("train")
    work = tmp_path / "work"
    work.mkdir()
    path = save_like_numpy1(safe_load(str(setup["good"])), work / "epoch_1.pth")
    assert b"numpy.core.multiarray" in path.read_bytes()  # the message hub's numpy values
    train([str(setup["config"]), "--work-dir", str(work), "--resume"], "train_cfg.max_epochs=2")
    assert safe_load(str(work / "epoch_2.pth"))["meta"]["epoch"] == 2


@pytest.mark.slow
def test_auto_resume_never_advises_deleting_a_refused_checkpoint(setup, capsys, tmp_path):
    train = _command("train")
    work = tmp_path / "work"
    work.mkdir()
    marker = tmp_path / "pwned"
    write_malicious_checkpoint(work / "epoch_2.pth", marker)
    line = _refused(capsys, lambda: train([str(setup["config"]), "--work-dir", str(work),
                                           "--resume"]), marker)
    assert f"errkit refused to load {work / 'epoch_2.pth'}" in line
    assert "remove" not in line and "delete" not in line and "--resume PATH" in line
    # with an older checkpoint that loads: a warning, and the run resumes from it
    (work / "epoch_1.pth").write_bytes(setup["good"].read_bytes())
    os.utime(work / "epoch_1.pth", (1000, 1000))
    train([str(setup["config"]), "--work-dir", str(work), "--resume"])
    err = capsys.readouterr().err
    assert "not resuming from a refused checkpoint: refused to load" in err
    assert f"resuming from {work / 'epoch_1.pth'}, the newest readable checkpoint" in err
    assert "remove" not in err and not marker.exists()
