"""WGAN-GP gradient penalty."""

from __future__ import annotations

from typing import Callable, Optional

import torch
from torch import autograd, nn

from errkit.registry import LOSSES


@LOSSES.register_module()
class GradientPenaltyLoss(nn.Module):
    """Gradient penalty of WGAN-GP (Gulrajani et al., 2017) for a conditional critic.

    For each sample a point ``x_t = t * real + (1 - t) * fake`` is drawn with
    ``t ~ U(0, 1)``; the critic's output summed over its patches is
    differentiated with respect to ``x_t`` (with ``create_graph=True``, so the
    penalty trains the critic) and the penalty is
    ``loss_weight * mean_i (||grad_i||_2 - 1)**2``, the norm taken over all of a
    sample's pixels. ``real`` and ``fake`` are detached; the condition is passed
    through unchanged.

    Args:
        loss_weight (float): Weight ``lambda`` of the penalty. Defaults to 10.0.

    Shape:
        - ``cond``: ``(B, C_c, H, W)`` or None; ``real``, ``fake``: ``(B, C, H, W)``.
        - Output: scalar.

    Examples:
        >>> import torch
        >>> critic = lambda cond, img: 2.0 * img.sum(dim=(1, 2, 3))  # ||grad|| = 2 * sqrt(N)
        >>> gp = GradientPenaltyLoss(loss_weight=1.0)
        >>> float(gp(critic, None, torch.zeros(3, 1, 1, 1), torch.ones(3, 1, 1, 1)))
        1.0
    """

    def __init__(self, loss_weight: float = 10.0) -> None:
        super().__init__()
        self.loss_weight = float(loss_weight)

    def forward(self, discriminator: Callable[..., torch.Tensor], cond: Optional[torch.Tensor],
                real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """Compute the penalty.

        Args:
            discriminator (Callable): Called as ``discriminator(cond, img)``.
            cond (Tensor, optional): Condition of the critic (the input face).
            real (Tensor): Real images.
            fake (Tensor): Generated images (same shape as ``real``).

        Returns:
            Tensor: Scalar penalty, differentiable w.r.t. the critic's parameters.
        """
        if real.shape != fake.shape:
            raise ValueError(f"GradientPenaltyLoss: real {tuple(real.shape)} and fake "
                             f"{tuple(fake.shape)} must have the same shape")
        real, fake = real.detach(), fake.detach()
        t = torch.rand((real.shape[0],) + (1,) * (real.dim() - 1),
                       device=real.device, dtype=real.dtype)
        interp = (t * real + (1.0 - t) * fake).requires_grad_(True)
        with torch.enable_grad():
            out = discriminator(cond, interp)
            grad = autograd.grad(out.sum(), interp, create_graph=True)[0]
        norm = grad.flatten(1).norm(p=2, dim=1)
        return self.loss_weight * ((norm - 1.0) ** 2).mean()

    def extra_repr(self) -> str:
        return f"loss_weight={self.loss_weight}"
