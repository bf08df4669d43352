"""The pixel-level residual: a small CNN on the residual image."""

from __future__ import annotations

import math

import torch
import torch.nn as nn

from errkit.registry import RESIDUALS

from .base_residual import BaseResidual
from .residual_context import ResidualContext


def group_norm(channels: int, max_groups: int = 8) -> nn.GroupNorm:
    """GroupNorm with the largest group count ``<= max_groups`` dividing ``channels``."""
    groups = math.gcd(channels, max_groups)
    return nn.GroupNorm(groups, channels)


def conv_block(in_channels: int, out_channels: int, stride: int) -> nn.Sequential:
    """3x3 convolution, GroupNorm, LeakyReLU(0.2)."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False),
        group_norm(out_channels),
        nn.LeakyReLU(0.2, inplace=True),
    )


@RESIDUALS.register_module()
class PixelResidual(BaseResidual):
    """Expression features from the residual image ``r = x - neutral_hat``.

    The residual image holds what the generator removed from the face, i.e. the
    expression with the identity cancelled out. A small CNN (stride-2 3x3
    convolutions, GroupNorm so that tiny batches train as well as large ones)
    followed by global average and max pooling turns it into a vector.

    Args:
        in_channels (int): Channels of the residual image (the face's). Filled in
            by ERR-Net. Defaults to 3.
        feat_channels (int): Channels of the first convolution; each next stage
            doubles them, up to ``8 * feat_channels``. Defaults to 64.
        num_stages (int): Number of stride-2 stages. Defaults to 3.
        with_input (bool): Also feed the face ``x`` (concatenated to the
            residual). Defaults to False (the residual alone, as in ERR-Net).
        detach (bool): Stop the recognition loss from reaching the generator
            through the residual image. Defaults to False (end to end).

    Shape:
        - ``ctx.residual_hat``: ``(B, in_channels, H, W)``.
        - Output: ``(B, out_channels)`` with ``out_channels = 2 * C_last``.

    Examples:
        >>> import torch
        >>> from errkit.models.residuals import ResidualContext
        >>> branch = PixelResidual(in_channels=1, feat_channels=8, num_stages=2)
        >>> x = torch.zeros(2, 1, 32, 32)
        >>> branch(ResidualContext(x=x, residual_hat=torch.randn(2, 1, 32, 32))).shape
        torch.Size([2, 32])
    """

    def __init__(self, in_channels: int = 3, feat_channels: int = 64, num_stages: int = 3,
                 with_input: bool = False, detach: bool = False) -> None:
        super().__init__()
        if num_stages < 1:
            raise ValueError(f"PixelResidual: num_stages must be >= 1, got {num_stages}")
        self.with_input = with_input
        self.detach = detach
        channels = in_channels * (2 if with_input else 1)
        stages = []
        for i in range(num_stages):
            out = feat_channels * 2 ** min(i, 3)
            stages.append(conv_block(channels, out, stride=2))
            channels = out
        self.body = nn.Sequential(*stages)
        self.out_channels = 2 * channels

    def forward(self, ctx: ResidualContext) -> torch.Tensor:
        """Encode the residual image.

        Args:
            ctx (ResidualContext): Needs ``residual_hat`` (in given-neutral mode
                :attr:`~errkit.models.residuals.ResidualContext.recognition_residual`
                replaces it by ``x - neutral``; and ``x`` with
                ``with_input``).

        Returns:
            Tensor: ``(B, out_channels)`` features (average- and max-pooled).
        """
        residual = ctx.recognition_residual
        if residual is None:
            raise ValueError("PixelResidual needs ctx.residual_hat; the model has no decoder "
                             "(set `decoder` in the model config or drop the pixel residual)")
        r = residual.detach() if self.detach else residual
        if self.with_input:
            r = torch.cat([r, ctx.x], dim=1)
        feat = self.body(r)
        return torch.cat([feat.mean(dim=(2, 3)), feat.amax(dim=(2, 3))], dim=1)
