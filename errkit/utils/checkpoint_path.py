"""What a "checkpoint" argument may name: a file, a ``last_checkpoint`` file or a work dir.

``errkit test``, ``errkit infer``, ``errkit export`` and
:class:`~errkit.apis.ExpressionRemover` accept the same three forms, resolved
here before anything is loaded:

- a checkpoint file (``epoch_6.pth``);
- mmengine's ``last_checkpoint`` file, a one-line text file naming the newest
  checkpoint of a run (when the run's folder has moved since, the file of
  the same name beside it is taken);
- a work dir, which stands for the ``last_checkpoint`` file inside it.

Reading the checkpoint itself is :func:`errkit.utils.checkpoint.safe_load`.
"""

from __future__ import annotations

import os
import os.path as osp
import re
from typing import Optional

from errkit.utils.checkpoint import CheckpointError

__all__ = ["CheckpointNotFoundError", "LAST_CHECKPOINT", "resolve_checkpoint"]

#: The file in which mmengine's checkpoint hook names a run's newest checkpoint.
LAST_CHECKPOINT = "last_checkpoint"
#: Checkpoint files that a zip archive (``torch.save``'s format) or a pickle start with.
_BINARY_MAGIC = (b"PK\x03\x04", b"\x80")
#: A pointer file is one short line of text; anything longer is not one.
_MAX_POINTER_BYTES = 4096
_PERIODIC = re.compile(r"^(epoch|iter)_\d+\.pth$")


class CheckpointNotFoundError(CheckpointError, FileNotFoundError):
    """The checkpoint argument names nothing that holds a checkpoint."""


def _pointer_target(path: str) -> Optional[str]:
    """The path a ``last_checkpoint``-style file names; None when ``path`` is not one."""
    if osp.getsize(path) > _MAX_POINTER_BYTES:
        return None
    with open(path, "rb") as f:
        head = f.read(_MAX_POINTER_BYTES + 1)
    if head.startswith(_BINARY_MAGIC):
        return None
    try:
        text = head.decode("utf-8").strip()
    except UnicodeDecodeError:
        return None
    if "\n" in text or "\x00" in text:
        return None
    return text


def _newest_periodic(folder: str) -> str:
    names = sorted((n for n in os.listdir(folder) if _PERIODIC.match(n)),
                   key=lambda n: os.stat(osp.join(folder, n)).st_mtime)
    return f" (it holds {', '.join(names[-3:])}: pass one of them)" if names else ""


def resolve_checkpoint(path: str) -> str:
    """The checkpoint file a checkpoint argument stands for.

    Args:
        path (str): A checkpoint file, a ``last_checkpoint`` file, or a work dir
            holding one.

    Returns:
        str: An existing file (not yet read: see
        :func:`~errkit.utils.checkpoint.safe_load`).

    Raises:
        CheckpointNotFoundError: Nothing at ``path``, a work dir without a
            ``last_checkpoint`` file, or a ``last_checkpoint`` file that names
            a missing file or is empty. The message is one line naming the path.

    Examples:
        >>> import os, tempfile
        >>> run = tempfile.mkdtemp()
        >>> open(os.path.join(run, 'epoch_6.pth'), 'wb').close()
        >>> with open(os.path.join(run, 'last_checkpoint'), 'w') as f:
        ...     _ = f.write('/elsewhere/old_run/epoch_6.pth')
        >>> resolve_checkpoint(run) == os.path.join(run, 'epoch_6.pth')
        True
    """
    path = os.fspath(path)
    if osp.isdir(path):
        pointer = osp.join(path, LAST_CHECKPOINT)
        if not osp.isfile(pointer):
            raise CheckpointNotFoundError(
                f"work dir {path} has no {LAST_CHECKPOINT} file{_newest_periodic(path)}")
        path = pointer
    if not osp.isfile(path):
        raise CheckpointNotFoundError(f"checkpoint not found: {path}")
    named = _pointer_target(path)
    if named is None:
        return path
    if not named:
        raise CheckpointNotFoundError(f"{path} is empty: neither a checkpoint nor a file "
                                      "naming one")
    # mmengine writes the absolute path; a run folder that moved keeps its files.
    candidates = [named if osp.isabs(named) else osp.join(osp.dirname(path), named),
                  osp.join(osp.dirname(path), osp.basename(named))]
    for candidate in candidates:
        if osp.isfile(candidate):
            return candidate
    raise CheckpointNotFoundError(
        f"{path} names {named}, which does not exist (nor does "
        f"{candidates[-1]}); pass a checkpoint file instead")
