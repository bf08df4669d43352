"""Config mistakes end ``tools/train.py`` at once with one clear ``errkit: error:`` message."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from errkit.cli.common import check_config_types, load_config
from tests.helpers import REPO_ROOT, write_classifier_config


def _train(args, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, str(REPO_ROOT / "tools" / "train.py"), *args],
                          cwd=str(cwd), env=env, capture_output=True, text=True, timeout=120)


def _assert_clean_failure(proc: subprocess.CompletedProcess, code: int = 2) -> str:
    assert proc.returncode == code, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert proc.stderr.count("errkit: error:") == 1
    return proc.stderr


@pytest.mark.slow
def test_unknown_type_names_registry_and_suggests(tmp_path):
    cfg = write_classifier_config(tmp_path, "model = dict(type='TimmClasifier')\n")
    err = _assert_clean_failure(_train([str(cfg), "--work-dir", str(tmp_path / "w")], tmp_path))
    assert "'TimmClasifier' is not in the errkit 'model' registry" in err
    assert "Did you mean: 'TimmClassifier'?" in err
    assert not (tmp_path / "w").exists()  # stopped before the runner made anything


@pytest.mark.slow
def test_nested_unknown_type_through_the_runner(tmp_path):
    # a loss inside ERRNet: found while the runner builds the model
    base = REPO_ROOT / "configs" / "_base_"
    cfg = tmp_path / "bad_errnet.py"
    cfg.write_text(textwrap.dedent(f"""
        _base_ = ['{base}/models/errnet.py', '{base}/datasets/ckplus.py',
                  '{base}/schedules/errnet_adam.py', '{base}/default_runtime.py']
        model = dict(encoder=dict(model_name='test_resnet'),
                     losses=dict(segment=dict(type='SegmentLos')))
        """))
    err = _assert_clean_failure(_train([str(cfg), "--work-dir", str(tmp_path / "w")], tmp_path))
    assert "'SegmentLos' is not in the errkit 'loss' registry" in err
    assert "Did you mean: 'SegmentLoss'" in err


@pytest.mark.slow
@pytest.mark.parametrize("option, field, expected", [
    ("train_dataloader.batch_size=abc", "train_dataloader.batch_size", "expected int | None"),
    ("model.num_classes=seven", "model.num_classes", "expected int"),
])
def test_value_of_the_wrong_type_names_the_field(tmp_path, option, field, expected):
    cfg = write_classifier_config(tmp_path)
    err = _assert_clean_failure(_train([str(cfg), "--cfg-options", option], tmp_path))
    assert f"{field}: {expected}, got str" in err


def test_check_config_types_accepts_every_shipped_config():
    configs = sorted(p for p in (REPO_ROOT / "configs").rglob("*.py") if "_base_" not in p.parts)
    assert configs
    for path in configs:
        assert check_config_types(load_config(str(path))) == [], path


def test_check_config_types_nested_fields(tmp_path):
    cfg = load_config(str(write_classifier_config(tmp_path)), {
        "train_cfg.max_epochs": "ten", "model.pretrained": 3,
        "train_dataloader.dataset.num_peak_frames": "3", "default_hooks.logger.interval": 1.5})
    problems = "\n".join(check_config_types(cfg))
    assert "train_cfg.max_epochs: expected int, got str 'ten' (EpochBasedTrainLoop)" in problems
    assert "model.pretrained: expected str | None, got int 3 (TimmClassifier)" in problems
    assert "train_dataloader.dataset.num_peak_frames: expected int, got str '3'" in problems
    assert "default_hooks.logger.interval: expected int, got float 1.5 (LoggerHook)" in problems


@pytest.mark.slow
def test_missing_data_root_stops_with_instructions(tmp_path):
    assert not (tmp_path / "data").exists()
    proc = _train([str(REPO_ROOT / "configs" / "errnet_ckplus.py")], tmp_path)
    err = _assert_clean_failure(proc)
    assert "data/ckplus" in err and "make demo" in err
    assert not list(tmp_path.glob("work_dirs/*/*.pth"))


@pytest.mark.slow
def test_missing_config_path(tmp_path):
    err = _assert_clean_failure(_train(["configs/no_such_config.py"], tmp_path))
    assert "config file not found: configs/no_such_config.py" in err


@pytest.mark.slow
def test_values_out_of_range_name_each_field(tmp_path):
    cfg = write_classifier_config(tmp_path)
    proc = _train([str(cfg), "--work-dir", str(tmp_path / "w"), "--cfg-options",
                   "train_cfg.max_epochs=-1", "train_cfg.val_interval=0",
                   "optim_wrapper.optimizer.lr=0", "train_dataloader.batch_size=0",
                   "train_dataloader.num_workers=-2", "randomness.seed=-1"], tmp_path)
    err = _assert_clean_failure(proc)
    for line in ("train_cfg.max_epochs: must be >= 1, got -1",
                 "train_cfg.val_interval: must be >= 1, got 0",
                 "optim_wrapper.optimizer.lr: must be > 0, got 0",
                 "train_dataloader.batch_size: must be >= 1, got 0",
                 "train_dataloader.num_workers: must be >= 0, got -2",
                 "randomness.seed: must be >= 0 and < 4294967296, got -1"):
        assert f"\n  {line}\n" in err + "\n", err
    assert not (tmp_path / "w").exists()


def test_loss_weights_and_learning_rates_at_any_depth():
    from mmengine.config import Config

    from errkit.cli.common import check_config_ranges

    cfg = Config(dict(
        model=dict(type="ERRNet", losses=dict(cls=dict(type="CrossEntropyLoss", loss_weight=-1.0),
                                             l1=dict(type="MaskedL1Loss", loss_weight=0.0)),
                   loss_weights=dict(gan=-0.5, l1=10.0)),
        optim_wrapper=dict(generator=dict(optimizer=dict(type="Adam", lr=-2e-4)),
                           recognizer=dict(optimizer=dict(type="Adam", lr=float("nan")))),
        train_cfg=dict(type="IterBasedTrainLoop", max_iters=0, val_begin=-1)))
    assert sorted(check_config_ranges(cfg)) == [
        "model.loss_weights.gan: must be >= 0, got -0.5",
        "model.losses.cls.loss_weight: must be >= 0, got -1.0",
        "optim_wrapper.generator.optimizer.lr: must be > 0, got -0.0002",
        "optim_wrapper.recognizer.optimizer.lr: must be > 0, got nan",
        "train_cfg.max_iters: must be >= 1, got 0",
        "train_cfg.val_begin: must be >= 0, got -1",
    ]
