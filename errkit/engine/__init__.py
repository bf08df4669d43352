"""Runner hooks and checkpoint handling."""

from . import hooks

__all__ = ["hooks"]
