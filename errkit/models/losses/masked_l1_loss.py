"""L1 loss over the samples of a batch that have a target."""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from errkit.registry import LOSSES


@LOSSES.register_module()
class MaskedL1Loss(nn.Module):
    """Mean absolute error over the samples selected by a boolean mask.

    Used for targets that only some samples have (the true neutral face, the
    landmarks): the mean is taken over every element of the selected samples, the
    targets of the others are never read. An empty selection gives a zero that
    keeps the graph (so ``backward`` works and gives zero gradients).

    Args:
        loss_weight (float): Weight of the loss. Defaults to 1.0.

    Shape:
        - ``pred``, ``target``: ``(B, *)``; ``mask``: ``(B,)`` bool or None.
        - Output: scalar.

    Examples:
        >>> import torch
        >>> loss = MaskedL1Loss()
        >>> pred, target = torch.zeros(2, 3), torch.tensor([[1., 1., 1.], [9., 9., 9.]])
        >>> float(loss(pred, target, torch.tensor([True, False])))
        1.0
    """

    def __init__(self, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.loss_weight = float(loss_weight)

    def forward(self, pred: torch.Tensor, target: torch.Tensor,
                mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Compute the loss.

        Args:
            pred (Tensor): Predictions ``(B, *)``.
            target (Tensor): Targets of the same shape.
            mask (Tensor, optional): ``(B,)`` bool, which samples count. Defaults
                to None (all).

        Returns:
            Tensor: Scalar loss.
        """
        if pred.shape != target.shape:
            raise ValueError(f"MaskedL1Loss: pred {tuple(pred.shape)} and target "
                             f"{tuple(target.shape)} differ in shape")
        if mask is not None:
            if mask.shape != pred.shape[:1]:
                raise ValueError(f"MaskedL1Loss: mask must be ({pred.shape[0]},), "
                                 f"got {tuple(mask.shape)}")
            mask = mask.to(device=pred.device, dtype=torch.bool)
            if not bool(mask.any()):
                return pred.sum() * 0.0
            pred, target = pred[mask], target[mask]
        return self.loss_weight * F.l1_loss(pred, target)

    def extra_repr(self) -> str:
        return f"loss_weight={self.loss_weight}"
