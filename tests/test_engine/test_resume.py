"""Interrupted training resumes to exactly the uninterrupted result."""

from __future__ import annotations

import glob
import json
from pathlib import Path

import pytest
import torch

def _final_state(work_dir: Path):
    ckpt = torch.load(work_dir / "epoch_3.pth", map_location="cpu", weights_only=True)
    scalars = sorted(glob.glob(str(work_dir / "*" / "vis_data" / "scalars.json")))
    val = [json.loads(line) for path in scalars for line in open(path)
           if '"expr/accuracy"' in line]
    return ckpt["state_dict"], val[-1]


@pytest.mark.slow
def test_resume_matches_uninterrupted(tmp_path, ckplus_config):
    from errkit.cli.train import main as train

    cfg = str(ckplus_config)

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
