"""The training engine: the runner factory, hooks, optimizer constructors, checkpoints.

:func:`build_runner` is how errkit builds mmengine's Runner (an
:class:`ErrkitRunner`); every checkpoint it reads goes through errkit's
allow-listed loader (:mod:`errkit.utils.checkpoint`,
:mod:`~errkit.engine.checkpoint_loader`). Importing this package changes nothing.
"""

from . import hooks, optimizers
from .checkpoint import CheckpointError, find_resumable_checkpoint, register_safe_globals, safe_load
from .checkpoint_loader import use_safe_checkpoint_loader
from .runner import ErrkitRunner, build_runner

__all__ = ["build_runner", "ErrkitRunner", "find_resumable_checkpoint", "hooks", "optimizers",
           "CheckpointError", "register_safe_globals", "safe_load", "use_safe_checkpoint_loader"]
