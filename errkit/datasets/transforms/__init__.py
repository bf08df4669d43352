"""Per-sample data transforms."""

from .base_transform import BaseTransform

__all__ = ["BaseTransform"]
