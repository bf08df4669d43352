"""Commands check their output places before any work: one line naming the path."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.helpers import REPO_ROOT, write_classifier_config


@pytest.fixture
def config(tmp_path) -> str:
    """A classifier config on a CK+ folder that does not exist (never reached)."""
    return str(write_classifier_config(tmp_path))


def _one_line(capsys, call) -> str:
    with pytest.raises(SystemExit) as info:
        call()
    err = capsys.readouterr().err
    assert info.value.code == 2, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("errkit: error: "), err
    return lines[0]


@pytest.mark.slow
def test_train_with_a_file_as_work_dir(tmp_path, config):
    (tmp_path / "taken").write_text("not a folder")
    proc = subprocess.run([sys.executable, str(REPO_ROOT / "tools" / "train.py"),
                           config, "--work-dir", str(tmp_path / "taken")],
                          cwd=str(tmp_path), capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert f"errkit: error: work dir {tmp_path / 'taken'} is a file, not a folder" \
        in proc.stderr
    assert (tmp_path / "taken").read_text() == "not a folder"


def test_test_checks_out_show_dir_and_work_dir(tmp_path, capsys, config):
    from errkit.cli.test import main as test

    cfg, ckpt = config, tmp_path / "w.pth"
    ckpt.write_bytes(b"never read")
    (tmp_path / "file").write_text("x")
    work = ["--work-dir", str(tmp_path / "w")]
    line = _one_line(capsys, lambda: test([str(cfg), str(ckpt), *work, "--out",
                                           str(tmp_path / "file" / "m.json")]))
    assert f"--out {tmp_path / 'file' / 'm.json'} cannot be written" in line
    line = _one_line(capsys, lambda: test([str(cfg), str(ckpt), *work, "--out", str(tmp_path)]))
    assert f"--out {tmp_path} is a folder, not a file" in line
    line = _one_line(capsys, lambda: test([str(cfg), str(ckpt), *work, "--show-dir",
                                           str(tmp_path / "file")]))
    assert f"--show-dir {tmp_path / 'file'} is a file, not a folder" in line
    line = _one_line(capsys, lambda: test([str(cfg), str(ckpt), "--work-dir",
                                           str(tmp_path / "file" / "w")]))
    assert f"work dir {tmp_path / 'file' / 'w'} cannot be created: {tmp_path / 'file'} is a " \
           "file, not a folder" in line


def test_infer_checks_out_before_loading_anything(tmp_path, capsys, config):
    from errkit.cli.infer import main as infer

    (tmp_path / "file").write_text("x")
    # the checkpoint does not exist: the --out check comes first
    line = _one_line(capsys, lambda: infer([config, str(tmp_path / "none.pth"),
                                            str(tmp_path / "img.png"), "--out",
                                            str(tmp_path / "file")]))
    assert line == f"errkit: error: --out {tmp_path / 'file'} is a file, not a folder"


def test_export_checks_its_target_before_building_the_model(tmp_path, capsys, config):
    from errkit.cli.export import main as export

    (tmp_path / "file").write_text("x")
    target = tmp_path / "file" / "model.onnx"
    line = _one_line(capsys, lambda: export([config, str(tmp_path / "none.pth"),
                                             str(target)]))
    assert f"export target {target} cannot be written: its folder {tmp_path / 'file'}" in line


def test_kfold_and_ablation_check_their_work_dir(tmp_path, capsys, config):
    from errkit.cli.ablation import main as ablation
    from errkit.cli.kfold import main as kfold

    (tmp_path / "file").write_text("x")
    line = _one_line(capsys, lambda: kfold([config, "--folds", "2",
                                            "--work-dir", str(tmp_path / "file")]))
    assert f"work dir {tmp_path / 'file'} is a file, not a folder" in line
    line = _one_line(capsys, lambda: ablation([config, "--fold", "0",
                                               "--work-dir", str(tmp_path / "file")]))
    assert f"work dir {tmp_path / 'file'} is a file, not a folder" in line
