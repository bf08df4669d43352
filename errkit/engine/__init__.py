"""The training engine: the runner factory, hooks, optimizer constructors, checkpoints.

:func:`build_runner` is how errkit builds mmengine's Runner; it allow-lists
the classes of mmengine checkpoints for ``torch.load(weights_only=True)``
(:mod:`errkit.utils.checkpoint`). Importing this package changes nothing.
"""

from . import hooks, optimizers
from .checkpoint import CheckpointError, find_resumable_checkpoint, register_safe_globals, safe_load
from .runner import build_runner

__all__ = ["build_runner", "find_resumable_checkpoint", "hooks", "optimizers",
           "CheckpointError", "register_safe_globals", "safe_load"]
