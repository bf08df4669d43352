"""Conditional PatchGAN discriminator with spectral normalisation."""

from __future__ import annotations

from typing import Optional

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from errkit.registry import MODELS


@MODELS.register_module()
class PatchDiscriminator(nn.Module):
    """PatchGAN (pix2pix ``NLayerDiscriminator``) judging a face given the input face.

    The condition (the expressive face ``x``) and the judged image (the real
    neutral ``n`` or the generated ``n_hat``) are concatenated along channels and
    passed through ``num_layers`` stride-2 4x4 convolutions (widths
    ``base_channels * min(2**i, 8)``), one stride-1 4x4 convolution and a final
    stride-1 4x4 convolution to one channel: each output logit judges one
    receptive-field patch (70x70 pixels for ``num_layers=3``). Every convolution
    is spectrally normalised when ``use_spectral_norm`` (then no other
    normalisation is used; otherwise instance normalisation follows the inner
    convolutions); activations are LeakyReLU(0.2); no sigmoid (the GAN loss takes
    logits).

    Args:
        in_channels (int): Channels of ``cat(cond, img)``, i.e. ``2 * C`` for a
            conditional discriminator (``C`` for an unconditional one, called
            with ``cond=None``).
        base_channels (int): Width of the first convolution. Defaults to 64.
        num_layers (int): Number of stride-2 convolutions. Defaults to 3.
        use_spectral_norm (bool): Spectrally normalise every convolution.
            Defaults to True.

    Shape:
        - ``cond``: ``(B, C_c, H, W)``; ``img``: ``(B, C_i, H, W)`` with
          ``C_c + C_i = in_channels``.
        - Output: ``(B, 1, h, w)`` logits, ``h = H / 2**num_layers - 2`` for
          ``H`` divisible by ``2**num_layers``.

    Examples:
        >>> import torch
        >>> disc = PatchDiscriminator(in_channels=2, base_channels=8)
        >>> disc(torch.zeros(2, 1, 64, 64), torch.zeros(2, 1, 64, 64)).shape
        torch.Size([2, 1, 6, 6])
    """

    def __init__(self, in_channels: int, base_channels: int = 64, num_layers: int = 3,
                 use_spectral_norm: bool = True) -> None:
        super().__init__()
        if in_channels < 1 or base_channels < 1 or num_layers < 1:
            raise ValueError("PatchDiscriminator: in_channels, base_channels and num_layers "
                             f"must be >= 1, got {in_channels}, {base_channels}, {num_layers}")
        self.in_channels = in_channels
        self.use_spectral_norm = use_spectral_norm

        def conv(cin: int, cout: int, stride: int) -> nn.Module:
            layer = nn.Conv2d(cin, cout, 4, stride=stride, padding=1)
            return spectral_norm(layer) if use_spectral_norm else layer

        def norm(channels: int) -> nn.Module:
            if use_spectral_norm:
                return nn.Identity()
            return nn.InstanceNorm2d(channels, affine=True)

        layers = [conv(in_channels, base_channels, 2), nn.LeakyReLU(0.2, inplace=True)]
        prev = base_channels
        for i in range(1, num_layers):
            width = base_channels * min(2 ** i, 8)
            layers += [conv(prev, width, 2), norm(width), nn.LeakyReLU(0.2, inplace=True)]
            prev = width
        width = base_channels * min(2 ** num_layers, 8)
        layers += [conv(prev, width, 1), norm(width), nn.LeakyReLU(0.2, inplace=True),
                   conv(width, 1, 1)]
        self.layers = nn.Sequential(*layers)

    def forward(self, cond: Optional[torch.Tensor], img: torch.Tensor) -> torch.Tensor:
        """Score every patch of ``img`` given ``cond``.

        Args:
            cond (Tensor, optional): The conditioning image (the expressive face);
                None for an unconditional discriminator.
            img (Tensor): The real or generated neutral face.

        Returns:
            Tensor: ``(B, 1, h, w)`` patch logits.
        """
        inp = img if cond is None else torch.cat([cond, img], dim=1)
        if inp.dim() != 4 or inp.shape[1] != self.in_channels:
            raise ValueError(
                f"PatchDiscriminator expects cond and img whose channels add up to "
                f"{self.in_channels}, got cond "
                f"{None if cond is None else tuple(cond.shape)} and img {tuple(img.shape)}")
        return self.layers(inp)
