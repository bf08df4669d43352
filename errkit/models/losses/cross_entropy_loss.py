"""Classification cross-entropy."""

from __future__ import annotations

from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from errkit.registry import LOSSES


@LOSSES.register_module()
class CrossEntropyLoss(nn.Module):
    """Cross-entropy on class logits, with optional label smoothing and class weights.

    ``labels`` may be integer classes ``(B,)`` or class probabilities ``(B, K)``
    (soft targets, e.g. from mixing augmentations).

    Args:
        label_smoothing (float): Label smoothing in ``[0, 1)``. Defaults to 0.0.
        loss_weight (float): Weight of the loss. Defaults to 1.0.
        class_weight (Sequence[float], optional): Per-class weights. Defaults to
            None.

    Shape:
        - ``logits``: ``(B, K)``; ``labels``: ``(B,)`` int or ``(B, K)`` float.
        - Output: scalar.

    Examples:
        >>> import torch
        >>> loss = CrossEntropyLoss()
        >>> round(float(loss(torch.zeros(2, 4), torch.tensor([0, 3]))), 4)  # log(4)
        1.3863
    """

    def __init__(self, label_smoothing: float = 0.0, loss_weight: float = 1.0,
                 class_weight: Optional[Sequence[float]] = None) -> None:
        super().__init__()
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f"CrossEntropyLoss: label_smoothing must be in [0, 1), "
                             f"got {label_smoothing}")
        self.label_smoothing = float(label_smoothing)
        self.loss_weight = float(loss_weight)
        if class_weight is not None:
            self.register_buffer("class_weight", torch.as_tensor(class_weight,
                                                                 dtype=torch.float32))
        else:
            self.class_weight = None

    def forward(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Compute the loss.

        Args:
            logits (Tensor): ``(B, K)`` unnormalised scores.
            labels (Tensor): ``(B,)`` classes or ``(B, K)`` probabilities.

        Returns:
            Tensor: Scalar loss.
        """
        if logits.dim() != 2:
            raise ValueError(f"CrossEntropyLoss expects logits (B, K), got {tuple(logits.shape)}")
        if labels.dim() == 1:
            labels = labels.long()
        elif labels.shape != logits.shape:
            raise ValueError(f"CrossEntropyLoss: labels must be (B,) or {tuple(logits.shape)}, "
                             f"got {tuple(labels.shape)}")
        else:
            labels = labels.to(logits.dtype)
        weight = None if self.class_weight is None else self.class_weight.to(logits.dtype)
        return self.loss_weight * F.cross_entropy(logits, labels, weight=weight,
                                                  label_smoothing=self.label_smoothing)

    def extra_repr(self) -> str:
        return f"label_smoothing={self.label_smoothing}, loss_weight={self.loss_weight}"
