"""A linear classifier head."""

from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from errkit.registry import HEADS


def check_features(feats: torch.Tensor, in_channels: int, name: str) -> torch.Tensor:
    """Flatten ``feats`` to ``(B, F)`` and check ``F == in_channels``."""
    feats = feats.flatten(1) if feats.dim() > 2 else feats
    if feats.dim() != 2 or feats.shape[1] != in_channels:
        raise ValueError(f"{name} expects features (B, {in_channels}), got {tuple(feats.shape)}")
    return feats


@HEADS.register_module()
class LinearHead(nn.Module):
    """Dropout then one linear layer from features to class logits.

    Args:
        in_channels (int): Size ``F`` of the input features.
        num_classes (int): Number of classes ``K``.
        dropout (float): Dropout probability before the linear layer. Defaults
            to 0.0.

    Shape:
        - ``feats``: ``(B, F)`` (or ``(B, ...)`` flattening to it).
        - Output: ``(B, K)`` logits.

    Examples:
        >>> import torch
        >>> LinearHead(16, 7)(torch.randn(2, 16)).shape
        torch.Size([2, 7])
    """

    def __init__(self, in_channels: int, num_classes: int, dropout: float = 0.0) -> None:
        super().__init__()
        if in_channels < 1 or num_classes < 1:
            raise ValueError(f"LinearHead: in_channels and num_classes must be >= 1, got "
                             f"{in_channels}, {num_classes}")
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.fc = nn.Linear(in_channels, num_classes)

    def forward(self, feats: torch.Tensor, labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Compute logits.

        Args:
            feats (Tensor): ``(B, F)`` features.
            labels (Tensor, optional): Unused; accepted for a uniform head interface.

        Returns:
            Tensor: ``(B, K)`` logits.
        """
        feats = check_features(feats, self.in_channels, "LinearHead")
        return self.fc(self.dropout(feats))
