"""What :class:`~errkit.apis.ExpressionRemover` returns: one result per face and per image."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional

import numpy as np

__all__ = ["FaceResult", "ImageResult"]


@dataclass
class FaceResult:
    """What the model says about one face.

    Attributes:
        box (np.ndarray): ``(4,)`` float32 ``x0, y0, x1, y1`` in the original
            image (the landmarks' bounding box, or the whole image when no
            detector ran).
        landmarks (np.ndarray | None): ``(68, 2)`` float32 ``(x, y)`` in the
            original image; None when no detector ran.
        probabilities (dict[str, float]): Class name -> probability (sums to 1).
        label (str): The most probable class.
        aligned_face (np.ndarray): ``(S, S, C)`` uint8 crop the model saw.
        neutral (np.ndarray | None): ``(S, S, C)`` uint8 generated neutral face
            (None for models without expression removal).
        residual (np.ndarray | None): ``(S, S, C)`` float32 signed residual
            ``input - neutral`` in the model's ``[-1, 1]`` image units.
        segment_activations (np.ndarray | None): ``(K,)`` float32 activation of
            each class's latent segment.
        aligned_landmarks (np.ndarray | None): ``(68, 2)`` landmarks in the crop.
        neutral_mode (str): The neutral recognition used: ``'generated'`` (from
            the face alone) or ``'given'`` (the residual to a given neutral photo
            of the same person). Defaults to ``'generated'``.
    """

    box: np.ndarray
    landmarks: Optional[np.ndarray]
    probabilities: Dict[str, float]
    label: str
    aligned_face: np.ndarray
    neutral: Optional[np.ndarray] = None
    residual: Optional[np.ndarray] = None
    segment_activations: Optional[np.ndarray] = None
    aligned_landmarks: Optional[np.ndarray] = None
    neutral_mode: str = "generated"

    @property
    def score(self) -> float:
        """Probability of :attr:`label`."""
        return self.probabilities[self.label]

    def to_dict(self) -> dict:
        """JSON-ready summary (no image arrays)."""
        def as_list(value):
            return None if value is None else np.asarray(value, dtype=float).round(3).tolist()

        return dict(label=self.label, score=round(self.score, 6),
                    probabilities={k: round(v, 6) for k, v in self.probabilities.items()},
                    box=as_list(self.box), landmarks=as_list(self.landmarks),
                    segment_activations=as_list(self.segment_activations),
                    neutral_mode=self.neutral_mode)


@dataclass
class ImageResult:
    """The faces found in one input image; behaves as the list of its faces.

    Attributes:
        source (str): The file path, or ``'<array 3>'`` for in-memory input 3.
        faces (list[FaceResult]): Largest face first; empty when none was found
            or the image failed.
        image (np.ndarray | None): The input as ``(H, W, C)`` uint8 (None when it
            could not be read).
        warning (str | None): E.g. no face found.
        error (str | None): Why the image could not be processed.
        notes (list[str]): What the answers cannot show: the model was trained
            on synthetic faces only and this is a real photo; its classes have
            no ``neutral`` (see :mod:`errkit.apis.training_domain`).
    """

    source: str
    faces: List[FaceResult] = field(default_factory=list)
    image: Optional[np.ndarray] = None
    warning: Optional[str] = None
    error: Optional[str] = None
    notes: List[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True unless the image failed (no face found is not a failure)."""
        return self.error is None

    def __len__(self) -> int:
        return len(self.faces)

    def __iter__(self):
        return iter(self.faces)

    def __getitem__(self, index: int) -> FaceResult:
        return self.faces[index]

    def to_dict(self) -> dict:
        """JSON-ready summary (no image arrays)."""
        shape = None if self.image is None else list(self.image.shape[:2])
        return dict(source=self.source, image_shape=shape, error=self.error,
                    warning=self.warning, notes=list(self.notes),
                    faces=[f.to_dict() for f in self.faces])
