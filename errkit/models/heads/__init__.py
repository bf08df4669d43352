"""Classifier heads."""

from .cosine_margin_head import CosineMarginHead
from .linear_head import LinearHead
from .mlp_head import MLPHead

__all__ = ["CosineMarginHead", "LinearHead", "MLPHead"]
