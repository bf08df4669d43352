"""Interrupted training resumes to exactly the uninterrupted result."""

from __future__ import annotations

import glob
import json
import textwrap
from pathlib import Path

import pytest
import torch

from tests.helpers import write_bar_ckplus

REPO = Path(__file__).resolve().parents[2]


def write_tiny_ckplus(root: Path, subjects: int = 10, size: int = 24) -> None:
    """Ten subjects, three labelled sequences each; the label is a drawn bar."""
    write_bar_ckplus(root, subjects=subjects, size=size)


def write_config(tmp: Path, data_root: Path) -> Path:
    cfg = tmp / "tiny_resume.py"
    cfg.write_text(textwrap.dedent(f"""
        _base_ = [
            '{REPO}/configs/_base_/models/timm_classifier.py',
            '{REPO}/configs/_base_/schedules/adam_cls.py',
            '{REPO}/configs/_base_/default_runtime.py',
        ]
        model = dict(model_name='resnet10t', num_classes=7, in_channels=1)
        pipeline = [dict(type='LoadFaceImages', color_type='grey'), dict(type='PackFERInputs')]
        dataset = dict(type='CKPlusDataset', data_root='{data_root}', num_peak_frames=2,
                       fold=0, num_folds=5, pipeline=pipeline)
        train_dataloader = dict(batch_size=8, num_workers=0,
                                sampler=dict(type='DefaultSampler', shuffle=True),
                                collate_fn=dict(type='pseudo_collate'),
                                dataset=dict(dataset, split='train'))
        val_dataloader = dict(batch_size=16, num_workers=0,
                              sampler=dict(type='DefaultSampler', shuffle=False),
                              collate_fn=dict(type='pseudo_collate'),
                              dataset=dict(dataset, split='test'))
        val_evaluator = dict(type='ExpressionMetric')
        test_dataloader = val_dataloader
        test_evaluator = val_evaluator
        train_cfg = dict(max_epochs=3)
        default_hooks = dict(logger=dict(interval=1),
                             checkpoint=dict(interval=1, max_keep_ckpts=5))
        randomness = dict(seed=7, deterministic=True)
        """))
    return cfg


def _final_state(work_dir: Path):
    ckpt = torch.load(work_dir / "epoch_3.pth", map_location="cpu", weights_only=True)
    scalars = sorted(glob.glob(str(work_dir / "*" / "vis_data" / "scalars.json")))
    val = [json.loads(line) for path in scalars for line in open(path)
           if '"expr/accuracy"' in line]
    return ckpt["state_dict"], val[-1]


@pytest.mark.slow
def test_resume_matches_uninterrupted(tmp_path):
    from errkit.cli.train import main as train

    data_root = tmp_path / "ckplus"
    write_tiny_ckplus(data_root)
    cfg = str(write_config(tmp_path, data_root))

    full, part = tmp_path / "full", tmp_path / "part"
    train([cfg, "--work-dir", str(full)])
    train([cfg, "--work-dir", str(part), "--cfg-options", "train_cfg.max_epochs=2"])
    assert not (part / "epoch_3.pth").exists()
    # the interrupted run's own checkpoints hold mmengine state that needs the allow-list
    train([cfg, "--work-dir", str(part), "--resume"])

    full_state, full_val = _final_state(full)
    part_state, part_val = _final_state(part)
    assert full_state.keys() == part_state.keys()
    for key in full_state:
        assert torch.equal(full_state[key], part_state[key]), key
    assert full_val["expr/accuracy"] == part_val["expr/accuracy"]
    assert full_val["step"] == part_val["step"] == 3  # the epoch
    # the resumed run started from epoch 2's checkpoint, not from scratch
    logs = sorted(glob.glob(str(part / "*" / "*.log")))
    assert any("resumed epoch: 2" in open(p).read() for p in logs)
