"""What a residual branch receives: the face, its generated neutral, and the rest."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import List, Optional, Tuple

import torch

#: Fields of :class:`ResidualContext` that are filled at inference as well.
INFERENCE_FIELDS: Tuple[str, ...] = (
    "x", "neutral_hat", "residual_hat", "encoder_features", "z", "activations")
#: Fields that inference fills when the caller has them: the face's own landmarks
#: (a detector found them while aligning it) and, in given-neutral mode, the
#: person's own neutral face and its landmarks.
OPTIONAL_INFERENCE_FIELDS: Tuple[str, ...] = (
    "landmarks", "face_landmark_mask", "neutral", "neutral_landmarks", "given_neutral_mask")
#: Fields of :class:`ResidualContext` that only training (and validation-loss) batches fill.
TRAINING_FIELDS: Tuple[str, ...] = (
    "neutral", "landmarks", "neutral_landmarks", "neutral_mask", "landmark_mask", "labels")


@dataclass
class ResidualContext:
    """Everything a residual branch may look at, for one batch.

    ERR-Net's generator runs first; its outputs and the batch's annotations are
    gathered here and handed to every residual branch
    (:class:`~errkit.models.residuals.BaseResidual`).

    **Always available** (training, validation and inference; the recognition path
    needs nothing but the expressive image):

    - ``x``: the expressive face, ``(B, C, H, W)`` in ``[-1, 1]``.
    - ``neutral_hat``: the generated neutral face ``x - residual_hat``,
      ``(B, C, H, W)``; ``None`` when the model has no decoder.
    - ``residual_hat``: the residual image, ``(B, C, H, W)`` in ``[-2, 2]``;
      ``None`` when the model has no decoder.
    - ``encoder_features``: the encoder's multi-scale feature maps, shallow to
      deep, each ``(B, C_i, H / s_i, W / s_i)``.
    - ``z``: the segmented latent, ``(B, K, d)`` (``K`` segments, one per class).
    - ``activations``: segment activations ``(B, K)`` (per-class scores).

    **Training only** (``None`` at inference, and whenever the data lacks them;
    per-sample availability is given by the masks):

    - ``neutral``: the true neutral face, ``(B, C, H, W)`` in ``[-1, 1]``; valid
      where ``neutral_mask``.
    - ``landmarks`` / ``neutral_landmarks``: 68-point ``(x, y)`` pixel coordinates
      of the expressive and of the neutral face, ``(B, 68, 2)``; valid where
      ``landmark_mask`` (and, for ``neutral_landmarks``, where the neutral
      face's landmarks are non-degenerate).
    - ``neutral_mask`` / ``landmark_mask``: ``(B,)`` bool.
    - ``labels``: expression classes, ``(B,)`` long.

    **Given when known** (training, and inference when the caller has them):

    - ``landmarks`` with ``face_landmark_mask`` ``(B,)`` bool: the face's own
      68 points (a detector finds them while aligning the face), valid where
      the mask is set, whether or not a neutral face exists.
    - ``given_neutral_mask`` ``(B,)`` bool (given-neutral mode): faces whose
      true neutral (``neutral``, ``neutral_landmarks``: a photo of the same
      person, e.g. an enrolment photo or a video's first frame) replaces the
      generated one for recognition; see :attr:`recognition_residual`.

    Examples:
        >>> import torch
        >>> ctx = ResidualContext(x=torch.zeros(2, 1, 8, 8))
        >>> ctx.batch_size, ctx.has_training_fields
        (2, False)
    """

    x: torch.Tensor
    neutral_hat: Optional[torch.Tensor] = None
    residual_hat: Optional[torch.Tensor] = None
    encoder_features: List[torch.Tensor] = field(default_factory=list)
    z: Optional[torch.Tensor] = None
    activations: Optional[torch.Tensor] = None
    neutral: Optional[torch.Tensor] = None
    landmarks: Optional[torch.Tensor] = None
    neutral_landmarks: Optional[torch.Tensor] = None
    neutral_mask: Optional[torch.Tensor] = None
    landmark_mask: Optional[torch.Tensor] = None
    labels: Optional[torch.Tensor] = None
    face_landmark_mask: Optional[torch.Tensor] = None
    given_neutral_mask: Optional[torch.Tensor] = None

    @property
    def batch_size(self) -> int:
        """Number of faces in the batch."""
        return int(self.x.shape[0])

    @property
    def has_training_fields(self) -> bool:
        """Whether any training-only field is set."""
        return any(getattr(self, name) is not None for name in TRAINING_FIELDS)

    @property
    def recognition_residual(self) -> Optional[torch.Tensor]:
        """The residual image recognition reads: ``x - neutral`` for the faces of
        ``given_neutral_mask``, ``residual_hat`` for the others.

        Returns:
            Tensor | None: ``(B, C, H, W)``; None without a decoder and without
            given neutrals.
        """
        mask = self.given_neutral_mask
        if mask is None or self.neutral is None:
            return self.residual_hat
        given = self.x - self.neutral
        if self.residual_hat is None:
            return given
        return torch.where(mask[:, None, None, None], given, self.residual_hat)

    def for_inference(self) -> "ResidualContext":
        """A copy with every field cleared that an image alone does not give.

        Returns:
            ResidualContext: Only :data:`INFERENCE_FIELDS` kept.
        """
        return ResidualContext(**{f.name: getattr(self, f.name) for f in fields(self)
                                  if f.name in INFERENCE_FIELDS})
