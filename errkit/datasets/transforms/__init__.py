"""Per-sample data transforms."""

from .base_transform import BaseTransform
from .formatting import PackFERInputs
from .loading import LoadFaceImages

__all__ = ["BaseTransform", "LoadFaceImages", "PackFERInputs"]
