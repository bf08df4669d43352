"""The landmark-level residual of a face's detected 68 points against its neutral shape."""

from __future__ import annotations

from typing import Dict, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from errkit.landmarks.alignment import LEFT_EYE_INDICES, RIGHT_EYE_INDICES
from errkit.registry import LOSSES, RESIDUALS

from .base_residual import BaseResidual
from .landmark_residual import NUM_POINTS
from .pixel_residual import group_norm
from .residual_context import ResidualContext


def normalise_shape(landmarks: torch.Tensor, min_iod: float = 1e-3
                    ) -> Tuple[torch.Tensor, torch.Tensor]:
    """A face's 68 points in its own eye frame: ``(p - eye midpoint) / IOD``.

    The frame removes position and scale (the face's size in the crop), so
    shapes of different photos of a person compare.

    Args:
        landmarks (Tensor): ``(B, 68, 2)`` pixel coordinates ``(x, y)``.
        min_iod (float): Shapes whose inter-ocular distance is smaller (missing
            landmarks are zeros) are invalid. Defaults to 1e-3.

    Returns:
        tuple[Tensor, Tensor]: The normalised shape ``(B, 68, 2)`` (zeros where
        invalid) and the validity mask ``(B,)``.

    Examples:
        >>> import torch
        >>> pts = torch.zeros(1, 68, 2)
        >>> pts[0, 36:42] = torch.tensor([10.0, 20.0])
        >>> pts[0, 42:48] = torch.tensor([30.0, 20.0])
        >>> shape, valid = normalise_shape(pts)
        >>> shape[0, 36].tolist(), bool(valid)
        ([-0.5, 0.0], True)
    """
    landmarks = landmarks.float()
    right = landmarks[:, RIGHT_EYE_INDICES].mean(dim=1)
    left = landmarks[:, LEFT_EYE_INDICES].mean(dim=1)
    iod = (left - right).norm(dim=-1)
    valid = (iod > min_iod) & torch.isfinite(landmarks).flatten(1).all(dim=1)
    safe = torch.where(valid, iod, torch.ones_like(iod))
    shape = (landmarks - ((left + right) / 2)[:, None]) / safe[:, None, None]
    return torch.where(valid[:, None, None], shape, torch.zeros_like(shape)), valid


@RESIDUALS.register_module()
class DetectedLandmarkResidual(BaseResidual):
    """Expression features from the face's own 68 points and their residual.

    The landmark-level residual is the displacement of the 68 points between the
    expressive face and the same person's neutral face. This branch reads the
    points of the face itself (the detector that aligns a face finds them, in
    training and at inference alike), removes the expression from the shape, and
    embeds the shape together with the residual:

    1. the face's shape in its eye frame (:func:`normalise_shape`);
    2. its neutral shape, predicted by a regressor from the shape (and,
       optionally, from image features; ``source``) and supervised by the true
       neutral face's landmarks where the data have them (term
       ``loss_landmark``): expression removal at the level of the landmarks;
    3. the residual ``shape - neutral shape``; in given-neutral mode
       (``ctx.given_neutral_mask``) the residual to the person's own neutral
       photo instead;
    4. shape and residual, standardised by a parameter-free batch norm, are
       embedded by an MLP.

    Faces without landmarks (``ctx.face_landmark_mask`` False: no face was
    found) get zero features and no ``loss_landmark``.

    Args:
        encoder_channels (Sequence[int], optional): Channels of each encoder
            level. Filled in by ERR-Net; needed with ``source='encoder'``.
        source (str): What the neutral-shape regressor reads besides the shape:
            ``'shape'`` (nothing else) or ``'encoder'`` (also one pooled
            encoder level). Defaults to ``'shape'``.
        feature_index (int): The encoder level read. Defaults to -1 (deepest).
        hidden_channels (int): Width of the regressor. Defaults to 256.
        embed_channels (int): Hidden width of the embedding MLP. Defaults to 128.
        out_channels (int): Length of the features. Defaults to 64.
        use_true_landmarks_in_training (bool): Teacher forcing: in training,
            embed the residual to the true neutral shape where it is known.
            Defaults to False.
        loss (dict): Config of the ``loss_landmark`` term (a ``LOSSES`` entry
            called as ``loss(pred, target, mask)`` on normalised shapes); its
            ``loss_weight`` weights the term. Defaults to
            ``dict(type='MaskedL1Loss', loss_weight=1.0)``.

    Shape:
        - ``ctx.landmarks``: ``(B, 68, 2)`` pixel coordinates.
        - Output: ``(B, out_channels)``; :meth:`predict_neutral_shape`:
          ``(B, 68, 2)``.

    Examples:
        >>> import torch
        >>> from errkit.landmarks.mean_shape import canonical_landmarks
        >>> from errkit.models.residuals import ResidualContext
        >>> branch = DetectedLandmarkResidual(out_channels=8).eval()
        >>> pts = torch.as_tensor(canonical_landmarks(48))[None].repeat(2, 1, 1)
        >>> ctx = ResidualContext(x=torch.zeros(2, 1, 48, 48), landmarks=pts)
        >>> branch(ctx).shape
        torch.Size([2, 8])
    """

    requires_landmarks = True
    requires_neutral = False
    needs_residual_image = False
    needs_at_inference = ("landmarks",)

    def __init__(self, encoder_channels: Optional[Sequence[int]] = None, source: str = "shape",
                 feature_index: int = -1, hidden_channels: int = 256,
                 embed_channels: int = 128, out_channels: int = 64,
                 use_true_landmarks_in_training: bool = False,
                 loss: Optional[dict] = None) -> None:
        super().__init__()
        if source not in ("shape", "encoder"):
            raise ValueError(f"DetectedLandmarkResidual: source must be 'shape' or 'encoder', "
                             f"got {source!r}")
        if source == "encoder" and not encoder_channels:
            raise ValueError("DetectedLandmarkResidual: encoder_channels is required with "
                             "source='encoder' (ERR-Net fills it in from its encoder)")
        self.source = source
        self.feature_index = feature_index
        self.use_true_landmarks_in_training = use_true_landmarks_in_training
        width = NUM_POINTS * 2
        if source == "encoder":
            enc_in = list(encoder_channels)[feature_index]
            self.encoder_proj = nn.Sequential(
                nn.Conv2d(enc_in, hidden_channels, 1, bias=False), group_norm(hidden_channels),
                nn.LeakyReLU(0.2, inplace=True), nn.AdaptiveAvgPool2d(1), nn.Flatten())
            width += hidden_channels
        self.regressor = nn.Sequential(
            nn.Linear(width, hidden_channels), nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(hidden_channels, NUM_POINTS * 2))
        # Start from "no expression": the neutral shape is the face's own shape.
        nn.init.zeros_(self.regressor[-1].weight)
        nn.init.zeros_(self.regressor[-1].bias)
        self.standardise = nn.BatchNorm1d(NUM_POINTS * 4, affine=False)
        self.embed = nn.Sequential(
            nn.Linear(NUM_POINTS * 4, embed_channels), nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(embed_channels, out_channels))
        self.out_channels = out_channels
        self.loss_fn = LOSSES.build(loss if loss is not None
                                    else dict(type="MaskedL1Loss", loss_weight=1.0))

    # ------------------------------------------------------------------ shapes
    @staticmethod
    def face_shape(ctx: ResidualContext) -> Tuple[torch.Tensor, torch.Tensor]:
        """The face's normalised shape and where it is known.

        Raises:
            ValueError: The context has no landmarks.
        """
        if ctx.landmarks is None:
            raise ValueError(
                "DetectedLandmarkResidual needs the face's own 68 landmarks (ctx.landmarks): "
                "prepare the data with a detector (tools/prepare_data.py), or give the "
                "inference API a detector (ExpressionRemover(..., detector='dlib'))")
        shape, valid = normalise_shape(ctx.landmarks)
        if ctx.face_landmark_mask is not None:
            valid = valid & ctx.face_landmark_mask.bool()
        return shape, valid

    def predict_neutral_shape(self, ctx: ResidualContext, shape: torch.Tensor) -> torch.Tensor:
        """The neutral shape the regressor predicts for a normalised face shape.

        Args:
            ctx (ResidualContext): Needs ``encoder_features`` with
                ``source='encoder'``.
            shape (Tensor): ``(B, 68, 2)`` normalised shape.

        Returns:
            Tensor: ``(B, 68, 2)`` predicted neutral shape, same frame.
        """
        parts = [shape.flatten(1)]
        if self.source == "encoder":
            parts.append(self.encoder_proj(ctx.encoder_features[self.feature_index]).float())
        return shape + self.regressor(torch.cat(parts, dim=1)).view(-1, NUM_POINTS, 2)

    @staticmethod
    def true_neutral_shape(ctx: ResidualContext) -> Tuple[torch.Tensor, torch.Tensor]:
        """The true neutral face's normalised shape and where it is known."""
        b, device = ctx.batch_size, ctx.x.device
        if ctx.neutral_landmarks is None:
            return (torch.zeros(b, NUM_POINTS, 2, device=device),
                    torch.zeros(b, dtype=torch.bool, device=device))
        shape, valid = normalise_shape(ctx.neutral_landmarks)
        if ctx.landmark_mask is not None:
            valid = valid & ctx.landmark_mask.bool()
        elif ctx.neutral_mask is not None:
            valid = valid & ctx.neutral_mask.bool()
        return shape, valid

    def _standardise(self, values: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """Batch-standardise the rows of known faces; statistics from them only."""
        if self.training and int(valid.sum()) > 1:
            rows = values[valid]
            normed = self.standardise(rows)
            return torch.zeros_like(values).index_put((valid.nonzero().squeeze(1),), normed)
        return F.batch_norm(values, self.standardise.running_mean, self.standardise.running_var,
                            training=False, eps=self.standardise.eps)

    # ------------------------------------------------------------------ branch
    def forward(self, ctx: ResidualContext) -> torch.Tensor:
        """Embed the face's shape and its landmark residual.

        Args:
            ctx (ResidualContext): Needs ``landmarks`` (and, for given
                neutrals, ``neutral_landmarks`` and ``given_neutral_mask``).

        Returns:
            Tensor: ``(B, out_channels)`` features (zeros for faces without
            landmarks).
        """
        shape, valid = self.face_shape(ctx)
        residual = shape - self.predict_neutral_shape(ctx, shape)
        replace = None
        if ctx.given_neutral_mask is not None:
            replace = ctx.given_neutral_mask.bool()
        if self.training and self.use_true_landmarks_in_training:
            replace = torch.ones_like(valid)
        if replace is not None:
            neutral, known = self.true_neutral_shape(ctx)
            use = replace & known
            residual = torch.where(use[:, None, None], shape - neutral, residual)
        values = torch.cat([shape.flatten(1), residual.flatten(1)], dim=1)
        feats = self.embed(self._standardise(values, valid))
        return feats * valid[:, None].to(feats.dtype)

    def loss(self, ctx: ResidualContext, feats: torch.Tensor) -> Dict[str, torch.Tensor]:
        """``loss_landmark``: the neutral-shape regressor's error.

        Args:
            ctx (ResidualContext): A training context.
            feats (Tensor): The output of :meth:`forward` (unused).

        Returns:
            dict[str, Tensor]: ``{'loss_landmark': scalar}``, zero (connected to
            the graph) when no face of the batch has both shapes.
        """
        shape, valid = self.face_shape(ctx)
        target, known = self.true_neutral_shape(ctx)
        pred = self.predict_neutral_shape(ctx, shape)
        return {"loss_landmark": self.loss_fn(pred, target, valid & known)}


__all__ = ["DetectedLandmarkResidual", "normalise_shape"]
