"""Check output places before the work: a folder where a folder is wanted, writable.

A run that finds out at its end (or at its first checkpoint) that its work dir
is a file, or that ``--out`` lies in a read-only folder, has wasted the run and
ends in a traceback that does not name the path. errkit's commands call
:func:`check_output_dir` and :func:`check_output_file` first, and stop with one
line naming the path and what is wrong with it. Nothing is created by the
checks.
"""

from __future__ import annotations

import os
from typing import Optional

__all__ = ["OutputPathError", "check_output_dir", "check_output_file"]


class OutputPathError(OSError):
    """An output place that cannot be written; the message names the path and why."""


def _not_writable(folder: str) -> Optional[str]:
    """Why nothing can be created in the existing folder ``folder``; None when it can."""
    if os.access(folder, os.W_OK | os.X_OK):
        return None
    try:
        read_only = bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):  # no statvfs on this platform
        read_only = False
    if read_only:
        return f"{folder} is on a read-only filesystem"
    return f"{folder} is not writable (permission denied)"


def _existing_ancestor(path: str) -> str:
    parent = os.path.dirname(path)
    while parent and not os.path.lexists(parent) and os.path.dirname(parent) != parent:
        parent = os.path.dirname(parent)
    return parent or os.curdir


def _folder_problem(path: str) -> Optional[str]:
    """Why ``path`` cannot be (or become) a folder errkit writes into; None when it can."""
    if os.path.lexists(path) and not os.path.exists(path):
        return f"is a symbolic link to {os.readlink(path)}, which does not exist"
    if os.path.exists(path):
        if not os.path.isdir(path):
            return "is a file, not a folder"
        why = _not_writable(path)
        return None if why is None else ("is on a read-only filesystem"
                                         if "read-only" in why else
                                         "is not writable (permission denied)")
    ancestor = _existing_ancestor(os.path.abspath(path))
    if not os.path.isdir(ancestor):
        return f"cannot be created: {ancestor} is a file, not a folder"
    why = _not_writable(ancestor)
    return None if why is None else f"cannot be created: {why}"


def check_output_dir(path: "str | os.PathLike", what: str = "output folder") -> None:
    """Check that ``path`` is a writable folder, or can be created as one.

    Args:
        path (str | os.PathLike): The folder.
        what (str): How the message names it (``'work dir'``, ``'--show-dir'``).
            Defaults to ``'output folder'``.

    Raises:
        OutputPathError: ``path`` (or a folder above it) is a file, a dangling
            link, not writable or on a read-only filesystem.

    Examples:
        >>> import tempfile
        >>> check_output_dir(tempfile.mkdtemp() + '/new/run')
        >>> check_output_dir(__file__, 'work dir')
        Traceback (most recent call last):
        ...
        errkit.utils.output_paths.OutputPathError: work dir ...py is a file, not a folder
    """
    path = os.fspath(path)
    why = _folder_problem(path)
    if why is not None:
        raise OutputPathError(f"{what} {path} {why}")


def check_output_file(path: "str | os.PathLike", what: str = "output file") -> None:
    """Check that the file ``path`` can be written (created or replaced).

    errkit writes files atomically (a temporary file beside the final one, then
    a rename), so the file's folder must be writable, or creatable.

    Args:
        path (str | os.PathLike): The file.
        what (str): How the message names it (``'--out'``). Defaults to
            ``'output file'``.

    Raises:
        OutputPathError: ``path`` is a folder, or its folder cannot be written.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise OutputPathError(f"{what} {path} is a folder, not a file")
    folder = os.path.dirname(os.path.abspath(path))
    why = _folder_problem(folder)
    if why is not None:
        raise OutputPathError(f"{what} {path} cannot be written: its folder {folder} {why}")
