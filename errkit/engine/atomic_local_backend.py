"""A local mmengine file backend whose writes are atomic.

mmengine's :class:`~mmengine.fileio.LocalBackend` opens the final path and
writes into it, so a process killed mid-write leaves a truncated file under the
final name (for checkpoints: an ``epoch_N.pth`` that ``--resume`` then picks).
:class:`AtomicLocalBackend` writes through errkit's one atomic writer,
:func:`errkit.utils.atomic_io.atomic_open`: a reader (or a resumed run) sees
the old file or the complete new one, never a part.

The backend is registered in mmengine's file-backend registry under
:data:`ATOMIC_BACKEND` when this module is imported; it is chosen per use with
``backend_args=dict(backend='errkit_atomic_local')`` (what
:class:`~errkit.engine.hooks.AtomicCheckpointHook` does), never globally.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import List, Union

from mmengine.fileio import LocalBackend, register_backend

from errkit.utils.atomic_io import TEMP_FILE_PATTERN, atomic_write_bytes, fsync_folder

__all__ = ["ATOMIC_BACKEND", "AtomicLocalBackend", "atomic_write_bytes", "fsync_folder",
           "stale_temp_files"]

#: Name of :class:`AtomicLocalBackend` in mmengine's file-backend registry.
ATOMIC_BACKEND = "errkit_atomic_local"


def stale_temp_files(folder: Union[str, Path], suffixes=(".pth", "last_checkpoint")) -> List[str]:
    """Temporary files left in ``folder`` by atomic writes that were killed.

    Args:
        folder (str | Path): The folder to scan (not recursively).
        suffixes (tuple[str]): Only temporaries of final names ending so.
            Defaults to checkpoints and ``last_checkpoint``.

    Returns:
        list[str]: Their paths, sorted.
    """
    if not os.path.isdir(folder):
        return []
    found = []
    for name in os.listdir(folder):
        if TEMP_FILE_PATTERN.match(name):
            final = name[1:].rsplit(".", 2)[0]
            if final.endswith(tuple(suffixes)):
                found.append(os.path.join(folder, name))
    return sorted(found)


@register_backend(ATOMIC_BACKEND, force=True)
class AtomicLocalBackend(LocalBackend):
    """:class:`~mmengine.fileio.LocalBackend` with atomic :meth:`put` and :meth:`put_text`.

    Reading, listing and removing are the local backend's own.

    Examples:
        >>> import os, tempfile
        >>> from mmengine.fileio import get_file_backend
        >>> backend = get_file_backend(backend_args=dict(backend='errkit_atomic_local'))
        >>> path = os.path.join(tempfile.mkdtemp(), 'a.bin')
        >>> backend.put(b'abc', path)
        >>> open(path, 'rb').read()
        b'abc'
    """

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        """Write bytes to ``filepath`` atomically (its folder is created)."""
        atomic_write_bytes(filepath, obj)

    def put_text(self, obj: str, filepath: Union[str, Path], encoding: str = "utf-8") -> None:
        """Write text to ``filepath`` atomically (its folder is created)."""
        atomic_write_bytes(filepath, obj.encode(encoding))
