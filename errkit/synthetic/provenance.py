"""Whether an image file belongs to a set written by errkit's synthetic face generator."""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Optional, Union

from errkit.synthetic.generator import META_FILE

__all__ = ["synthetic_set_root", "is_synthetic_image"]

#: Folders above an image searched for the set's meta file: the CK+ layout puts images
#: at ``ROOT/cohn-kanade-images/S001/001/S001_001_00000001.png``.
_MAX_DEPTH = 4


@lru_cache(maxsize=256)
def _is_set_root(folder: str) -> bool:
    try:
        with open(os.path.join(folder, META_FILE), encoding="utf-8") as f:
            meta = json.load(f)
    except (OSError, ValueError):
        return False
    return isinstance(meta, dict) and meta.get("generator") == "errkit.synthetic"


def synthetic_set_root(path: Union[str, os.PathLike]) -> Optional[Path]:
    """The root of the synthetic face set that holds ``path``, if any.

    A set written by :func:`~errkit.synthetic.generate_synthetic_ckplus` keeps
    its :data:`~errkit.synthetic.META_FILE` at its root; the folders up to four
    levels above ``path`` are searched for it.

    Args:
        path (str | PathLike): An image file (it need not exist).

    Returns:
        Path | None: The set's root, or None when ``path`` is not in one.
    """
    folder = Path(path).expanduser().resolve().parent
    for candidate in [folder, *folder.parents][:_MAX_DEPTH + 1]:
        if _is_set_root(str(candidate)):
            return candidate
    return None


def is_synthetic_image(path: Union[str, os.PathLike]) -> bool:
    """Whether ``path`` is an image of a synthetic face set (see :func:`synthetic_set_root`)."""
    return synthetic_set_root(path) is not None
