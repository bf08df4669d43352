"""Write files atomically: a reader never sees half a file, a crash leaves none."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from typing import Any, Iterator

import numpy as np

__all__ = ["atomic_open", "atomic_write_json", "atomic_write_text"]


@contextlib.contextmanager
def atomic_open(path: str, mode: str = "w", **kwargs: Any) -> Iterator[Any]:
    """Open a temporary file beside ``path``; rename it over ``path`` on success.

    On an exception the temporary file is removed and ``path`` is untouched.

    Args:
        path (str): The final file.
        mode (str): ``'w'`` or ``'wb'``. Defaults to ``'w'``.

    Examples:
        >>> import os, tempfile
        >>> target = os.path.join(tempfile.mkdtemp(), 'a.txt')
        >>> with atomic_open(target) as f:
        ...     _ = f.write('done')
        >>> open(target).read()
        'done'
    """
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, mode, **kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise


def _default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    raise TypeError(f"cannot write {type(obj).__name__} as JSON")


def atomic_write_json(path: str, data: Any, indent: int = 2) -> None:
    """Write ``data`` as JSON atomically (numpy and torch values converted)."""
    with atomic_open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=indent, default=_default)


def atomic_write_text(path: str, text: str) -> None:
    """Write ``text`` atomically."""
    with atomic_open(path, "w", encoding="utf-8") as f:
        f.write(text)
