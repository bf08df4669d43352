"""Per-sample data transforms."""

from .align_face import AlignFace
from .base_transform import BaseTransform
from .formatting import PackFERInputs
from .loading import LoadFaceImages

__all__ = ["AlignFace", "BaseTransform", "LoadFaceImages", "PackFERInputs"]
