"""Checkpoints load with weights_only and an exact allow-list; malicious pickles never run."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer

from errkit.utils.checkpoint import (CheckpointError, load_backbone_weights, restricted_getattr,
                                     safe_load, state_dict_from_checkpoint)


class _RunsCode:
    """Unpickling this calls ``os.system`` (what a malicious checkpoint does)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_malicious_pickle_is_refused_and_nothing_runs(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pth"
    torch.save({"state_dict": {}, "payload": _RunsCode(marker)}, path)
    with pytest.raises(CheckpointError) as info:
        safe_load(str(path))
    assert "refused to load" in str(info.value) and "Nothing from it was executed" in str(info.value)
    assert str(path) in str(info.value)
    assert not marker.exists()


def test_getattr_gadget_is_refused(tmp_path):
    # builtins.getattr is mapped to a restricted version: only HistoryBuffer's statistics.
    class Gadget:
        def __reduce__(self):
            return (getattr, (HistoryBuffer, "__init__"))

    path = tmp_path / "gadget.pth"
    torch.save({"x": Gadget()}, path)
    with pytest.raises(CheckpointError):
        safe_load(str(path))
    with pytest.raises(pickle.UnpicklingError):
        restricted_getattr(os, "system")
    assert restricted_getattr(HistoryBuffer, "mean") is HistoryBuffer.mean


def test_mmengine_objects_round_trip(tmp_path):
    buf = HistoryBuffer()
    buf.update(1.5)
    path = tmp_path / "ok.pth"
    torch.save({"hub": {"loss": buf}, "arr": np.arange(3.0), "scalar": np.float64(2.0),
                "w": torch.ones(2)}, path)
    ckpt = safe_load(str(path))
    assert float(ckpt["hub"]["loss"].mean()) == 1.5
    assert ckpt["arr"].tolist() == [0.0, 1.0, 2.0]
    assert torch.equal(ckpt["w"], torch.ones(2))


@pytest.mark.parametrize("content", [b"", b"not a checkpoint at all"])
def test_truncated_or_garbage_file_is_a_clear_error(tmp_path, content):
    path = tmp_path / "bad.pth"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match="cannot read checkpoint .*bad.pth"):
        safe_load(str(path))


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        safe_load(str(tmp_path / "nope.pth"))


@pytest.mark.parametrize("checkpoint", [
    {"meta": {"epoch": 3}, "state_dict": {"fc.weight": 1}, "message_hub": {}},  # mmengine
    {"model": {"fc.weight": 1}, "optimizer": {}},  # timm's train.py
    {"state_dict_ema": {"fc.weight": 1}},
    {"fc.weight": 1},  # a bare state dict
    {"state_dict": {"module.fc.weight": 1}},  # saved from DistributedDataParallel
])
def test_one_function_finds_the_state_dict_of_every_layout(checkpoint):
    assert state_dict_from_checkpoint(checkpoint) == {"fc.weight": 1}


def test_a_checkpoint_that_is_no_dict_is_named(tmp_path):
    with pytest.raises(CheckpointError, match="w.pth holds a list, not a checkpoint dict"):
        state_dict_from_checkpoint([1, 2], "w.pth")


def test_backbone_weights_load_from_a_ddp_checkpoint(tmp_path):
    source, target = torch.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    path = tmp_path / "ddp.pth"
    torch.save({"state_dict": {f"module.{k}": v for k, v in source.state_dict().items()}}, path)
    report = load_backbone_weights(target, str(path))
    assert report == {"missing": [], "unexpected": []}
    assert torch.equal(target.weight, source.weight)
