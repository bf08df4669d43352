"""build_runner: the one runner factory; a real run logs no registry-scope warning."""

from __future__ import annotations

import glob
from pathlib import Path

import pytest
import torch
from mmengine.logging import HistoryBuffer

from errkit.config import load_config
from errkit.engine import build_runner

#: ERR-Net decays its learning rates linearly (a scheduler for each optimizer).
ERRNET = dict(model="errnet", param_scheduler=[dict(type="LinearLR", start_factor=1.0,
                                                    end_factor=0.5, by_epoch=True, begin=0,
                                                    end=1)])


def test_build_runner_allow_lists_mmengine_checkpoint_classes(tmp_path, short_run_config):
    cfg = load_config(str(short_run_config()))
    cfg.work_dir = str(tmp_path / "work")
    cfg.experiment_name = "allow_list"  # mmengine keys its logger by the experiment name
    cfg.pop("default_scope")
    runner = build_runner(cfg)
    assert HistoryBuffer in torch.serialization.get_safe_globals()
    assert runner.cfg.default_scope == "errkit"


@pytest.mark.parametrize("model", [{}, ERRNET], ids=["classifier", "errnet"])
def test_a_real_run_logs_no_registry_scope_warning(tmp_path, short_run_config, model):
    cfg = load_config(str(short_run_config(**model)))
    cfg.work_dir = str(tmp_path / "work")
    cfg.experiment_name = f"real_run_{tmp_path.name}"  # not another test's logger
    runner = build_runner(cfg)
    runner.train()
    runner.test()
    (log,) = glob.glob(str(tmp_path / "work" / "*" / "*.log"))
    text = Path(log).read_text()
    assert "Epoch(test)" in text  # the run really trained and tested
    # mmengine builds samplers, optimizers, optim wrappers and schedulers in the
    # 'errkit' scope; each kind has an errkit registry, so none falls back with a warning.
    assert "Failed to search registry" not in text
    assert "registry" not in "".join(ln for ln in text.splitlines() if "WARNING" in ln)
