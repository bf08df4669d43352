"""The LBP residual: how the face's micro-texture differs from its generated neutral."""

from __future__ import annotations

import math
from typing import Dict, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from kornia.color import rgb_to_grayscale

from errkit.models.residuals import BaseResidual, ResidualContext

__all__ = ["LBPResidual", "lbp_kernels"]

#: Modes of :class:`LBPResidual`.
MODES = ("histogram", "cnn")


def lbp_kernels(num_neighbours: int = 8, radius: float = 1.0) -> torch.Tensor:
    """Fixed convolution kernels giving ``I(neighbour) - I(centre)`` for each neighbour.

    The ``num_neighbours`` neighbours lie on a circle of ``radius`` pixels around
    the centre, starting to its right and going anticlockwise (as in classic
    circular LBP); a neighbour between pixels is read by bilinear interpolation,
    so its kernel spreads its weight over the four pixels around it.

    Args:
        num_neighbours (int): Number of neighbours ``P``. Defaults to 8.
        radius (float): Radius of the circle in pixels. Defaults to 1.0.

    Returns:
        Tensor: ``(P, 1, K, K)`` kernels with ``K = 2 * ceil(radius) + 1``; each
        sums to zero.

    Examples:
        >>> k = lbp_kernels(8, 1.0)
        >>> k.shape, float(k[0, 0, 1, 2]), float(k[0, 0, 1, 1])
        (torch.Size([8, 1, 3, 3]), 1.0, -1.0)
    """
    if num_neighbours < 1 or radius <= 0:
        raise ValueError(f"lbp_kernels: need num_neighbours >= 1 and radius > 0, got "
                         f"{num_neighbours} and {radius}")
    half = int(math.ceil(radius))
    size = 2 * half + 1
    kernels = torch.zeros(num_neighbours, 1, size, size, dtype=torch.float64)
    for k in range(num_neighbours):
        angle = 2.0 * math.pi * k / num_neighbours
        # Rounding removes cos/sin noise such as 6e-17 that would straddle a pixel.
        y = round(half - radius * math.sin(angle), 9)
        x = round(half + radius * math.cos(angle), 9)
        y0, x0 = math.floor(y), math.floor(x)
        fy, fx = y - y0, x - x0
        for dy, wy in ((0, 1.0 - fy), (1, fy)):
            for dx, wx in ((0, 1.0 - fx), (1, fx)):
                if wy * wx > 0:
                    kernels[k, 0, y0 + dy, x0 + dx] += wy * wx
        kernels[k, 0, half, half] -= 1.0
    return kernels.float()


def _conv_block(in_channels: int, out_channels: int) -> nn.Sequential:
    """Stride-2 3x3 convolution, GroupNorm, LeakyReLU(0.2)."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, stride=2, padding=1, bias=False),
        nn.GroupNorm(math.gcd(out_channels, 8), out_channels),
        nn.LeakyReLU(0.2, inplace=True),
    )


class LBPResidual(BaseResidual):
    """Expression features from the local-binary-pattern texture residual.

    A local binary pattern (LBP) describes each pixel by which of its ``P``
    circular neighbours are brighter than it. Expressions change the face's
    micro-texture (wrinkles at the eyes, the nasolabial folds, a furrowed brow)
    while identity-specific texture is shared with the person's neutral face, so
    the difference between the LBP of the face ``x`` and that of its generated
    neutral ``neutral_hat`` carries the expression.

    The LBP is made differentiable: fixed convolution kernels
    (:func:`lbp_kernels`) give each neighbour's difference to the centre, and a
    sigmoid with ``temperature`` turns it into a soft bit. Then, by ``mode``:

    - ``'histogram'``: the soft bits give a soft LBP code in ``[0, 1]`` per
      pixel, which is spread over ``num_bins`` bins by a Gaussian kernel; the bins
      averaged over each cell of a ``grid_size x grid_size`` grid are the cell's
      soft LBP histogram. The residual is the histogram of ``x`` minus that of
      ``neutral_hat``, per cell: which micro-patterns the expression added or
      removed where. (LBP codes are categories, so histograms are subtracted
      rather than codes.) A linear layer maps it to ``out_channels`` features.
    - ``'cnn'``: the per-neighbour soft bits of ``x`` minus those of
      ``neutral_hat`` (``P`` maps in ``[-1, 1]``) go through a small CNN
      (stride-2 convolutions, GroupNorm), average- and max-pooled and mapped to
      ``out_channels`` features by a linear layer.

    The branch needs neither landmarks nor the true neutral at inference: it
    reads ``x`` and ``neutral_hat`` only. The recognition loss reaches the
    generator through ``neutral_hat`` unless ``detach``. With ``texture_loss``,
    training adds ``loss_lbp_texture``: the L1 distance between the soft LBP bits
    of ``neutral_hat`` and of the true neutral on faces that have one, weighted
    by ``texture_loss_weight``.

    Args:
        in_channels (int): Image channels; colour faces are turned grey first.
            Filled in by ERR-Net. Defaults to 1.
        radius (float): Radius of the neighbour circle in pixels. Defaults to 1.0.
        num_neighbours (int): Neighbours ``P`` on the circle, 1 to 16.
            Defaults to 8.
        temperature (float): Softness of the bits, in units of the ``[-1, 1]``
            image scale; smaller is closer to the hard LBP. Defaults to 0.05.
        mode (str): ``'histogram'`` or ``'cnn'``. Defaults to ``'histogram'``.
        grid_size (int): Cells per side of the histogram grid. Defaults to 4.
        num_bins (int): Histogram bins over the code range. Defaults to 32.
        bandwidth (float, optional): Standard deviation of the Gaussian bin
            kernel, in code units. Defaults to half a bin width.
        feat_channels (int): Channels of the CNN's first stage (``'cnn'``); each
            next stage doubles them. Defaults to 16.
        num_stages (int): Stride-2 stages of the CNN (``'cnn'``). Defaults to 2.
        out_channels (int): Length of the features. Defaults to 64.
        detach (bool): Stop the recognition loss from reaching the generator
            through ``neutral_hat``. Defaults to False (end to end).
        texture_loss (bool): Add ``loss_lbp_texture`` in training. Defaults to
            False.
        texture_loss_weight (float): Weight of ``loss_lbp_texture``, >= 0.
            Defaults to 1.0.

    Shape:
        - ``ctx.x``, ``ctx.neutral_hat``: ``(B, in_channels, H, W)`` in ``[-1, 1]``.
        - :meth:`lbp_difference`: ``(B, num_bins, grid_size, grid_size)``
          (``'histogram'``) or ``(B, P, H, W)`` (``'cnn'``).
        - Output: ``(B, out_channels)``.

    Examples:
        >>> import torch
        >>> from errkit.models.residuals import ResidualContext
        >>> branch = LBPResidual(in_channels=1, num_bins=8, grid_size=2, out_channels=16)
        >>> x = torch.rand(2, 1, 24, 24) * 2 - 1
        >>> ctx = ResidualContext(x=x, neutral_hat=x.flip(-1), residual_hat=x - x.flip(-1))
        >>> branch(ctx).shape
        torch.Size([2, 16])
    """

    requires_landmarks = False
    needs_at_inference = ()

    def __init__(self, in_channels: int = 1, radius: float = 1.0, num_neighbours: int = 8,
                 temperature: float = 0.05, mode: str = "histogram", grid_size: int = 4,
                 num_bins: int = 32, bandwidth: Optional[float] = None, feat_channels: int = 16,
                 num_stages: int = 2, out_channels: int = 64, detach: bool = False,
                 texture_loss: bool = False, texture_loss_weight: float = 1.0) -> None:
        super().__init__()
        if mode not in MODES:
            raise ValueError(f"LBPResidual: mode must be one of {MODES}, got {mode!r}")
        if not 1 <= num_neighbours <= 16:
            raise ValueError(f"LBPResidual: num_neighbours must be 1 to 16, got {num_neighbours}")
        if temperature <= 0:
            raise ValueError(f"LBPResidual: temperature must be > 0, got {temperature}")
        if grid_size < 1 or num_bins < 2 or num_stages < 1:
            raise ValueError("LBPResidual: need grid_size >= 1, num_bins >= 2 and num_stages >= "
                             f"1, got {grid_size}, {num_bins} and {num_stages}")
        if texture_loss_weight < 0:
            raise ValueError(f"LBPResidual: texture_loss_weight must be >= 0, got "
                             f"{texture_loss_weight}")
        self.in_channels = in_channels
        self.radius = float(radius)
        self.num_neighbours = num_neighbours
        self.temperature = float(temperature)
        self.mode = mode
        self.grid_size = grid_size
        self.num_bins = num_bins
        self.detach = detach
        self.texture_loss = texture_loss
        self.texture_loss_weight = float(texture_loss_weight)
        # Instance attribute: the recognizer asks whether a branch trains on the true neutral.
        self.requires_neutral = texture_loss
        kernels = lbp_kernels(num_neighbours, radius)
        self.register_buffer("kernels", kernels, persistent=False)
        self.register_buffer("code_weights", 2.0 ** torch.arange(num_neighbours)
                             / (2.0 ** num_neighbours - 1), persistent=False)
        self.register_buffer("bin_centres", (torch.arange(num_bins) + 0.5) / num_bins,
                             persistent=False)
        self.bandwidth = float(bandwidth) if bandwidth is not None else 0.5 / num_bins
        if mode == "histogram":
            self.body = None
            width = num_bins * grid_size ** 2
        else:
            stages, channels = [], num_neighbours
            for i in range(num_stages):
                stages.append(_conv_block(channels, feat_channels * 2 ** i))
                channels = feat_channels * 2 ** i
            self.body = nn.Sequential(*stages)
            width = 2 * channels
        self.proj = nn.Linear(width, out_channels)
        self.out_channels = out_channels

    # ------------------------------------------------------------------ texture
    def _grey(self, img: torch.Tensor) -> torch.Tensor:
        if img.dim() != 4 or img.shape[1] != self.in_channels:
            raise ValueError(f"LBPResidual expects images of shape (B, {self.in_channels}, H, W), "
                             f"got {tuple(img.shape)}")
        if self.in_channels == 1:
            return img
        if self.in_channels == 3:
            return rgb_to_grayscale(img)
        return img.mean(dim=1, keepdim=True)

    def soft_bits(self, img: torch.Tensor) -> torch.Tensor:
        """Soft LBP bits: ``sigmoid((I(neighbour) - I(centre)) / temperature)``.

        Args:
            img (Tensor): Faces in ``[-1, 1]``, ``(B, in_channels, H, W)``.

        Returns:
            Tensor: ``(B, P, H, W)`` in ``(0, 1)``; borders replicate the image.
        """
        grey = self._grey(img).float()
        pad = self.kernels.shape[-1] // 2
        diff = F.conv2d(F.pad(grey, (pad, pad, pad, pad), mode="replicate"), self.kernels)
        return torch.sigmoid(diff / self.temperature)

    def soft_codes(self, bits: torch.Tensor) -> torch.Tensor:
        """Soft LBP codes ``sum_k bit_k 2^k / (2^P - 1)``.

        Args:
            bits (Tensor): :meth:`soft_bits` output, ``(B, P, H, W)``.

        Returns:
            Tensor: ``(B, 1, H, W)`` in ``[0, 1]``.
        """
        return (bits * self.code_weights.view(1, -1, 1, 1)).sum(dim=1, keepdim=True)

    def cell_histograms(self, codes: torch.Tensor) -> torch.Tensor:
        """Soft histograms of the codes over each grid cell.

        Each pixel spreads a unit mass over the bins with a Gaussian kernel; the
        masses averaged over a cell (adaptive pooling, so any image size works)
        form the cell's histogram, which sums to one.

        Args:
            codes (Tensor): :meth:`soft_codes` output, ``(B, 1, H, W)``.

        Returns:
            Tensor: ``(B, num_bins, grid_size, grid_size)``.
        """
        centres = self.bin_centres.view(1, -1, 1, 1)
        weights = torch.exp(-0.5 * ((codes - centres) / self.bandwidth) ** 2)
        weights = weights / weights.sum(dim=1, keepdim=True).clamp_min(1e-12)
        return F.adaptive_avg_pool2d(weights, self.grid_size)

    def lbp_difference(self, ctx: ResidualContext) -> torch.Tensor:
        """The texture residual before the learned layers.

        Args:
            ctx (ResidualContext): Needs ``x`` and ``neutral_hat``.

        Returns:
            Tensor: Histograms of ``x`` minus those of ``neutral_hat``
            (``'histogram'``), or the soft bits' difference (``'cnn'``).
        """
        if ctx.neutral_hat is None:
            raise ValueError("LBPResidual needs ctx.neutral_hat; the model has no decoder "
                             "(set `decoder` in the model config or drop the LBP residual)")
        neutral_hat = ctx.neutral_hat.detach() if self.detach else ctx.neutral_hat
        bits_x, bits_n = self.soft_bits(ctx.x), self.soft_bits(neutral_hat)
        if self.mode == "cnn":
            return bits_x - bits_n
        return (self.cell_histograms(self.soft_codes(bits_x))
                - self.cell_histograms(self.soft_codes(bits_n)))

    # ------------------------------------------------------------------ branch
    def forward(self, ctx: ResidualContext) -> torch.Tensor:
        """Encode the LBP texture residual.

        Args:
            ctx (ResidualContext): Needs ``x`` and ``neutral_hat`` only (both
                available at inference).

        Returns:
            Tensor: ``(B, out_channels)`` features.
        """
        diff = self.lbp_difference(ctx)
        if self.body is not None:
            feat = self.body(diff)
            diff = torch.cat([feat.mean(dim=(2, 3)), feat.amax(dim=(2, 3))], dim=1)
        return self.proj(diff.flatten(1))

    def loss(self, ctx: ResidualContext, feats: torch.Tensor) -> Dict[str, torch.Tensor]:
        """``loss_lbp_texture`` with ``texture_loss``, else nothing.

        Args:
            ctx (ResidualContext): A training context (``neutral``,
                ``neutral_mask``).
            feats (Tensor): What :meth:`forward` returned for ``ctx``.

        Returns:
            dict[str, Tensor]: ``{'loss_lbp_texture': scalar}`` (zero, connected
            to the graph, when no face of the batch has a true neutral), or ``{}``.
        """
        if not self.texture_loss:
            return {}
        zero = feats.sum() * 0
        if ctx.neutral is None or ctx.neutral_hat is None:
            return {"loss_lbp_texture": zero}
        mask = (ctx.neutral_mask.bool() if ctx.neutral_mask is not None
                else torch.ones(ctx.batch_size, dtype=torch.bool, device=ctx.x.device))
        if not bool(mask.any()):
            return {"loss_lbp_texture": zero}
        pred = self.soft_bits(ctx.neutral_hat[mask])
        with torch.no_grad():
            target = self.soft_bits(ctx.neutral[mask])
        return {"loss_lbp_texture": self.texture_loss_weight * (pred - target).abs().mean() + zero}

    def extra_repr(self) -> str:
        return (f"mode={self.mode!r}, num_neighbours={self.num_neighbours}, "
                f"radius={self.radius}, temperature={self.temperature}, "
                f"out_channels={self.out_channels}")
