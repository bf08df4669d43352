"""Checkpoints of a run's work dir: which one ``--resume`` picks.

Reading checkpoints safely (the ``weights_only`` allow-list, the state dict
inside a checkpoint) is :mod:`errkit.utils.checkpoint`; its public names are
re-exported here.
"""

from __future__ import annotations

import glob
import os
import os.path as osp
import re
from dataclasses import dataclass
from typing import List, Optional, Tuple

from errkit.utils.checkpoint import (SAFE_GLOBALS, CheckpointError,  # noqa: F401
                                     CheckpointRefusedError, load_backbone_weights,
                                     register_safe_globals, restricted_getattr, safe_load,
                                     state_dict_from_checkpoint)
from errkit.utils.checkpoint_path import read_checkpoint_pointer  # noqa: F401

# The safe-loading names and read_checkpoint_pointer are importable from here too;
# they are documented in errkit.utils.checkpoint and errkit.utils.checkpoint_path.
__all__ = ["SkippedCheckpoint", "find_resumable_checkpoint"]

#: Names of the periodic checkpoints that auto-resume considers (not ``best_*``).
_PERIODIC_CKPT = re.compile(r"^(epoch|iter)_(\d+)\.pth$")


@dataclass(frozen=True)
class SkippedCheckpoint:
    """A checkpoint that ``--resume`` passed over, and why.

    Attributes:
        path (str): The file (or ``last_checkpoint`` when that is unreadable).
        reason (str): The one-line reason.
        refused (bool): The file was refused for its contents
            (:class:`~errkit.utils.checkpoint.CheckpointRefusedError`): it may be
            intact, so it must not be deleted on errkit's advice.
    """

    path: str
    reason: str
    refused: bool = False

    def __str__(self) -> str:
        return self.reason


def _mtime(path: str) -> float:
    """The modification time of ``path``; of the link itself when it dangles or loops."""
    try:
        return os.stat(path).st_mtime
    except OSError:
        try:
            return os.lstat(path).st_mtime
        except OSError:  # removed meanwhile
            return 0.0


def find_resumable_checkpoint(work_dir: str) -> Tuple[Optional[str], List[SkippedCheckpoint]]:
    """The newest checkpoint of ``work_dir`` that loads, for ``--resume`` without a path.

    Candidates, newest first: the file named by ``last_checkpoint``, then every
    ``epoch_N.pth`` / ``iter_N.pth`` by modification time. Each is loaded with
    :func:`~errkit.utils.checkpoint.safe_load` until one reads; the ones
    skipped on the way (missing, truncated, corrupt, dangling or looping
    links, refused for their contents; a binary ``last_checkpoint``) are
    reported.

    Args:
        work_dir (str): The run's work dir.

    Returns:
        tuple: The checkpoint path (None when the folder holds none) and a list
        of :class:`SkippedCheckpoint`, one per skipped candidate.
    """
    candidates: List[str] = []
    skipped: List[SkippedCheckpoint] = []
    pointer = osp.join(work_dir, "last_checkpoint")
    if osp.isfile(pointer):
        try:
            named = read_checkpoint_pointer(pointer)
        except CheckpointError as exc:
            skipped.append(SkippedCheckpoint(pointer, str(exc)))
            named = ""
        if named:
            candidates.append(named)
    periodic = [p for p in glob.glob(osp.join(work_dir, "*.pth"))
                if _PERIODIC_CKPT.match(osp.basename(p))]
    periodic.sort(key=lambda p: (_mtime(p),
                                 int(_PERIODIC_CKPT.match(osp.basename(p)).group(2))),
                  reverse=True)
    known = {osp.abspath(c) for c in candidates}
    candidates += [p for p in periodic if osp.abspath(p) not in known]
    for path in candidates:
        try:
            safe_load(path)
        except CheckpointError as exc:
            skipped.append(SkippedCheckpoint(path, str(exc),
                                             isinstance(exc, CheckpointRefusedError)))
            continue
        return path, skipped
    return None, skipped
