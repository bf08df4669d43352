"""``--resume`` without a path skips every candidate that cannot be loaded, naming why."""

from __future__ import annotations

import os

import torch

from errkit.engine.checkpoint import find_resumable_checkpoint, read_checkpoint_pointer
from tests.helpers import write_malicious_checkpoint


def _good(path, iteration, mtime):
    torch.save({"meta": {"iter": iteration}}, path)
    os.utime(path, (mtime, mtime))


def test_dangling_and_looping_links_and_a_binary_pointer_are_skipped(tmp_path):
    _good(tmp_path / "iter_1.pth", 1, 1000)
    (tmp_path / "iter_9.pth").symlink_to(tmp_path / "gone.pth")  # dangling
    (tmp_path / "iter_8.pth").symlink_to(tmp_path / "iter_7.pth")  # a loop
    (tmp_path / "iter_7.pth").symlink_to(tmp_path / "iter_8.pth")
    (tmp_path / "last_checkpoint").write_bytes(b"\x80\x02}q\x00\xff\xfe binary")
    found, skipped = find_resumable_checkpoint(str(tmp_path))
    assert found == str(tmp_path / "iter_1.pth")
    reasons = {os.path.basename(s.path): s.reason for s in skipped}
    assert "does not hold a checkpoint path (binary" in reasons["last_checkpoint"]
    assert "link to" in reasons["iter_9.pth"] and "which does not exist" in reasons["iter_9.pth"]
    assert "is a symbolic link that loops" in reasons["iter_8.pth"]
    assert "is a symbolic link that loops" in reasons["iter_7.pth"]
    assert not any(s.refused for s in skipped)


def test_refused_candidates_are_marked_refused(tmp_path):
    _good(tmp_path / "iter_1.pth", 1, 1000)
    write_malicious_checkpoint(tmp_path / "iter_2.pth", tmp_path / "pwned")
    found, skipped = find_resumable_checkpoint(str(tmp_path))
    assert found == str(tmp_path / "iter_1.pth")
    assert [(os.path.basename(s.path), s.refused) for s in skipped] == [("iter_2.pth", True)]
    assert str(skipped[0]).startswith("refused to load") and not (tmp_path / "pwned").exists()


def test_pointer_names_a_moved_checkpoint_beside_it(tmp_path):
    (tmp_path / "last_checkpoint").write_text("/elsewhere/old_work_dir/iter_4.pth\n")
    _good(tmp_path / "iter_4.pth", 4, 1000)
    assert read_checkpoint_pointer(str(tmp_path / "last_checkpoint")) == \
        str(tmp_path / "iter_4.pth")
    (tmp_path / "last_checkpoint").write_text("")
    assert read_checkpoint_pointer(str(tmp_path / "last_checkpoint")) == ""
