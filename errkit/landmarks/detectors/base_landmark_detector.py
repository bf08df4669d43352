"""The contract every 68-point landmark detector follows."""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from typing import List, Optional, Union

import numpy as np

from errkit.registry import LANDMARK_DETECTORS

__all__ = ["BaseLandmarkDetector", "DetectorUnavailableError", "build_landmark_detector"]

#: Number of points of the iBUG 300-W layout every detector returns.
NUM_LANDMARKS = 68


class DetectorUnavailableError(RuntimeError):
    """A detector cannot run here: its package or a model file is missing.

    The message says what is missing, where it was looked up and how to supply it.
    """


class BaseLandmarkDetector(metaclass=ABCMeta):
    """A detector of the 68 facial landmarks of every face in an image.

    Subclasses implement :meth:`_detect`; :meth:`detect` checks the input,
    hands it over as ``(H, W)`` grey or ``(H, W, 3)`` RGB uint8, checks the
    output and sorts the faces, largest first (by the area of the points'
    bounding box).

    Subclasses raise :class:`DetectorUnavailableError` from ``__init__`` when
    their package or model files are missing, never later.

    Attributes:
        miss_reason (str): Why :meth:`landmarks_for` returned ``None``, as
            written into the summary of a data preparation run.

    Examples:
        >>> class Centre(BaseLandmarkDetector):
        ...     def _detect(self, image):
        ...         h, w = image.shape[:2]
        ...         return [np.full((68, 2), (w / 2, h / 2), np.float32)]
        >>> Centre().detect(np.zeros((10, 20), np.uint8))[0][0].tolist()
        [10.0, 5.0]
    """

    miss_reason = "no face found"

    @abstractmethod
    def _detect(self, image: np.ndarray) -> List[np.ndarray]:
        """Detect the faces of a checked image.

        Args:
            image (np.ndarray): ``(H, W)`` grey or ``(H, W, 3)`` RGB uint8.

        Returns:
            list[np.ndarray]: ``(68, 2)`` points ``(x, y)`` per face, any order.
        """

    def detect(self, image: np.ndarray) -> List[np.ndarray]:
        """Find the 68 landmarks of every face in ``image``.

        Args:
            image (np.ndarray): ``(H, W)``, ``(H, W, 1)`` grey or
                ``(H, W, 3)`` RGB uint8 image.

        Returns:
            list[np.ndarray]: One ``(68, 2)`` float32 array of pixel
            coordinates ``(x, y)`` per face, largest face first; empty when no
            face is found.

        Raises:
            ValueError: ``image`` is not a uint8 grey or RGB image.
        """
        image = np.asarray(image)
        if image.dtype != np.uint8:
            raise ValueError(f"{type(self).__name__}.detect needs a uint8 image, got {image.dtype}")
        if image.ndim == 3 and image.shape[2] == 1:
            image = image[..., 0]
        if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] != 3):
            raise ValueError(
                f"{type(self).__name__}.detect needs an (H, W) or (H, W, 3) image, "
                f"got shape {image.shape}"
            )
        faces = []
        for points in self._detect(np.ascontiguousarray(image)):
            points = np.asarray(points, dtype=np.float32)[:, :2]
            if points.shape != (NUM_LANDMARKS, 2):
                raise RuntimeError(
                    f"{type(self).__name__} returned landmarks of shape {points.shape}, "
                    f"expected ({NUM_LANDMARKS}, 2)"
                )
            faces.append(points)
        return sorted(faces, key=lambda p: -float(np.prod(np.ptp(p, axis=0))))

    def detect_one(self, image: np.ndarray) -> Optional[np.ndarray]:
        """The landmarks of the largest face, or ``None`` when there is none.

        Args:
            image (np.ndarray): As for :meth:`detect`.

        Returns:
            np.ndarray | None: ``(68, 2)`` float32 points.
        """
        faces = self.detect(image)
        return faces[0] if faces else None

    def landmarks_for(
        self, image: np.ndarray, known: Optional[np.ndarray] = None
    ) -> Optional[np.ndarray]:
        """The landmarks to use for one image of a dataset.

        Detectors ignore ``known`` (a dataset's own landmarks) and detect;
        :class:`~errkit.landmarks.detectors.PrecomputedLandmarks` returns it.

        Args:
            image (np.ndarray): As for :meth:`detect`.
            known (np.ndarray, optional): ``(68, 2)`` landmarks shipped with
                the dataset. Defaults to ``None``.

        Returns:
            np.ndarray | None: ``(68, 2)`` float32 points of the largest face,
            ``None`` when no face is found.
        """
        return self.detect_one(image)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({args})"


def build_landmark_detector(
    cfg: Union["BaseLandmarkDetector", dict, str],
) -> "BaseLandmarkDetector":
    """Build a detector from its ``LANDMARK_DETECTORS`` config or name.

    The class is looked up in :data:`~errkit.registry.LANDMARK_DETECTORS`
    itself, so the result does not depend on mmengine's current default scope.

    Args:
        cfg (BaseLandmarkDetector | dict | str): A detector (returned as is),
            a config ``dict(type=NAME, **kwargs)`` or a registered ``NAME``.

    Returns:
        BaseLandmarkDetector: The detector.

    Examples:
        >>> build_landmark_detector('PrecomputedLandmarks')
        PrecomputedLandmarks(fallback=None)
    """
    if isinstance(cfg, BaseLandmarkDetector):
        return cfg
    if isinstance(cfg, str):
        cfg = {"type": cfg}
    if not isinstance(cfg, dict) or "type" not in cfg:
        raise TypeError(f"a landmark detector config needs a 'type', got {cfg!r}")
    args = dict(cfg)
    kind = args.pop("type")
    cls = LANDMARK_DETECTORS.get(kind) if isinstance(kind, str) else kind
    if not (isinstance(cls, type) and issubclass(cls, BaseLandmarkDetector)):
        names = ", ".join(sorted(LANDMARK_DETECTORS.module_dict))
        raise KeyError(f"{kind!r} is not a landmark detector of LANDMARK_DETECTORS (registered: "
                       f"{names})")
    return cls(**args)
