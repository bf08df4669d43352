"""Errors raised by errkit's datasets."""

from __future__ import annotations

__all__ = ["DatasetNotFoundError"]


class DatasetNotFoundError(FileNotFoundError):
    """A dataset's root folder or manifest is missing.

    The message says where the data must be, how to prepare it, and which
    command trains without it (``make demo`` on the embedded synthetic faces).
    """
