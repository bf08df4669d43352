"""Facial-expression datasets, splits, transforms and batch augmentations."""

from . import batch_augments, transforms

__all__ = ["batch_augments", "transforms"]
