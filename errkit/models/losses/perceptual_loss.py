"""Feature-space (perceptual) L1 loss through a frozen encoder."""

from __future__ import annotations

from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from errkit.registry import ENCODERS, LOSSES


@LOSSES.register_module()
class PerceptualLoss(nn.Module):
    """L1 distance between frozen-encoder features of a generated and a true image.

    The encoder (any :data:`~errkit.registry.ENCODERS` config, typically a
    :class:`~errkit.models.encoders.TimmEncoder` with a local ``pretrained``
    checkpoint, e.g. a face-identity network) is frozen and kept in eval mode.
    For each chosen level ``l``: ``w_l * mean|E_l(pred) - E_l(target)|``, summed
    and multiplied by ``loss_weight``; the target's features carry no gradient.
    Images whose channel count differs from the encoder's are converted
    (grey repeated to 3 channels, colour averaged to grey). With ``mask``, only the
    selected samples count; an empty selection gives a zero that keeps the graph.

    Args:
        encoder_cfg (dict): Config of the frozen encoder. Defaults to a random
            ``resnet10t`` on 3 channels (a fixed random network still measures
            structure; give a checkpoint for a proper perceptual loss).
        layers (Sequence[int]): Indices of the encoder levels compared.
            Defaults to ``(0, 1, 2)``.
        layer_weights (Sequence[float], optional): One weight per layer.
            Defaults to None (all 1).
        loss_weight (float): Overall weight. Defaults to 1.0.

    Shape:
        - ``pred``, ``target``: ``(B, C, H, W)``; ``mask``: ``(B,)`` bool or None.
        - Output: scalar.

    Examples:
        >>> import torch
        >>> loss = PerceptualLoss(dict(type='TimmEncoder', model_name='resnet10t',
        ...                            in_channels=1), layers=(0, 1))
        >>> x = torch.rand(2, 1, 32, 32)
        >>> float(loss(x, x))
        0.0
    """

    def __init__(self, encoder_cfg: Optional[dict] = None, layers: Sequence[int] = (0, 1, 2),
                 layer_weights: Optional[Sequence[float]] = None,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        if encoder_cfg is None:
            encoder_cfg = dict(type="TimmEncoder", model_name="resnet10t", in_channels=3)
        self.encoder = ENCODERS.build(encoder_cfg) if isinstance(encoder_cfg, dict) \
            else encoder_cfg
        self.encoder.requires_grad_(False)
        self.encoder.eval()
        num_levels = len(getattr(self.encoder, "channels", layers))
        self.layers = [int(i) for i in layers]
        bad = [i for i in self.layers if not -num_levels <= i < num_levels]
        if not self.layers or bad:
            raise ValueError(f"PerceptualLoss: layers {list(layers)} must be non-empty indices "
                             f"of the encoder's {num_levels} levels")
        if layer_weights is None:
            layer_weights = [1.0] * len(self.layers)
        if len(layer_weights) != len(self.layers):
            raise ValueError(f"PerceptualLoss: {len(layer_weights)} layer_weights for "
                             f"{len(self.layers)} layers")
        self.layer_weights = [float(w) for w in layer_weights]
        self.loss_weight = float(loss_weight)
        self.in_channels = getattr(self.encoder, "in_channels", None)

    def train(self, mode: bool = True) -> "PerceptualLoss":
        """Switch mode; the frozen encoder always stays in eval mode."""
        super().train(mode)
        self.encoder.eval()
        return self

    def _to_encoder_channels(self, img: torch.Tensor) -> torch.Tensor:
        c = self.in_channels
        if c is None or img.shape[1] == c:
            return img
        if img.shape[1] == 1:
            return img.expand(-1, c, -1, -1)
        if c == 1:
            return img.mean(dim=1, keepdim=True)
        raise ValueError(f"PerceptualLoss: cannot feed {img.shape[1]}-channel images to an "
                         f"encoder of {c} channels")

    def forward(self, pred: torch.Tensor, target: torch.Tensor,
                mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Compute the loss.

        Args:
            pred (Tensor): Generated images.
            target (Tensor): True images.
            mask (Tensor, optional): ``(B,)`` bool, which samples count.

        Returns:
            Tensor: Scalar loss.
        """
        if pred.shape != target.shape:
            raise ValueError(f"PerceptualLoss: pred {tuple(pred.shape)} and target "
                             f"{tuple(target.shape)} differ in shape")
        if mask is not None:
            mask = mask.to(device=pred.device, dtype=torch.bool)
            if not bool(mask.any()):
                return pred.sum() * 0.0
            pred, target = pred[mask], target[mask]
        feats_pred = self.encoder(self._to_encoder_channels(pred))
        with torch.no_grad():
            feats_true = self.encoder(self._to_encoder_channels(target))
        loss = pred.new_zeros(())
        for i, w in zip(self.layers, self.layer_weights):
            loss = loss + w * F.l1_loss(feats_pred[i], feats_true[i])
        return self.loss_weight * loss
