"""mmengine's checkpoint loading, routed through errkit's allow-listed loader.

mmengine reads checkpoints with :class:`~mmengine.runner.CheckpointLoader`: one
loader function per path prefix (local files, ``http://``, ``s3://``,
``open-mmlab://`` ...), each calling ``torch.load`` without ``weights_only``.
With ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1``, or a PyTorch older than 2.6, such
a call unpickles anything. :func:`use_safe_checkpoint_loader` registers
errkit's loaders for every prefix mmengine knows (mmengine's own mechanism,
``CheckpointLoader.register_scheme``):

- local paths are read by :func:`~errkit.utils.checkpoint.safe_load`
  (``weights_only=True`` with errkit's allow-list);
- remote prefixes are refused: errkit reads checkpoints from local files only
  (download the file and pass its path).

:func:`errkit.engine.build_runner` calls it, so ``load_from``, ``resume`` and
``init_cfg=dict(type='Pretrained', ...)`` all read through errkit's loader.
"""

from __future__ import annotations

import os.path as osp
from typing import Any, Dict, Tuple

from mmengine.runner import CheckpointLoader

from errkit.utils.checkpoint import CheckpointError, safe_load

__all__ = ["REMOTE_CHECKPOINT_PREFIXES", "load_checkpoint_file", "load_from_local_safe",
           "load_from_remote_refused", "use_safe_checkpoint_loader"]

#: The non-local prefixes that mmengine's :class:`~mmengine.runner.CheckpointLoader`
#: registers (mmengine 0.10.7), each replaced by :func:`load_from_remote_refused`.
REMOTE_CHECKPOINT_PREFIXES: Tuple[str, ...] = (
    "http://", "https://", "pavi://", r"(\S+\:)?s3://", r"(\S+\:)?petrel://", "modelzoo://",
    "torchvision://", "open-mmlab://", "openmmlab://", "mmcls://")


def load_from_local_safe(filename: str, map_location: Any = None) -> Dict[str, Any]:
    """Read a local checkpoint with :func:`~errkit.utils.checkpoint.safe_load`.

    Args:
        filename (str): The file (``~`` is expanded).
        map_location: As in :func:`torch.load`. Defaults to None.

    Returns:
        dict: The checkpoint.

    Raises:
        CheckpointError: See :func:`~errkit.utils.checkpoint.safe_load`.
    """
    return safe_load(osp.expanduser(filename), map_location=map_location)


def load_from_remote_refused(filename: str, map_location: Any = None) -> Dict[str, Any]:
    """Refuse a remote checkpoint: errkit reads checkpoints from local files only.

    Raises:
        CheckpointError: Always, naming ``filename``.
    """
    raise CheckpointError(f"errkit reads checkpoints from local files only, not {filename}: "
                          "download it and pass its local path")


def load_checkpoint_file(filename: str, map_location: Any = None) -> Dict[str, Any]:
    """Read a checkpoint as errkit's runner does: local files safely, remote ones never.

    Args:
        filename (str): A local path, or a URL / ``scheme://`` name (refused).
        map_location: As in :func:`torch.load`. Defaults to None.

    Returns:
        dict: The checkpoint.

    Raises:
        CheckpointError: A remote name, or see :func:`~errkit.utils.checkpoint.safe_load`.
    """
    if "://" in str(filename):
        return load_from_remote_refused(filename, map_location)
    return load_from_local_safe(filename, map_location)


def use_safe_checkpoint_loader() -> None:
    """Register errkit's loaders for every prefix of mmengine's ``CheckpointLoader``.

    Idempotent. Called by :func:`errkit.engine.build_runner`.

    Examples:
        >>> use_safe_checkpoint_loader()
        >>> CheckpointLoader._get_checkpoint_loader('work_dirs/x/epoch_1.pth').__name__
        'load_from_local_safe'
    """
    CheckpointLoader.register_scheme("", load_from_local_safe, force=True)
    CheckpointLoader.register_scheme(list(REMOTE_CHECKPOINT_PREFIXES), load_from_remote_refused,
                                     force=True)
