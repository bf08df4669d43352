"""A checkpoint argument: a file, a last_checkpoint file or a work dir; one-line errors."""

from __future__ import annotations

import os
import pickle

import pytest
import torch

from errkit.utils.checkpoint import CheckpointError, safe_load
from errkit.utils.checkpoint_path import CheckpointNotFoundError, resolve_checkpoint


@pytest.fixture()
def run(tmp_path):
    """A work dir as mmengine leaves it: two checkpoints, last_checkpoint naming the newer."""
    folder = tmp_path / "work_dirs" / "demo"
    folder.mkdir(parents=True)
    for name in ("epoch_1.pth", "epoch_2.pth"):
        torch.save({"state_dict": {"w": torch.zeros(1)}, "meta": {}}, folder / name)
    (folder / "last_checkpoint").write_text(str(folder / "epoch_2.pth"))
    return folder


def test_a_file_a_pointer_and_a_work_dir_resolve_to_the_same_checkpoint(run):
    want = str(run / "epoch_2.pth")
    assert resolve_checkpoint(want) == want
    assert resolve_checkpoint(str(run / "last_checkpoint")) == want
    assert resolve_checkpoint(str(run)) == want
    assert resolve_checkpoint(run) == want  # a PathLike too


def test_a_moved_run_folder_finds_its_checkpoint_beside_the_pointer(run, tmp_path):
    moved = tmp_path / "archive" / "demo"
    moved.parent.mkdir()
    os.rename(run, moved)  # last_checkpoint still names the old absolute path
    assert resolve_checkpoint(str(moved)) == str(moved / "epoch_2.pth")


def test_a_relative_pointer_is_read_against_its_folder(run):
    (run / "last_checkpoint").write_text("epoch_1.pth\n")
    assert resolve_checkpoint(str(run)) == str(run / "epoch_1.pth")


@pytest.mark.parametrize("case", ["missing", "no_pointer", "dangling", "empty"])
def test_what_cannot_be_resolved_is_one_line_naming_the_path(run, tmp_path, case):
    if case == "missing":
        arg, named = tmp_path / "nope.pth", tmp_path / "nope.pth"
    elif case == "no_pointer":
        (run / "last_checkpoint").unlink()
        arg, named = run, run
    elif case == "dangling":
        (run / "epoch_2.pth").unlink()
        arg, named = run, run / "last_checkpoint"
    else:
        (run / "last_checkpoint").write_text("  \n")
        arg, named = run / "last_checkpoint", run / "last_checkpoint"
    with pytest.raises(CheckpointNotFoundError) as info:
        resolve_checkpoint(str(arg))
    message = str(info.value)
    assert str(named) in message and "\n" not in message
    assert isinstance(info.value, CheckpointError) and isinstance(info.value, FileNotFoundError)
    if case == "no_pointer":  # the checkpoints it does hold are named
        assert "epoch_2.pth" in message


@pytest.mark.parametrize("content", [b"/some/run/epoch_1.pth\n", b"line one\nline two\n",
                                     os.urandom(300), b"PK\x03\x04 truncated zip"])
def test_unreadable_files_never_advise_unsafe_loading(tmp_path, content):
    path = tmp_path / "not_a_checkpoint.pth"
    path.write_bytes(content)
    with pytest.raises(CheckpointError) as info:
        safe_load(resolve_checkpoint(str(path)))
    message = str(info.value)
    assert str(path) in message and "\n" not in message
    assert "weights_only" not in message and "trusted source" not in message


def test_a_refused_checkpoint_names_the_global_without_advice(tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"state_dict": {}, "hook": pickle.loads}, path)
    with pytest.raises(CheckpointError) as info:
        safe_load(resolve_checkpoint(str(path)))
    message = str(info.value)
    assert "refused to load" in message and "pickle.loads" in message and "\n" not in message
    assert "weights_only" not in message and "safe_globals" not in message


def test_a_garbled_last_checkpoint_is_named_in_one_line(run):
    (run / "last_checkpoint").write_bytes(b"\x80\x04garbage\x00")
    with pytest.raises(CheckpointError) as info:
        resolve_checkpoint(str(run))
    message = str(info.value)
    assert str(run / "last_checkpoint") in message and "\n" not in message


def test_only_a_file_named_last_checkpoint_is_read_as_a_pointer(run, tmp_path):
    text = tmp_path / "notes.pth"
    text.write_text(str(run / "epoch_2.pth"))  # not a checkpoint: safe_load says so
    assert resolve_checkpoint(str(text)) == str(text)
