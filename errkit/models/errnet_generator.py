"""ERR-Net's generator: encoder, segmented latent and residual decoder."""

from __future__ import annotations

from typing import Dict, List, Optional

import torch
import torch.nn as nn

from errkit.registry import ENCODERS, MODELS


def with_defaults(cfg: dict, **defaults) -> dict:
    """A copy of ``cfg`` in which the keys it lacks take ``defaults``.

    Args:
        cfg (dict): A component config.
        **defaults: Values for keys absent from ``cfg``.

    Returns:
        dict: The completed copy.
    """
    if not isinstance(cfg, dict):
        raise TypeError(f"expected a config dict, got {type(cfg).__name__}: {cfg!r}")
    out = dict(cfg)
    for key, value in defaults.items():
        out.setdefault(key, value)
    return out


class ERRNetGenerator(nn.Module):
    """Remove the expression: ``x -> (z, residual_hat, neutral_hat)``.

    The encoder (``ENCODERS``) extracts multi-scale features; the latent head
    (``MODELS``, e.g. ``SegmentLatent``) maps the deepest one to ``K`` segments of
    size ``d``, one per class; the decoder (``MODELS``, e.g.
    ``UNetResidualDecoder``) turns the features (through skips) and the
    flattened code into the residual image ``residual_hat`` in ``[-2, 2]``, and
    the generated neutral face is ``neutral_hat = x - residual_hat``. Identity
    flows through the skips, the expression through the residual.

    Args:
        encoder (dict): ``ENCODERS`` config; its ``in_channels`` is the images'.
        latent (dict): Latent-head config; ``in_channels`` (the deepest encoder
            level's channels) and ``num_segments`` (``num_classes``) are filled in.
        decoder (dict, optional): Decoder config; ``encoder_channels``,
            ``encoder_reductions``, ``latent_dim`` and ``out_channels`` are filled
            in. None builds no decoder (a plain classifier: no residual image).
        num_classes (int): Number of expression classes. Defaults to 7.

    Attributes:
        in_channels (int): Image channels.
        num_segments (int): ``K``.
        segment_dim (int): ``d``.

    Shape:
        - Input: ``(B, C, H, W)`` in ``[-1, 1]``.
        - Output of :meth:`forward`: ``features`` (list), ``z`` ``(B, K, d)``,
          ``activations`` ``(B, K)``, ``residual`` and ``neutral`` ``(B, C, H, W)``
          (``None`` without decoder).
    """

    def __init__(self, encoder: dict, latent: dict, decoder: Optional[dict] = None,
                 num_classes: int = 7) -> None:
        super().__init__()
        self.encoder = ENCODERS.build(encoder)
        channels = getattr(self.encoder, "channels", None)
        reductions = getattr(self.encoder, "reductions", None)
        if not channels or not reductions:
            raise TypeError(f"encoder {type(self.encoder).__name__} must expose `channels` and "
                            "`reductions` lists (one entry per feature level)")
        self.in_channels = int(getattr(self.encoder, "in_channels", encoder.get("in_channels", 3)))
        self.latent = MODELS.build(with_defaults(latent, in_channels=channels[-1],
                                                 num_segments=num_classes))
        self.num_segments = int(self.latent.num_segments)
        self.segment_dim = int(self.latent.segment_dim)
        if self.num_segments != num_classes:
            raise ValueError(f"latent.num_segments ({self.num_segments}) must equal num_classes "
                             f"({num_classes}): one segment per expression class")
        self.decoder = None
        if decoder is not None:
            self.decoder = MODELS.build(with_defaults(
                decoder, encoder_channels=list(channels), encoder_reductions=list(reductions),
                latent_dim=self.num_segments * self.segment_dim, out_channels=self.in_channels))

    @property
    def encoder_channels(self) -> List[int]:
        """Channels of each encoder level."""
        return list(self.encoder.channels)

    @property
    def encoder_reductions(self) -> List[int]:
        """Stride of each encoder level."""
        return list(self.encoder.reductions)

    def forward(self, x: torch.Tensor) -> Dict[str, Optional[torch.Tensor]]:
        """Encode ``x`` and decode its residual image.

        Args:
            x (Tensor): Expressive faces ``(B, C, H, W)`` in ``[-1, 1]``.

        Returns:
            dict: ``features`` (list of Tensor), ``z``, ``activations``,
            ``residual`` and ``neutral`` (the last two ``None`` without decoder).
        """
        features = self.encoder(x)
        z = self.latent(features[-1])
        activations = self.latent.activations(z)
        residual = neutral = None
        if self.decoder is not None:
            residual = self.decoder(features, z.flatten(1), x)
            neutral = x - residual
        return dict(features=features, z=z, activations=activations, residual=residual,
                    neutral=neutral)
