"""Segment loss: the true class's latent segment should carry the expression."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from errkit.registry import LOSSES


@LOSSES.register_module()
class SegmentLoss(nn.Module):
    """Cross-entropy plus an inter-class margin on segment activations.

    The activations ``a`` (``(B, K)``, the L2 norms of the ``K`` latent segments,
    see :meth:`~errkit.models.decoders.SegmentLatent.activations`) are treated as
    class scores. Two terms push the true segment ``y`` up and the others down:

    - ``ce = CE(a / temperature, y)``: the activations, read as logits, classify;
    - ``margin = mean_{i, k != y_i} relu(margin - (a[i, y_i] - a[i, k]))``: the
      true segment should exceed every other segment by at least ``margin``,
      which widens the distance between classes in the latent space.

    ``loss = loss_weight * (ce_weight * ce + margin_weight * margin)``.

    Args:
        margin (float): Required gap between the true and every other segment's
            activation. Defaults to 1.0.
        ce_weight (float): Weight of the cross-entropy term. Defaults to 1.0.
        margin_weight (float): Weight of the margin term. Defaults to 1.0.
        temperature (float): Divides the activations before the cross-entropy.
            Defaults to 1.0.
        loss_weight (float): Overall weight. Defaults to 1.0.

    Shape:
        - ``activations``: ``(B, K)``; ``labels``: ``(B,)`` integer classes.
        - Output: scalar.

    Examples:
        >>> import torch
        >>> loss = SegmentLoss(ce_weight=0.0)
        >>> float(loss(torch.tensor([[3.0, 0.5, 2.5]]), torch.tensor([0])))
        0.25
    """

    def __init__(self, margin: float = 1.0, ce_weight: float = 1.0, margin_weight: float = 1.0,
                 temperature: float = 1.0, loss_weight: float = 1.0) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError(f"SegmentLoss: temperature must be > 0, got {temperature}")
        self.margin = float(margin)
        self.ce_weight = float(ce_weight)
        self.margin_weight = float(margin_weight)
        self.temperature = float(temperature)
        self.loss_weight = float(loss_weight)

    def forward(self, activations: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Compute the loss.

        Args:
            activations (Tensor): ``(B, K)`` segment activations.
            labels (Tensor): ``(B,)`` true classes in ``[0, K)``.

        Returns:
            Tensor: Scalar loss.
        """
        if activations.dim() != 2 or labels.shape != activations.shape[:1]:
            raise ValueError(f"SegmentLoss expects activations (B, K) and labels (B,), got "
                             f"{tuple(activations.shape)} and {tuple(labels.shape)}")
        labels = labels.long()
        num_classes = activations.shape[1]
        ce = F.cross_entropy(activations / self.temperature, labels)
        if num_classes > 1:
            true = activations.gather(1, labels[:, None])
            others = ~F.one_hot(labels, num_classes).bool()
            gaps = F.relu(self.margin - (true - activations))
            margin = gaps[others].mean()
        else:
            margin = activations.sum() * 0.0
        return self.loss_weight * (self.ce_weight * ce + self.margin_weight * margin)

    def extra_repr(self) -> str:
        return (f"margin={self.margin}, ce_weight={self.ce_weight}, "
                f"margin_weight={self.margin_weight}, temperature={self.temperature}, "
                f"loss_weight={self.loss_weight}")
