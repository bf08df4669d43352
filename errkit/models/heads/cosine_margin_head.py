"""CosFace-style cosine classifier with an additive margin."""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from errkit.registry import HEADS

from .linear_head import check_features


@HEADS.register_module()
class CosineMarginHead(nn.Module):
    """Scaled cosine similarity to learned class centres, with a margin in training.

    ``cos[i, k]`` is the cosine between feature ``i`` and the weight vector of
    class ``k``. In training, when ``labels`` are given, the true class's cosine
    is lowered by ``margin`` (CosFace, Wang et al. 2018): ``logits = scale *
    (cos - margin * onehot(labels))``, which forces a gap between classes;
    otherwise ``logits = scale * cos``. Soft labels ``(B, K)`` subtract
    ``margin * labels``.

    Args:
        in_channels (int): Size ``F`` of the input features.
        num_classes (int): Number of classes ``K``.
        scale (float): Scale ``s`` of the cosines. Defaults to 16.0.
        margin (float): Additive cosine margin ``m``. Defaults to 0.2.

    Shape:
        - ``feats``: ``(B, F)``; ``labels``: ``(B,)`` int or ``(B, K)`` float.
        - Output: ``(B, K)`` logits in ``[-scale * (1 + margin), scale]``.

    Examples:
        >>> import torch
        >>> head = CosineMarginHead(8, 3).eval()
        >>> bool(head(torch.randn(4, 8)).abs().max() <= 16.0 + 1e-4)
        True
    """

    def __init__(self, in_channels: int, num_classes: int, scale: float = 16.0,
                 margin: float = 0.2) -> None:
        super().__init__()
        if in_channels < 1 or num_classes < 1 or scale <= 0:
            raise ValueError("CosineMarginHead: in_channels, num_classes >= 1 and scale > 0 "
                             f"required, got {in_channels}, {num_classes}, {scale}")
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.scale = float(scale)
        self.margin = float(margin)
        self.weight = nn.Parameter(torch.empty(num_classes, in_channels))
        nn.init.xavier_uniform_(self.weight)

    def cosine(self, feats: torch.Tensor) -> torch.Tensor:
        """Cosine similarities ``(B, K)`` between features and class weights."""
        feats = check_features(feats, self.in_channels, "CosineMarginHead")
        return F.linear(F.normalize(feats, dim=1), F.normalize(self.weight, dim=1))

    def forward(self, feats: torch.Tensor, labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Compute logits.

        Args:
            feats (Tensor): ``(B, F)`` features.
            labels (Tensor, optional): True classes; the margin applies only in
                training mode and when given.

        Returns:
            Tensor: ``(B, K)`` logits.
        """
        cos = self.cosine(feats)
        if self.training and labels is not None and self.margin != 0:
            if labels.dim() == 1:
                target = F.one_hot(labels.long(), self.num_classes).to(cos.dtype)
            elif labels.shape == cos.shape:
                target = labels.to(cos.dtype)
            else:
                raise ValueError(f"CosineMarginHead: labels must be (B,) or "
                                 f"{tuple(cos.shape)}, got {tuple(labels.shape)}")
            cos = cos - self.margin * target
        return self.scale * cos

    def extra_repr(self) -> str:
        return (f"in_channels={self.in_channels}, num_classes={self.num_classes}, "
                f"scale={self.scale}, margin={self.margin}")
