"""Runner hooks, optimizer constructors and safe checkpoint loading.

Importing this package allow-lists the classes that mmengine stores in its
checkpoints for ``torch.load(weights_only=True)`` (see
:mod:`errkit.engine.checkpoint`).
"""

from . import hooks, optimizers
from .checkpoint import CheckpointError, register_safe_globals, safe_load

register_safe_globals()

__all__ = ["hooks", "optimizers", "CheckpointError", "register_safe_globals", "safe_load"]
