"""The landmark-level residual: how far each of the 68 points moved from neutral."""

from __future__ import annotations

from typing import Dict, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from errkit.landmarks.alignment import LEFT_EYE_INDICES, RIGHT_EYE_INDICES
from errkit.registry import RESIDUALS

from ..losses.loss_builder import build_loss
from .base_residual import BaseResidual
from .pixel_residual import conv_block, group_norm
from .residual_context import ResidualContext

#: Number of points of the iBUG 300-W layout.
NUM_POINTS = 68


def inter_ocular_distance(landmarks: torch.Tensor) -> torch.Tensor:
    """Distance between the eye centres (means of points 36-41 and 42-47).

    Args:
        landmarks (Tensor): ``(B, 68, 2)`` points ``(x, y)``.

    Returns:
        Tensor: ``(B,)`` distances, in the landmarks' unit.
    """
    right = landmarks[:, RIGHT_EYE_INDICES].mean(dim=1)
    left = landmarks[:, LEFT_EYE_INDICES].mean(dim=1)
    return (left - right).norm(dim=-1)


def landmark_displacement(landmarks: torch.Tensor, neutral_landmarks: torch.Tensor,
                          min_iod: float = 1e-3) -> Tuple[torch.Tensor, torch.Tensor]:
    """The landmark residual: ``(landmarks - neutral_landmarks) / IOD``.

    The inter-ocular distance (IOD) is measured on the neutral face, so that the
    displacement is free of face size and image resolution.

    Args:
        landmarks (Tensor): Expressive face's points, ``(B, 68, 2)``.
        neutral_landmarks (Tensor): The same person's neutral points, ``(B, 68, 2)``.
        min_iod (float): Faces whose neutral IOD is below this (missing landmarks
            are zeros) are invalid. Defaults to 1e-3.

    Returns:
        tuple[Tensor, Tensor]: The displacement ``(B, 68, 2)`` (zeros where
        invalid) and the validity mask ``(B,)`` bool.

    Examples:
        >>> import torch
        >>> neutral = torch.rand(1, 68, 2) * 10
        >>> neutral[0, 36:42] = 0.0
        >>> neutral[0, 42:48] = torch.tensor([4.0, 0.0])
        >>> disp, valid = landmark_displacement(neutral + 2.0, neutral)
        >>> float(disp.mean()), bool(valid)
        (0.5, True)
    """
    if landmarks.shape != neutral_landmarks.shape or landmarks.shape[-2:] != (NUM_POINTS, 2):
        raise ValueError("landmarks and neutral_landmarks must both be (B, 68, 2), got "
                         f"{tuple(landmarks.shape)} and {tuple(neutral_landmarks.shape)}")
    landmarks = landmarks.float()
    neutral_landmarks = neutral_landmarks.float()
    iod = inter_ocular_distance(neutral_landmarks)
    diff = landmarks - neutral_landmarks
    valid = (iod > min_iod) & torch.isfinite(diff).flatten(1).all(dim=1) & torch.isfinite(iod)
    safe_iod = torch.where(valid, iod, torch.ones_like(iod))
    disp = torch.where(valid[:, None, None], diff / safe_iod[:, None, None],
                       torch.zeros_like(diff))
    return disp, valid


@RESIDUALS.register_module()
class LandmarkResidual(BaseResidual):
    """Expression features from the predicted displacement of the 68 landmarks.

    The landmark-level residual is the displacement of the 68 facial points
    between the expressive face and the same person's neutral face, divided by
    the inter-ocular distance (:func:`landmark_displacement`). Neither landmarks
    nor a neutral face exist at inference, so a regressor predicts the
    ``68 x 2`` displacement from the encoder features and the residual image;
    in training it is supervised by the data's true displacement where both
    faces have landmarks (term ``loss_landmark``). The displacement (predicted,
    or the true one with ``use_true_landmarks_in_training``) is embedded by an
    MLP into the branch's features.

    Args:
        in_channels (int): Image channels. Filled in by ERR-Net. Defaults to 3.
        encoder_channels (Sequence[int], optional): Channels of each encoder level.
            Filled in by ERR-Net. Required unless ``source='residual'``.
        source (str): What the regressor reads: ``'encoder'`` (one encoder level),
            ``'residual'`` (the residual image) or ``'both'``. Defaults to
            ``'both'``.
        feature_index (int): The encoder level read. Defaults to -1 (deepest).
        hidden_channels (int): Width of the regressor. Defaults to 128.
        residual_channels (int): Channels of the residual-image CNN's first
            stage. Defaults to 16.
        pool_size (int): Feature maps are average-pooled to
            ``pool_size x pool_size`` (keeping coarse layout). Defaults to 4.
        embed_channels (int): Hidden width of the embedding MLP. Defaults to 128.
        out_channels (int): Length of the features. Defaults to 64.
        use_true_landmarks_in_training (bool): Teacher forcing: in training, embed
            the true displacement of faces that have one. Defaults to False.
        loss (dict): Config of the ``loss_landmark`` term, a ``LOSSES`` entry
            called as ``loss(pred, target, mask)``; its ``loss_weight`` weights
            the term. Defaults to
            ``dict(type='MaskedL1Loss', loss_weight=1.0)``.

    Shape:
        - ``ctx.encoder_features[feature_index]``: ``(B, C_i, h, w)``.
        - ``ctx.residual_hat``: ``(B, in_channels, H, W)``.
        - Output: ``(B, out_channels)``; :meth:`predict_displacement`:
          ``(B, 68, 2)``.
    """

    requires_landmarks = True
    requires_neutral = False
    needs_at_inference = ()

    def __init__(self, in_channels: int = 3, encoder_channels: Optional[Sequence[int]] = None,
                 source: str = "both", feature_index: int = -1, hidden_channels: int = 128,
                 residual_channels: int = 16, pool_size: int = 4, embed_channels: int = 128,
                 out_channels: int = 64, use_true_landmarks_in_training: bool = False,
                 loss: Optional[dict] = None) -> None:
        super().__init__()
        if source not in ("encoder", "residual", "both"):
            raise ValueError(f"LandmarkResidual: source must be 'encoder', 'residual' or 'both', "
                             f"got {source!r}")
        if source != "residual" and not encoder_channels:
            raise ValueError("LandmarkResidual: encoder_channels is required with "
                             f"source={source!r} (ERR-Net fills it in from its encoder)")
        self.source = source
        self.feature_index = feature_index
        self.pool = nn.AdaptiveAvgPool2d(pool_size)
        self.use_true_landmarks_in_training = use_true_landmarks_in_training
        width = 0
        if source in ("encoder", "both"):
            enc_in = list(encoder_channels)[feature_index]
            self.encoder_proj = nn.Sequential(
                nn.Conv2d(enc_in, hidden_channels, 1, bias=False), group_norm(hidden_channels),
                nn.LeakyReLU(0.2, inplace=True))
            width += hidden_channels * pool_size ** 2
        if source in ("residual", "both"):
            self.residual_body = nn.Sequential(
                conv_block(in_channels, residual_channels, stride=2),
                conv_block(residual_channels, 2 * residual_channels, stride=2))
            width += 2 * residual_channels * pool_size ** 2
        self.regressor = nn.Sequential(
            nn.Linear(width, hidden_channels), nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(hidden_channels, NUM_POINTS * 2))
        # Start from "no displacement": the neutral face's own shape.
        nn.init.zeros_(self.regressor[-1].weight)
        nn.init.zeros_(self.regressor[-1].bias)
        self.embed = nn.Sequential(
            nn.Linear(NUM_POINTS * 2, embed_channels), nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(embed_channels, out_channels))
        self.out_channels = out_channels
        self.loss_fn = build_loss(loss if loss is not None
                                  else dict(type="MaskedL1Loss", loss_weight=1.0),
                                  "LandmarkResidual.loss")

    def predict_displacement(self, ctx: ResidualContext) -> torch.Tensor:
        """Regress the normalised displacement from the image-derived context.

        Args:
            ctx (ResidualContext): Needs ``encoder_features`` and/or
                ``residual_hat`` (see ``source``); nothing else.

        Returns:
            Tensor: ``(B, 68, 2)`` predicted ``(landmarks - neutral) / IOD``.
        """
        parts = []
        if self.source in ("encoder", "both"):
            if not ctx.encoder_features:
                raise ValueError("LandmarkResidual needs ctx.encoder_features")
            feat = self.encoder_proj(ctx.encoder_features[self.feature_index])
            parts.append(self.pool(feat).flatten(1))
        if self.source in ("residual", "both"):
            if ctx.residual_hat is None:
                raise ValueError("LandmarkResidual(source=%r) needs ctx.residual_hat; the model "
                                 "has no decoder (use source='encoder')" % self.source)
            parts.append(self.pool(self.residual_body(ctx.residual_hat)).flatten(1))
        return self.regressor(torch.cat(parts, dim=1)).view(-1, NUM_POINTS, 2)

    @staticmethod
    def true_displacement(ctx: ResidualContext) -> Tuple[torch.Tensor, torch.Tensor]:
        """The data's displacement and where it is valid.

        Args:
            ctx (ResidualContext): A training context.

        Returns:
            tuple[Tensor, Tensor]: ``(B, 68, 2)`` and ``(B,)`` bool; all invalid
            when the batch has no landmarks.
        """
        b, device = ctx.batch_size, ctx.x.device
        if ctx.landmarks is None or ctx.neutral_landmarks is None:
            return (torch.zeros(b, NUM_POINTS, 2, device=device),
                    torch.zeros(b, dtype=torch.bool, device=device))
        disp, valid = landmark_displacement(ctx.landmarks, ctx.neutral_landmarks)
        if ctx.landmark_mask is not None:
            valid = valid & ctx.landmark_mask.bool()
        return disp, valid

    def _displacement(self, ctx: ResidualContext) -> torch.Tensor:
        pred = self.predict_displacement(ctx)
        if self.training and self.use_true_landmarks_in_training:
            target, valid = self.true_displacement(ctx)
            return torch.where(valid[:, None, None], target.to(pred.dtype), pred)
        return pred

    def forward(self, ctx: ResidualContext) -> torch.Tensor:
        """Embed the (predicted) landmark displacement.

        Args:
            ctx (ResidualContext): The batch's context; at inference only
                ``encoder_features`` / ``residual_hat`` are read.

        Returns:
            Tensor: ``(B, out_channels)`` features.
        """
        return self.embed(self._displacement(ctx).flatten(1))

    def loss(self, ctx: ResidualContext, feats: torch.Tensor) -> Dict[str, torch.Tensor]:
        """``loss_landmark``: the regressor's error on faces with true landmarks.

        Args:
            ctx (ResidualContext): A training context.
            feats (Tensor): The output of :meth:`forward` on ``ctx`` (unused: the
                small regressor is re-run, which keeps the branch stateless).

        Returns:
            dict[str, Tensor]: ``{'loss_landmark': scalar}``; zero (connected to
            the graph) when no face of the batch has landmarks.
        """
        pred = self.predict_displacement(ctx)
        target, valid = self.true_displacement(ctx)
        return {"loss_landmark": self.loss_fn(pred.float(), target, valid)}
