"""A two-layer perceptron classifier head."""

from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from errkit.registry import HEADS

from .linear_head import check_features


@HEADS.register_module()
class MLPHead(nn.Module):
    """Linear, LayerNorm, ReLU, dropout, then a linear layer to class logits.

    Args:
        in_channels (int): Size ``F`` of the input features.
        num_classes (int): Number of classes ``K``.
        hidden_channels (int): Width of the hidden layer. Defaults to 256.
        dropout (float): Dropout probability after the hidden layer. Defaults
            to 0.0.

    Shape:
        - ``feats``: ``(B, F)``.
        - Output: ``(B, K)`` logits.

    Examples:
        >>> import torch
        >>> MLPHead(16, 7, hidden_channels=8)(torch.randn(2, 16)).shape
        torch.Size([2, 7])
    """

    def __init__(self, in_channels: int, num_classes: int, hidden_channels: int = 256,
                 dropout: float = 0.0) -> None:
        super().__init__()
        if min(in_channels, num_classes, hidden_channels) < 1:
            raise ValueError("MLPHead: in_channels, num_classes and hidden_channels must be "
                             f">= 1, got {in_channels}, {num_classes}, {hidden_channels}")
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.mlp = nn.Sequential(
            nn.Linear(in_channels, hidden_channels), nn.LayerNorm(hidden_channels),
            nn.ReLU(inplace=True), nn.Dropout(dropout) if dropout > 0 else nn.Identity(),
            nn.Linear(hidden_channels, num_classes))

    def forward(self, feats: torch.Tensor, labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Compute logits.

        Args:
            feats (Tensor): ``(B, F)`` features.
            labels (Tensor, optional): Unused; accepted for a uniform head interface.

        Returns:
            Tensor: ``(B, K)`` logits.
        """
        return self.mlp(check_features(feats, self.in_channels, "MLPHead"))
