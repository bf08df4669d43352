"""What a "checkpoint" argument may name: a file, a ``last_checkpoint`` file or a work dir.

``errkit test``, ``errkit infer``, ``errkit export`` and
:class:`~errkit.apis.ExpressionRemover` accept the same three forms, resolved
here before anything is loaded:

- a checkpoint file (``epoch_6.pth``);
- mmengine's ``last_checkpoint`` file, a one-line text file naming the newest
  checkpoint of a run (when the run's folder has moved since, the file of
  the same name beside it is taken);
- a work dir, which stands for the ``last_checkpoint`` file inside it.

:func:`read_checkpoint_pointer` reads a ``last_checkpoint`` file; ``--resume``
uses it too (:func:`errkit.engine.checkpoint.find_resumable_checkpoint`).
Reading the checkpoint itself is :func:`errkit.utils.checkpoint.safe_load`.
"""

from __future__ import annotations

import os
import os.path as osp
import re

from errkit.utils.checkpoint import CheckpointError

__all__ = ["CheckpointNotFoundError", "LAST_CHECKPOINT", "read_checkpoint_pointer",
           "resolve_checkpoint"]

#: The file in which mmengine's checkpoint hook names a run's newest checkpoint.
LAST_CHECKPOINT = "last_checkpoint"
#: A pointer file is one short line of text; anything longer is not one.
_MAX_POINTER_BYTES = 4096
_PERIODIC = re.compile(r"^(epoch|iter)_\d+\.pth$")


class CheckpointNotFoundError(CheckpointError, FileNotFoundError):
    """The checkpoint argument names nothing that holds a checkpoint."""


def read_checkpoint_pointer(pointer: str) -> str:
    """The checkpoint path that mmengine's ``last_checkpoint`` file names.

    A relative name, or one whose folder has moved, is looked up beside the
    pointer file.

    Args:
        pointer (str): The ``last_checkpoint`` file.

    Returns:
        str: The path it names ('' when the file is empty).

    Raises:
        CheckpointError: The file is unreadable, binary or too long to be a
            path.
    """
    try:
        with open(pointer, "rb") as f:
            raw = f.read(_MAX_POINTER_BYTES + 1)
    except OSError as exc:
        raise CheckpointError(f"cannot read {pointer}: {exc.strerror or exc}") from None
    try:
        named = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        named = None
    if named is None or len(raw) > _MAX_POINTER_BYTES or "\x00" in named or "\n" in named:
        raise CheckpointError(f"{pointer} does not hold a checkpoint path (binary or "
                              "garbled contents)")
    if named and not osp.lexists(named):
        beside = osp.join(osp.dirname(pointer), osp.basename(named))
        if osp.lexists(beside):
            return beside
    return named


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
        CheckpointError: A ``last_checkpoint`` file with binary or garbled
            contents.

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
    if osp.basename(path) != LAST_CHECKPOINT:
        return path
    named = read_checkpoint_pointer(path)
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
