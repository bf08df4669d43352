"""build_runner: the one runner factory; a real run logs no registry-scope warning."""

from __future__ import annotations

import glob
import textwrap
from pathlib import Path

import pytest
import torch
from mmengine.logging import HistoryBuffer

from errkit.config import load_config
from errkit.engine import build_runner
from tests.helpers import write_bar_ckplus

REPO = Path(__file__).resolve().parents[2]

DATA = """
pipeline = [dict(type='LoadFaceImages', color_type='grey'), dict(type='PackFERInputs')]
dataset = dict(type='CKPlusDataset', data_root='{data_root}', num_peak_frames=1,
               fold=0, num_folds=3, pipeline=pipeline)
train_dataloader = dict(batch_size=8, num_workers=0,
                        sampler=dict(type='DefaultSampler', shuffle=True),
                        collate_fn=dict(type='pseudo_collate'),
                        dataset=dict(dataset, split='train'))
val_dataloader = dict(batch_size=8, num_workers=0,
                      sampler=dict(type='DefaultSampler', shuffle=False),
                      collate_fn=dict(type='pseudo_collate'),
                      dataset=dict(dataset, split='test'))
val_evaluator = dict(type='ExpressionMetric')
test_dataloader = val_dataloader
test_evaluator = val_evaluator
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=1))
custom_hooks = []
visualizer = dict(type='Visualizer', vis_backends=[dict(type='LocalVisBackend')])
randomness = dict(seed=0)
"""

#: The whole-image classifier: AdamW in an OptimWrapper, a cosine schedule.
CLASSIFIER = """
_base_ = ['{repo}/configs/_base_/models/timm_classifier.py',
          '{repo}/configs/_base_/schedules/adam_cls.py',
          '{repo}/configs/_base_/default_runtime.py']
model = dict(model_name='resnet10t', num_classes=7, in_channels=1)
train_cfg = dict(max_epochs=1)
"""

#: A tiny ERR-Net: one Adam per sub-network (the multi-optimizer constructor), a
#: linear decay applied to each.
ERRNET = """
_base_ = ['{repo}/configs/_base_/models/errnet.py',
          '{repo}/configs/_base_/schedules/errnet_adam.py',
          '{repo}/configs/_base_/default_runtime.py']
model = dict(encoder=dict(model_name='resnet10t'), latent=dict(segment_dim=4),
             decoder=dict(base_channels=8),
             discriminator=dict(base_channels=8, num_layers=2),
             residuals=[dict(type='PixelResidual', feat_channels=8, num_stages=2)])
param_scheduler = [dict(type='LinearLR', start_factor=1.0, end_factor=0.5, by_epoch=True,
                        begin=0, end=1)]
train_cfg = dict(max_epochs=1)
"""


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("ckplus")
    write_bar_ckplus(root, subjects=3, size=32, frames=3, offsets=(0, 2), row_step=4,
                     bar_height=3)
    return root


def _config(tmp_path: Path, data_root: Path, model: str) -> Path:
    path = tmp_path / "tiny.py"
    path.write_text(textwrap.dedent(model).format(repo=REPO)
                    + textwrap.dedent(DATA).format(data_root=data_root))
    return path


def test_build_runner_allow_lists_mmengine_checkpoint_classes(tmp_path, data_root):
    cfg = load_config(str(_config(tmp_path, data_root, CLASSIFIER)))
    cfg.work_dir = str(tmp_path / "work")
    cfg.experiment_name = "allow_list"  # mmengine keys its logger by the experiment name
    cfg.pop("default_scope")
    runner = build_runner(cfg)
    assert HistoryBuffer in torch.serialization.get_safe_globals()
    assert runner.cfg.default_scope == "errkit"


@pytest.mark.parametrize("model", [CLASSIFIER, ERRNET], ids=["classifier", "errnet"])
def test_a_real_run_logs_no_registry_scope_warning(tmp_path, data_root, model):
    cfg = load_config(str(_config(tmp_path, data_root, model)))
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
