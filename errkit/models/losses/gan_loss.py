"""Adversarial losses: vanilla, LSGAN, hinge and WGAN, one class."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from errkit.registry import LOSSES

#: The supported ``gan_type`` values.
GAN_TYPES = ("vanilla", "lsgan", "hinge", "wgan")


@LOSSES.register_module()
class GANLoss(nn.Module):
    """Adversarial loss on discriminator logits, for the discriminator and the generator.

    With ``p`` the logits and ``y`` the target label (``real_label`` or
    ``fake_label``), all means taken over every element of ``pred``:

    - ``'vanilla'``: binary cross-entropy with logits, ``BCE(p, y)`` (the
      non-saturating loss when the generator uses ``target_is_real=True``).
    - ``'lsgan'``: least squares, ``mean((p - y)**2)``.
    - ``'hinge'``: discriminator ``mean(relu(1 - p))`` for real,
      ``mean(relu(1 + p))`` for fake; generator ``-mean(p)`` (``mean(p)`` when
      ``target_is_real=False``).
    - ``'wgan'``: ``-mean(p)`` for real, ``mean(p)`` for fake (add
      :class:`GradientPenaltyLoss` for WGAN-GP).

    As in mmagic, ``loss_weight`` scales only the generator's loss
    (``is_disc=False``); the discriminator's loss is never weighted, so one
    config serves both players.

    Args:
        gan_type (str): One of ``'vanilla'``, ``'lsgan'``, ``'hinge'``,
            ``'wgan'``. Defaults to ``'vanilla'``.
        real_label (float): Target of real samples (vanilla, lsgan).
            Defaults to 1.0.
        fake_label (float): Target of fake samples (vanilla, lsgan).
            Defaults to 0.0.
        loss_weight (float): Weight of the generator's loss. Defaults to 1.0.

    Shape:
        - ``pred``: any shape, e.g. PatchGAN logits ``(B, 1, h, w)``.
        - Output: scalar.

    Examples:
        >>> import torch
        >>> loss = GANLoss('hinge')
        >>> float(loss(torch.tensor([0.5, 2.0]), target_is_real=True, is_disc=True))
        0.25
    """

    def __init__(self, gan_type: str = "vanilla", real_label: float = 1.0,
                 fake_label: float = 0.0, loss_weight: float = 1.0) -> None:
        super().__init__()
        if gan_type not in GAN_TYPES:
            raise ValueError(f"GANLoss: unknown gan_type {gan_type!r}; choose one of "
                             + ", ".join(repr(t) for t in GAN_TYPES))
        self.gan_type = gan_type
        self.real_label = float(real_label)
        self.fake_label = float(fake_label)
        self.loss_weight = float(loss_weight)

    def forward(self, pred: torch.Tensor, target_is_real: bool,
                is_disc: bool = False) -> torch.Tensor:
        """Compute the loss.

        Args:
            pred (Tensor): Discriminator logits.
            target_is_real (bool): Whether ``pred`` should be judged real.
            is_disc (bool): Whether the loss is for the discriminator. Defaults
                to False (generator).

        Returns:
            Tensor: Scalar loss.
        """
        if self.gan_type in ("vanilla", "lsgan"):
            target = torch.full_like(pred, self.real_label if target_is_real else self.fake_label)
            if self.gan_type == "vanilla":
                loss = F.binary_cross_entropy_with_logits(pred, target)
            else:
                loss = F.mse_loss(pred, target)
        elif self.gan_type == "hinge" and is_disc:
            loss = F.relu(1.0 - pred).mean() if target_is_real else F.relu(1.0 + pred).mean()
        else:  # wgan, and the hinge generator
            loss = -pred.mean() if target_is_real else pred.mean()
        return loss if is_disc else loss * self.loss_weight

    def extra_repr(self) -> str:
        return (f"gan_type={self.gan_type!r}, real_label={self.real_label}, "
                f"fake_label={self.fake_label}, loss_weight={self.loss_weight}")
