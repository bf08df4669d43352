"""The interface of a residual branch: the one class a residual plugin implements."""

from __future__ import annotations

from dataclasses import fields
from typing import Dict, Tuple

import torch
import torch.nn as nn

from .residual_context import INFERENCE_FIELDS, ResidualContext

#: Constructor arguments that ERR-Net fills in when a residual's ``__init__``
#: accepts them and its config leaves them out.
BUILD_ARGUMENTS: Tuple[str, ...] = (
    "in_channels", "encoder_channels", "encoder_reductions", "num_segments", "segment_dim",
    "num_classes")


class BaseResidual(nn.Module):
    """A residual branch: turns what expression removal produced into features.

    ERR-Net recognises the expression from what its generator removed. Each
    residual branch reads a :class:`~errkit.models.residuals.ResidualContext`
    (the face ``x``, the generated neutral ``neutral_hat``, the residual image
    ``residual_hat = x - neutral_hat``, the encoder's feature maps, the segmented
    latent ``z`` and its activations; in training also the true neutral,
    landmarks, masks and labels) and returns one feature vector per face. The
    features of every branch (and, optionally, the segment activations) are
    concatenated and classified by the head.

    To write a new residual type, subclass this, register it and name it in a
    config::

        from errkit.registry import RESIDUALS
        from errkit.models.residuals import BaseResidual

        @RESIDUALS.register_module()
        class MyResidual(BaseResidual):
            def __init__(self, in_channels, out_channels=32):
                super().__init__()
                self.out_channels = out_channels
                self.proj = nn.Linear(in_channels, out_channels)

            def forward(self, ctx):
                return self.proj(ctx.residual_hat.abs().mean(dim=(2, 3)))

    Contract:

    - In eval mode, ``forward(ctx)`` may rely only on :data:`INFERENCE_FIELDS`
      (plus the fields named in ``needs_at_inference``): at inference errkit
      derives the context from the expressive image alone.
    - In training, optional fields may be ``None`` or valid for only some faces
      (see the masks); a branch must cope with both.
    - ``loss(ctx, feats)`` returns extra supervised terms, each named
      ``loss_<something>`` and already weighted by the branch (a
      ``loss_weight`` in the config of a ``LOSSES`` entry, or an argument of the
      branch); ERR-Net adds them as they are to the generator's and
      recognizer's objective. A term must be a scalar tensor connected to the
      graph (return ``feats.sum() * 0`` rather than a constant when no face of
      the batch is supervised).
    - Constructor arguments named in :data:`BUILD_ARGUMENTS` (``in_channels``:
      image channels; ``encoder_channels`` / ``encoder_reductions``: lists per
      encoder level; ``num_segments``, ``segment_dim``, ``num_classes``) are
      filled by ERR-Net when the config does not give them.

    Attributes:
        requires_landmarks (bool): The branch's training losses use
            ``landmarks`` / ``neutral_landmarks``. Defaults to False.
        requires_neutral (bool): The branch's training losses use the true
            neutral image. Defaults to False.
        needs_residual_image (bool): The branch reads the generated neutral or
            residual image, so the model needs a decoder. Defaults to True.
        needs_at_inference (tuple[str]): Context fields beyond
            :data:`INFERENCE_FIELDS` that ``forward`` needs in eval mode (e.g.
            ``('landmarks',)``: the face's own landmarks, which the inference
            API then passes from its detector). Defaults to ``()``.
        out_channels (int): Length of the feature vector ``forward`` returns; set
            it in ``__init__``.
    """

    requires_landmarks: bool = False
    requires_neutral: bool = False
    needs_residual_image: bool = True
    needs_at_inference: Tuple[str, ...] = ()
    out_channels: int

    def forward(self, ctx: ResidualContext) -> torch.Tensor:
        """Compute the branch's features.

        Args:
            ctx (ResidualContext): The batch's context.

        Returns:
            Tensor: Features.

        Shape:
            - Output: ``(B, out_channels)``.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement forward(ctx)")

    def loss(self, ctx: ResidualContext, feats: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Extra training terms of the branch (none by default).

        Args:
            ctx (ResidualContext): The batch's context, with training fields.
            feats (Tensor): What :meth:`forward` returned for ``ctx``.

        Returns:
            dict[str, Tensor]: Scalar terms named ``loss_*``.
        """
        return {}

    @classmethod
    def check_inference_fields(cls) -> None:
        """Raise if ``needs_at_inference`` names fields that inference lacks.

        Raises:
            ValueError: A name is not a field of
                :class:`~errkit.models.residuals.ResidualContext`.
        """
        known = {f.name for f in fields(ResidualContext)}
        unknown = [name for name in cls.needs_at_inference if name not in known]
        if unknown:
            raise ValueError(f"{cls.__name__}.needs_at_inference names unknown context fields "
                             f"{unknown}; known fields: {sorted(known)}")

    def extra_repr(self) -> str:
        return f"out_channels={getattr(self, 'out_channels', '?')}"


__all__ = ["BaseResidual", "BUILD_ARGUMENTS", "INFERENCE_FIELDS"]
