"""The segmented latent code of the generator's encoder."""

from __future__ import annotations

from typing import Sequence, Union

import torch
from torch import nn

from errkit.registry import MODELS


@MODELS.register_module()
class SegmentLatent(nn.Module):
    """Project the deepest encoder feature to ``K`` latent segments of size ``d``.

    The feature map is globally average-pooled and mapped by one linear layer to
    ``z`` of shape ``(B, K, d)``: one segment per expression class. Trained with
    :class:`~errkit.models.losses.SegmentLoss`, the segment of the true class
    carries the expression (large norm) while the others stay quiet, so the
    per-segment L2 norms (:meth:`activations`) are interpretable class scores.
    The decoder receives the whole code, flattened to ``(B, K * d)``.

    Args:
        in_channels (int): Channels of the deepest encoder feature.
        num_segments (int): Number of segments ``K`` (the number of classes).
        segment_dim (int): Size ``d`` of each segment. Defaults to 16.
        dropout (float): Dropout on the pooled feature in training. Defaults to 0.0.

    Shape:
        - Input: ``(B, in_channels, h, w)`` (or a list of features, the last used).
        - Output: ``(B, num_segments, segment_dim)``.

    Examples:
        >>> import torch
        >>> seg = SegmentLatent(in_channels=8, num_segments=7, segment_dim=4)
        >>> z = seg(torch.randn(2, 8, 3, 3))
        >>> z.shape, seg.activations(z).shape
        (torch.Size([2, 7, 4]), torch.Size([2, 7]))
    """

    def __init__(self, in_channels: int, num_segments: int, segment_dim: int = 16,
                 dropout: float = 0.0) -> None:
        super().__init__()
        if in_channels < 1 or num_segments < 1 or segment_dim < 1:
            raise ValueError(
                "SegmentLatent: in_channels, num_segments and segment_dim must be >= 1, got "
                f"{in_channels}, {num_segments}, {segment_dim}")
        self.in_channels = in_channels
        self.num_segments = num_segments
        self.segment_dim = segment_dim
        self.latent_dim = num_segments * segment_dim
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.fc = nn.Linear(in_channels, self.latent_dim)

    def forward(self, feat: Union[torch.Tensor, Sequence[torch.Tensor]]) -> torch.Tensor:
        """Compute the segmented code.

        Args:
            feat (Tensor | list[Tensor]): The deepest feature ``(B, C, h, w)``, or
                the encoder's feature list (its last element is used).

        Returns:
            Tensor: ``z`` of shape ``(B, K, d)``.
        """
        if isinstance(feat, (list, tuple)):
            feat = feat[-1]
        if feat.dim() != 4 or feat.shape[1] != self.in_channels:
            raise ValueError(f"SegmentLatent expects (B, {self.in_channels}, h, w), "
                             f"got {tuple(feat.shape)}")
        pooled = self.dropout(self.pool(feat).flatten(1))
        return self.fc(pooled).view(-1, self.num_segments, self.segment_dim)

    @staticmethod
    def activations(z: torch.Tensor) -> torch.Tensor:
        """L2 norm of each segment: the interpretable class scores.

        Args:
            z (Tensor): ``(B, K, d)`` segmented code.

        Returns:
            Tensor: ``(B, K)`` non-negative activations.
        """
        if z.dim() != 3:
            raise ValueError(f"SegmentLatent.activations expects (B, K, d), got {tuple(z.shape)}")
        return torch.linalg.vector_norm(z, dim=-1)
