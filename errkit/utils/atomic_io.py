"""Write files atomically: a reader never sees half a file, a crash leaves none.

Every file that errkit writes for a user or for a later run (checkpoints and
``last_checkpoint``, the face cache, CK+ frames, summaries, figures, JSON
results) goes through :func:`atomic_open`: the content is written into a
temporary file beside the target (``.<name>.<random>.tmp``), flushed and
``fsync``-ed, given the permissions a plain ``open()`` would give a new file
(``0o666`` less the process umask), renamed over the target with
:func:`os.replace`, and the folder is ``fsync``-ed so that the rename survives a
power loss. On an exception the temporary file is removed and the target is
left as it was.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from typing import Any, Iterator, Union

import numpy as np

__all__ = ["TEMP_FILE_PATTERN", "atomic_open", "atomic_write_bytes", "atomic_write_json",
           "atomic_write_text", "default_file_mode", "fsync_folder"]

#: Names of the temporary files of :func:`atomic_open`: ``.<name>.<random>.tmp``.
TEMP_FILE_PATTERN = re.compile(r"^\..+\.[A-Za-z0-9_]+\.tmp$")

PathLike = Union[str, "os.PathLike[str]"]


def default_file_mode() -> int:
    """``0o666`` less the process umask: the mode ``open()`` gives a new file.

    Returns:
        int: The permission bits.
    """
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def fsync_folder(folder: PathLike) -> None:
    """``fsync`` a folder so that a rename inside it survives a power loss.

    A no-op where folders cannot be opened (Windows).

    Args:
        folder (str | PathLike): The folder.
    """
    with contextlib.suppress(OSError):
        fd = os.open(os.fspath(folder), os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_open(path: PathLike, mode: str = "w", **kwargs: Any) -> Iterator[Any]:
    """Open a temporary file beside ``path``; move it over ``path`` on success.

    The file is ``fsync``-ed, gets the umask's permissions and is renamed into
    place, and the folder is ``fsync``-ed (see the module docstring). On an
    exception the temporary file is removed and ``path`` is untouched.

    Args:
        path (str | PathLike): The final file; its folder is created.
        mode (str): ``'w'`` or ``'wb'``. Defaults to ``'w'``.
        **kwargs: Passed to :func:`open` (``encoding``, ``newline``, ...).

    Yields:
        The open temporary file.

    Examples:
        >>> import os, tempfile
        >>> target = os.path.join(tempfile.mkdtemp(), 'a.txt')
        >>> with atomic_open(target) as f:
        ...     _ = f.write('done')
        >>> open(target).read()
        'done'
        >>> oct(os.stat(target).st_mode & 0o777) == oct(default_file_mode())
        True
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, mode, **kwargs) as f:
            yield f
            f.flush()
            with contextlib.suppress(OSError, AttributeError):  # mkstemp creates 0o600
                os.fchmod(f.fileno(), default_file_mode())
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise
    fsync_folder(folder)


def atomic_write_bytes(path: PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_open`).

    Args:
        path (str | PathLike): The final file; its folder is created.
        data (bytes): The content.
    """
    with atomic_open(path, "wb") as f:
        f.write(data)


def _default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    raise TypeError(f"cannot write {type(obj).__name__} as JSON")


def atomic_write_json(path: PathLike, data: Any, indent: int = 2) -> None:
    """Write ``data`` as JSON atomically (numpy and torch values converted).

    Args:
        path (str | PathLike): The final file.
        data: JSON-serialisable data; numpy and torch values become numbers
            and lists.
        indent (int): Indentation. Defaults to 2.
    """
    with atomic_open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=indent, default=_default)


def atomic_write_text(path: PathLike, text: str) -> None:
    """Write ``text`` atomically, UTF-8 encoded.

    Args:
        path (str | PathLike): The final file.
        text (str): The content.
    """
    with atomic_open(path, "w", encoding="utf-8") as f:
        f.write(text)
