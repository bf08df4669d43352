"""Checkpoints load with weights_only and an exact allow-list; malicious pickles never run."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer

from errkit.utils.checkpoint import (CheckpointError, CheckpointMismatchError,
                                     CheckpointRefusedError, check_state_dict_matches,
                                     check_torch_version, load_backbone_weights,
                                     restricted_getattr, safe_load, state_dict_from_checkpoint)
from tests.helpers import save_like_numpy1, write_malicious_checkpoint


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


def test_force_no_weights_only_variable_cannot_switch_the_allow_list_off(tmp_path, monkeypatch):
    # torch.load honours TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD only when weights_only is unset;
    # errkit always passes weights_only=True.
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    marker = tmp_path / "pwned"
    path = write_malicious_checkpoint(tmp_path / "evil.pth", marker)
    with pytest.raises(CheckpointRefusedError) as info:
        safe_load(str(path))
    message = str(info.value)
    assert "\n" not in message and f"({os.system.__module__}.system)" in message
    assert "weights_only=False" not in message and info.value.__cause__ is None
    assert not marker.exists()


def test_numpy1_checkpoint_loads(tmp_path):
    buf = HistoryBuffer()
    buf.update(np.float64(1.5))
    path = save_like_numpy1({"message_hub": {"log_scalars": {"loss": buf}},
                             "meta": {"seed": np.int64(7), "acc": np.float64(0.5)},
                             "arr": np.arange(4, dtype=np.float32).reshape(2, 2),
                             "state_dict": {"w": torch.ones(3)}}, tmp_path / "np1.pth")
    raw = open(path, "rb").read()
    assert b"numpy.core.multiarray" in raw and b"numpy._core.multiarray" not in raw
    ckpt = safe_load(str(path))
    assert float(ckpt["message_hub"]["log_scalars"]["loss"].mean()) == 1.5
    assert ckpt["meta"]["seed"] == 7 and ckpt["meta"]["acc"] == 0.5
    assert ckpt["arr"].tolist() == [[0.0, 1.0], [2.0, 3.0]]


def test_numpy1_names_allow_only_the_same_functions(tmp_path):
    # numpy.core.multiarray is allowed for _reconstruct and scalar, not for its other names.
    class Gadget:
        def __reduce__(self):
            return (np.empty, ((2,),))

    path = tmp_path / "gadget.pth"
    save_like_numpy1({"x": Gadget()}, path, rename={np.empty: "numpy.core.multiarray.empty"})
    with pytest.raises(CheckpointRefusedError, match=r"\(numpy.core.multiarray.empty\)"):
        safe_load(str(path))


def test_too_old_torch_is_refused_with_one_line():
    check_torch_version("2.6.0+cpu")
    check_torch_version("2.14.1")
    with pytest.raises(CheckpointError, match=r"torch >= 2.6 .*torch 2.5.1 is installed"):
        check_torch_version("2.5.1")


def test_links_and_folders_are_named(tmp_path):
    (tmp_path / "dangling.pth").symlink_to(tmp_path / "gone.pth")
    (tmp_path / "loop_a.pth").symlink_to(tmp_path / "loop_b.pth")
    (tmp_path / "loop_b.pth").symlink_to(tmp_path / "loop_a.pth")
    (tmp_path / "folder.pth").mkdir()
    with pytest.raises(CheckpointError, match="link to .*gone.pth, which does not exist"):
        safe_load(str(tmp_path / "dangling.pth"))
    with pytest.raises(CheckpointError, match="loop_a.pth is a symbolic link that loops"):
        safe_load(str(tmp_path / "loop_a.pth"))
    with pytest.raises(CheckpointError, match="folder.pth is a folder"):
        safe_load(str(tmp_path / "folder.pth"))


def test_state_dict_mismatch_names_the_keys():
    own = {"a.weight": torch.zeros(2), "b.weight": torch.zeros(2, 2),
           "discriminator.w": torch.zeros(1)}
    check_state_dict_matches(own, {"a.weight": torch.ones(2), "b.weight": torch.ones(2, 2)},
                             "x.pth", "the model", optional_prefixes=("discriminator.",))
    with pytest.raises(CheckpointMismatchError) as info:
        check_state_dict_matches(own, {"a.weight": torch.ones(3), "c": torch.ones(1)},
                                 "x.pth", "the model")
    message = str(info.value)
    assert "checkpoint x.pth does not match the model" in message and "\n" not in message
    assert "2 keys missing from the checkpoint (e.g. b.weight, discriminator.w)" in message
    assert "1 unexpected keys in the checkpoint (e.g. c)" in message
    assert "a.weight: checkpoint (3,) vs model (2,)" in message
