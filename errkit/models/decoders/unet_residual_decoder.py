"""U-Net decoder that turns encoder features and the latent code into a residual image."""

from __future__ import annotations

import math
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from errkit.registry import MODELS

#: Output range of the residual: ``x`` and ``n`` lie in ``[-1, 1]``, so ``x - n``
#: lies in ``[-RESIDUAL_SCALE, RESIDUAL_SCALE]``.
RESIDUAL_SCALE = 2.0
_NORMS = ("group", "batch", "instance", "none")


def _norm(kind: str, channels: int) -> nn.Module:
    if kind == "group":
        return nn.GroupNorm(math.gcd(8, channels), channels)
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    return nn.Identity()


class _ConvBlock(nn.Sequential):
    """Two 3x3 convolutions, each followed by a normalisation and a ReLU."""

    def __init__(self, in_channels: int, out_channels: int, norm: str) -> None:
        bias = norm == "none"
        super().__init__(
            nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=bias),
            _norm(norm, out_channels), nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=bias),
            _norm(norm, out_channels), nn.ReLU(inplace=True))


def warp_image(img: torch.Tensor, displacement: torch.Tensor) -> torch.Tensor:
    """Resample ``img`` at ``identity + displacement`` (bilinear, borders repeated).

    Args:
        img (Tensor): ``(B, C, H, W)``.
        displacement (Tensor): ``(B, 2, H, W)`` offsets ``(dx, dy)`` in the
            normalised ``[-1, 1]`` coordinates of
            :func:`torch.nn.functional.grid_sample` (``align_corners=False``).

    Returns:
        Tensor: ``(B, C, H, W)``; ``img`` itself where the displacement is 0.
    """
    b, _, h, w = img.shape
    theta = torch.eye(2, 3, dtype=img.dtype, device=img.device).expand(b, 2, 3)
    grid = F.affine_grid(theta, [b, 1, h, w], align_corners=False)
    grid = grid + displacement.permute(0, 2, 3, 1).to(grid.dtype)
    return F.grid_sample(img, grid, mode="bilinear", padding_mode="border",
                         align_corners=False)


@MODELS.register_module()
class UNetResidualDecoder(nn.Module):
    """Decode the residual image ``r_hat = x - n_hat`` from encoder features and ``z``.

    The latent code ``z`` (``(B, K, d)`` or ``(B, K * d)``) is projected by a
    linear layer, broadcast over the deepest feature map and concatenated to it.
    Each following stage upsamples (bilinear) to the next shallower feature,
    concatenates it as a skip connection (when ``use_skips``) and applies two
    3x3 conv-norm-ReLU layers; stage ``i`` has ``min(base_channels * 2**i,
    8 * base_channels)`` channels. Below the shallowest feature (reduction ``r0``,
    2 for ResNets, 4 for ConvNeXt) ``ceil(log2(r0))`` extra x2 stages of
    ``max(base_channels // 2, 8)`` channels reach the input resolution; the last
    one may concatenate the input image (``input_channels``). A final 3x3
    convolution, initialised near zero, gives ``RESIDUAL_SCALE * tanh(.)``: the
    residual lies in ``[-2, 2]`` (the range of ``x - n`` for images in
    ``[-1, 1]``) and starts at about 0, so the generated neutral face
    ``n_hat = x - r_hat`` starts as the input itself.

    With ``flow=True`` the decoder warps before it paints: the last convolution
    also gives a displacement field (``max_flow * tanh(.)``, in the normalised
    ``[-1, 1]`` coordinates of :func:`torch.nn.functional.grid_sample`, starting
    at 0), the input is resampled along it and a painted correction is
    subtracted: ``n_hat = warp(x) - c`` and ``r_hat = x - n_hat``. Most of an
    expression is the skin moving (brows raised, lips pulled, jaw dropped), which
    a warp undoes with the person's own texture; the correction only paints
    what no warp can make (teeth, wrinkles).

    Args:
        encoder_channels (Sequence[int]): Channels of each encoder level,
            shallowest first (``TimmEncoder.channels``).
        encoder_reductions (Sequence[int]): Stride of each level
            (``TimmEncoder.reductions``), non-decreasing.
        latent_dim (int): Size of the flattened latent code ``K * d``; 0 for no
            latent injection.
        out_channels (int): Channels of the residual image. Defaults to 3.
        base_channels (int): Width of the shallowest decoder stage. Defaults to 32.
        use_skips (bool): Concatenate the encoder features (U-Net skips).
            Defaults to True.
        input_channels (int, optional): Channels of the input image to
            concatenate at full resolution in the last stage. Defaults to None
            (not concatenated).
        norm (str): ``'group'``, ``'batch'``, ``'instance'`` or ``'none'``.
            Defaults to ``'group'``.
        final_init_std (float): Standard deviation of the last convolution's
            initial weights (its bias starts at 0); small, so the initial
            residual is ~1e-3 (not exactly 0, so that every layer gets gradients).
            Defaults to 1e-4.
        flow (bool): Warp-and-correct output (see above); needs ``x``.
            Defaults to False.
        max_flow (float): Largest displacement of the warp, as a fraction of
            the half image side. Defaults to 0.15.

    Shape:
        - ``features``: list of ``(B, encoder_channels[i], h_i, w_i)``.
        - ``z``: ``(B, K, d)`` or ``(B, latent_dim)``.
        - ``x``: ``(B, input_channels, H, W)``; it fixes the output size.
        - Output: ``(B, out_channels, H, W)`` in ``[-2, 2]``; without ``x``,
          ``H, W = (h_0, w_0) * encoder_reductions[0]``.

    Examples:
        >>> import torch
        >>> dec = UNetResidualDecoder([8, 16], [2, 4], latent_dim=6, out_channels=1,
        ...                           base_channels=8)
        >>> feats = [torch.randn(2, 8, 16, 16), torch.randn(2, 16, 8, 8)]
        >>> r = dec(feats, torch.randn(2, 3, 2))
        >>> r.shape, bool(r.abs().max() < 0.1)
        (torch.Size([2, 1, 32, 32]), True)
    """

    def __init__(self, encoder_channels: Sequence[int], encoder_reductions: Sequence[int],
                 latent_dim: int, out_channels: int = 3, base_channels: int = 32,
                 use_skips: bool = True, input_channels: Optional[int] = None,
                 norm: str = "group", final_init_std: float = 1e-4, flow: bool = False,
                 max_flow: float = 0.15) -> None:
        super().__init__()
        encoder_channels = [int(c) for c in encoder_channels]
        encoder_reductions = [int(r) for r in encoder_reductions]
        if not encoder_channels or len(encoder_channels) != len(encoder_reductions):
            raise ValueError(
                "UNetResidualDecoder: encoder_channels and encoder_reductions must be "
                f"non-empty and of equal length, got {encoder_channels} and {encoder_reductions}")
        if any(b < a for a, b in zip(encoder_reductions, encoder_reductions[1:])) \
                or encoder_reductions[0] < 1:
            raise ValueError("UNetResidualDecoder: encoder_reductions must be positive and "
                             f"non-decreasing (shallowest first), got {encoder_reductions}")
        if norm not in _NORMS:
            raise ValueError(f"UNetResidualDecoder: norm must be one of {_NORMS}, got {norm!r}")
        if latent_dim < 0 or base_channels < 1 or out_channels < 1:
            raise ValueError("UNetResidualDecoder: latent_dim >= 0, base_channels >= 1 and "
                             "out_channels >= 1 required")
        if flow and max_flow <= 0:
            raise ValueError(f"UNetResidualDecoder: max_flow must be > 0, got {max_flow}")
        self.flow = bool(flow)
        self.max_flow = float(max_flow)
        self.encoder_channels = encoder_channels
        self.encoder_reductions = encoder_reductions
        self.latent_dim = latent_dim
        self.out_channels = out_channels
        self.use_skips = use_skips
        self.input_channels = input_channels

        num_levels = len(encoder_channels)
        widths = [min(base_channels * 2 ** i, base_channels * 8) for i in range(num_levels)]
        deep = num_levels - 1
        self.latent_proj = nn.Linear(latent_dim, widths[deep]) if latent_dim > 0 else None
        self.bottleneck = _ConvBlock(
            encoder_channels[deep] + (widths[deep] if latent_dim > 0 else 0), widths[deep], norm)
        # up_blocks[j] produces level deep - 1 - j
        self.up_blocks = nn.ModuleList()
        for level in range(deep - 1, -1, -1):
            in_ch = widths[level + 1] + (encoder_channels[level] if use_skips else 0)
            self.up_blocks.append(_ConvBlock(in_ch, widths[level], norm))

        num_extra = math.ceil(math.log2(encoder_reductions[0])) if encoder_reductions[0] > 1 else 0
        extra_width = max(base_channels // 2, 8)
        self.extra_blocks = nn.ModuleList()
        prev = widths[0]
        for k in range(num_extra):
            last = k == num_extra - 1
            in_ch = prev + ((input_channels or 0) if last else 0)
            self.extra_blocks.append(_ConvBlock(in_ch, extra_width, norm))
            prev = extra_width
        self.input_block = None
        if num_extra == 0 and input_channels:
            self.input_block = _ConvBlock(prev + input_channels, prev, norm)
        self.head = nn.Conv2d(prev, out_channels + (2 if self.flow else 0), 3, padding=1)
        nn.init.normal_(self.head.weight, std=final_init_std)
        nn.init.zeros_(self.head.bias)

    # ----------------------------------------------------------------- helpers
    def _check(self, features: Sequence[torch.Tensor], z: Optional[torch.Tensor],
               x: Optional[torch.Tensor]) -> Optional[torch.Tensor]:
        if len(features) != len(self.encoder_channels):
            raise ValueError(f"UNetResidualDecoder: expected {len(self.encoder_channels)} "
                             f"feature levels, got {len(features)}")
        for i, (feat, ch) in enumerate(zip(features, self.encoder_channels)):
            if feat.dim() != 4 or feat.shape[1] != ch:
                raise ValueError(f"UNetResidualDecoder: feature {i} should have {ch} "
                                 f"channels, got shape {tuple(feat.shape)}")
        if self.flow and (x is None or x.shape[1] != self.out_channels):
            got = None if x is None else tuple(x.shape)
            raise ValueError("UNetResidualDecoder: flow=True warps the input image x "
                             f"(B, {self.out_channels}, H, W), got {got}")
        if self.input_channels and (x is None or x.shape[1] != self.input_channels):
            got = None if x is None else tuple(x.shape)
            raise ValueError(f"UNetResidualDecoder: input_channels={self.input_channels} needs "
                             f"the input image x (B, {self.input_channels}, H, W), got {got}")
        if self.latent_dim == 0:
            return None
        if z is None:
            raise ValueError(f"UNetResidualDecoder: latent_dim={self.latent_dim} needs z")
        z = z.flatten(1)
        if z.shape != (features[-1].shape[0], self.latent_dim):
            raise ValueError(f"UNetResidualDecoder: z should flatten to "
                             f"(B, {self.latent_dim}), got {tuple(z.shape)}")
        return z

    @staticmethod
    def _up(t: torch.Tensor, size: Tuple[int, int]) -> torch.Tensor:
        if tuple(t.shape[-2:]) == tuple(size):
            return t
        return F.interpolate(t, size=size, mode="bilinear", align_corners=False)

    # ----------------------------------------------------------------- forward
    def forward(self, features: List[torch.Tensor], z: Optional[torch.Tensor],
                x: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Decode the residual image.

        Args:
            features (list[Tensor]): Encoder features, shallowest first.
            z (Tensor, optional): Latent code ``(B, K, d)`` or ``(B, K * d)``;
                ignored (may be None) when ``latent_dim`` is 0.
            x (Tensor, optional): The input image; it sets the output size and is
                concatenated in the last stage when ``input_channels`` is set.

        Returns:
            Tensor: Residual ``(B, out_channels, H, W)`` in ``[-2, 2]``.
        """
        z = self._check(features, z, x)
        if x is not None:
            target = tuple(x.shape[-2:])
        else:
            r0 = self.encoder_reductions[0]
            target = (features[0].shape[-2] * r0, features[0].shape[-1] * r0)

        h = features[-1]
        if z is not None:
            zmap = self.latent_proj(z)[:, :, None, None].expand(-1, -1, *h.shape[-2:])
            h = torch.cat([h, zmap], dim=1)
        h = self.bottleneck(h)
        for j, block in enumerate(self.up_blocks):
            skip = features[len(features) - 2 - j]
            h = self._up(h, skip.shape[-2:])
            if self.use_skips:
                h = torch.cat([h, skip], dim=1)
            h = block(h)

        for k, block in enumerate(self.extra_blocks):
            last = k == len(self.extra_blocks) - 1
            size = target if last else (h.shape[-2] * 2, h.shape[-1] * 2)
            h = self._up(h, size)
            if last and self.input_channels:
                h = torch.cat([h, x], dim=1)
            h = block(h)
        if not self.extra_blocks:
            h = self._up(h, target)
            if self.input_block is not None:
                h = self.input_block(torch.cat([h, x], dim=1))
        out = self.head(h)
        if not self.flow:
            return RESIDUAL_SCALE * torch.tanh(out)
        correction = RESIDUAL_SCALE * torch.tanh(out[:, :self.out_channels])
        displacement = self.max_flow * torch.tanh(out[:, self.out_channels:])
        warped = warp_image(x, displacement)
        return (x - warped + correction).clamp(-RESIDUAL_SCALE, RESIDUAL_SCALE)
