"""The landmarks a dataset ships with (e.g. CK+ ``Landmarks/`` files)."""

from __future__ import annotations

from typing import List, Optional, Union

import numpy as np

from errkit.landmarks.detectors.base_landmark_detector import (
    BaseLandmarkDetector,
    DetectorUnavailableError,
    build_landmark_detector,
)
from errkit.registry import LANDMARK_DETECTORS

__all__ = ["PrecomputedLandmarks"]


@LANDMARK_DETECTORS.register_module()
class PrecomputedLandmarks(BaseLandmarkDetector):
    """Use the landmarks listed in a dataset's ``data_list``.

    A dataset that reads landmark files puts them into each sample's
    ``'landmarks'`` and ``'neutral_landmarks'`` entries;
    :meth:`landmarks_for` returns them as they are. Where a dataset has none
    for an image, an optional ``fallback`` detector looks at the pixels.

    Args:
        fallback (BaseLandmarkDetector | dict, optional): Detector (or its
            ``LANDMARK_DETECTORS`` config) for images without landmarks.
            Defaults to ``None``: such images count as faces not found.

    Examples:
        >>> import numpy as np
        >>> points = np.zeros((68, 2), np.float32)
        >>> PrecomputedLandmarks().landmarks_for(None, known=points).shape
        (68, 2)
    """

    def __init__(self, fallback: Optional[Union[BaseLandmarkDetector, dict]] = None) -> None:
        if isinstance(fallback, (dict, str)):
            fallback = build_landmark_detector(fallback)
        if fallback is not None and not isinstance(fallback, BaseLandmarkDetector):
            raise TypeError(
                f"fallback must be a landmark detector or its config, got {type(fallback)}"
            )
        self.fallback = fallback

    @property
    def miss_reason(self) -> str:
        if self.fallback is None:
            return "the dataset has no landmarks for this image"
        return "the dataset has no landmarks for this image and the fallback found no face"

    def _detect(self, image: np.ndarray) -> List[np.ndarray]:
        if self.fallback is None:
            raise DetectorUnavailableError(
                "PrecomputedLandmarks reads a dataset's landmark entries and cannot detect "
                "faces in pixels; give it a fallback detector (e.g. fallback=dict(type="
                "'DlibLandmarkDetector')) or use landmarks_for(image, known=...)"
            )
        return self.fallback.detect(image)

    def landmarks_for(
        self, image: Optional[np.ndarray], known: Optional[np.ndarray] = None
    ) -> Optional[np.ndarray]:
        """The dataset's landmarks, else the fallback's detection.

        Args:
            image (np.ndarray, optional): The image (only read by the fallback).
            known (np.ndarray, optional): ``(68, 2)`` landmarks from the
                dataset. Defaults to ``None``.

        Returns:
            np.ndarray | None: ``(68, 2)`` float32 points, or ``None``.

        Raises:
            ValueError: ``known`` does not have shape ``(68, 2)``.
        """
        if known is not None:
            points = np.asarray(known, dtype=np.float32)
            if points.shape != (68, 2):
                raise ValueError(
                    f"precomputed landmarks must have shape (68, 2), got {points.shape}"
                )
            return points
        if self.fallback is None or image is None:
            return None
        return self.fallback.landmarks_for(image)
