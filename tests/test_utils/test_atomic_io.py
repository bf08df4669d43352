"""errkit's one atomic writer: umask permissions, fsync, rename, nothing half-written."""

from __future__ import annotations

import contextlib
import os
import stat

import numpy as np
import pytest

from errkit.synthetic.ckplus_writer import write_ckplus_sequence
from errkit.utils.atomic_io import (TEMP_FILE_PATTERN, atomic_open, atomic_write_bytes,
                                    atomic_write_json, atomic_write_text)


@contextlib.contextmanager
def umask(mask):
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("mask", [0o022, 0o002, 0o077])
def test_outputs_get_the_permissions_of_the_umask(tmp_path, mask):
    with umask(mask):
        atomic_write_json(tmp_path / "summary.json", {"accuracy": np.float32(0.5)})
        atomic_write_text(tmp_path / "summary.md", "# Summary\n")
        atomic_write_bytes(tmp_path / "a.bin", b"abc")
        out = write_ckplus_sequence(tmp_path / "ckplus", "S005", 1,
                                    [np.zeros((8, 8), np.uint8)] * 2, label=3)
    files = [tmp_path / "summary.json", tmp_path / "summary.md", tmp_path / "a.bin",
             out["emotion"], *out["frames"]]
    assert {_mode(p) for p in files} == {0o666 & ~mask}


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "result.json"
    atomic_write_text(target, "old")
    with pytest.raises(RuntimeError):
        with atomic_open(target) as f:
            f.write("half of the new")
            raise RuntimeError("killed")
    assert target.read_text() == "old"
    assert sorted(os.listdir(tmp_path)) == ["result.json"]


def test_file_and_folder_are_fsynced_before_and_after_the_rename(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync

    def record(fd):
        info = os.fstat(fd)
        synced.append("folder" if stat.S_ISDIR(info.st_mode) else "file")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", record)
    atomic_write_bytes(tmp_path / "deep" / "a.bin", b"abc")
    assert synced == ["file", "folder"]
    assert (tmp_path / "deep" / "a.bin").read_bytes() == b"abc"


def test_temporary_names_match_the_pattern_that_cleanup_looks_for(tmp_path):
    with atomic_open(tmp_path / "iter_3.pth", "wb"):
        (name,) = os.listdir(tmp_path)
        assert TEMP_FILE_PATTERN.match(name) and name.startswith(".iter_3.pth.")
    assert os.listdir(tmp_path) == ["iter_3.pth"]
