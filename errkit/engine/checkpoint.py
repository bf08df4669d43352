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
from typing import List, Optional, Tuple

from errkit.utils.checkpoint import (SAFE_GLOBALS, CheckpointError,  # noqa: F401
                                     load_backbone_weights, register_safe_globals,
                                     restricted_getattr, safe_load, state_dict_from_checkpoint)

# The safe-loading names are importable from here too; they are documented in
# errkit.utils.checkpoint.
__all__ = ["find_resumable_checkpoint"]

#: Names of the periodic checkpoints that auto-resume considers (not ``best_*``).
_PERIODIC_CKPT = re.compile(r"^(epoch|iter)_(\d+)\.pth$")


def find_resumable_checkpoint(work_dir: str) -> Tuple[Optional[str], List[str]]:
    """The newest checkpoint of ``work_dir`` that loads, for ``--resume`` without a path.

    Candidates, newest first: the file named by ``last_checkpoint``, then every
    ``epoch_N.pth`` / ``iter_N.pth`` by modification time. Each is loaded with
    :func:`~errkit.utils.checkpoint.safe_load` until one reads; the ones
    skipped on the way (missing, truncated, corrupt) are reported.

    Args:
        work_dir (str): The run's work dir.

    Returns:
        tuple: The checkpoint path (None when the folder holds none) and a list
        of warnings, one per skipped candidate.
    """
    candidates: List[str] = []
    pointer = osp.join(work_dir, "last_checkpoint")
    if osp.isfile(pointer):
        with open(pointer, encoding="utf-8") as f:
            named = f.read().strip()
        if named:
            candidates.append(named)
    periodic = [p for p in glob.glob(osp.join(work_dir, "*.pth"))
                if _PERIODIC_CKPT.match(osp.basename(p))]
    periodic.sort(key=lambda p: (os.stat(p).st_mtime,
                                 int(_PERIODIC_CKPT.match(osp.basename(p)).group(2))),
                  reverse=True)
    candidates += [p for p in periodic
                   if osp.abspath(p) not in {osp.abspath(c) for c in candidates}]
    skipped: List[str] = []
    for path in candidates:
        try:
            safe_load(path)
        except CheckpointError as exc:
            skipped.append(str(exc))
            continue
        return path, skipped
    return None, skipped
