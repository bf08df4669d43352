"""Output places are checked before the work, with one line naming the path."""

from __future__ import annotations

import os

import pytest

from errkit.utils.output_paths import OutputPathError, check_output_dir, check_output_file

#: chmod is not enforced for root: permission tests need another user.
needs_permissions = pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                                       reason="running as root: permissions are not enforced")


def test_writable_and_creatable_places_pass(tmp_path):
    check_output_dir(tmp_path)
    check_output_dir(tmp_path / "new" / "deeper")
    check_output_file(tmp_path / "new" / "metrics.json")
    assert not (tmp_path / "new").exists()  # the checks create nothing


def test_a_file_in_place_of_a_folder(tmp_path):
    (tmp_path / "taken").write_text("x")
    with pytest.raises(OutputPathError, match=r"^work dir .*taken is a file, not a folder$"):
        check_output_dir(tmp_path / "taken", "work dir")
    with pytest.raises(OutputPathError, match=r"--out .*taken/run cannot be created: "
                       r".*taken is a file, not a folder"):
        check_output_dir(tmp_path / "taken" / "run", "--out")
    with pytest.raises(OutputPathError, match=r"--out .*taken/sub/m.json cannot be written: "
                       r"its folder .*taken/sub cannot be created: .*taken is a file"):
        check_output_file(tmp_path / "taken" / "sub" / "m.json", "--out")


def test_a_folder_in_place_of_a_file_and_a_dangling_link(tmp_path):
    with pytest.raises(OutputPathError, match=r"export target .* is a folder, not a file"):
        check_output_file(tmp_path, "export target")
    (tmp_path / "link").symlink_to(tmp_path / "gone")
    with pytest.raises(OutputPathError, match=r"link is a symbolic link to .*gone, which does "
                       "not exist"):
        check_output_dir(tmp_path / "link")


@needs_permissions
def test_a_folder_without_write_permission(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        with pytest.raises(OutputPathError, match=r"locked is not writable \(permission denied\)"):
            check_output_dir(locked, "work dir")
        with pytest.raises(OutputPathError, match=r"cannot be written: its folder .*locked is "
                           "not writable"):
            check_output_file(locked / "model.onnx", "export target")
    finally:
        locked.chmod(0o755)


def test_a_read_only_filesystem_is_named(tmp_path, monkeypatch):
    # No read-only mount can be made in a test: the filesystem's flags are simulated.
    real_statvfs = os.statvfs

    class ReadOnly:
        def __init__(self, path):
            self.f_flag = real_statvfs(path).f_flag | os.ST_RDONLY

    monkeypatch.setattr(os, "access", lambda path, mode: False)
    monkeypatch.setattr(os, "statvfs", ReadOnly)
    with pytest.raises(OutputPathError, match=r"--show-dir .* is on a read-only filesystem"):
        check_output_dir(tmp_path, "--show-dir")
