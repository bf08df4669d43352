"""Follow one face through the frames of a video: detect it, then look for it near where it was.

A landmark detector run on every whole frame is slow and, with several people
in view, may hand over another face from one frame to the next.
:class:`FaceTracker` detects on the whole frame only to find the face (at the
first frame and after the face was lost); then it runs the detector on a
window around the face's last box and keeps the face nearest to it, so the
same person is followed and the detector sees a small image.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional

import numpy as np

from errkit.landmarks.detectors import BaseLandmarkDetector

__all__ = ["FaceTracker", "TrackedFace"]


@dataclass
class TrackedFace:
    """Where the followed face is in one frame.

    Attributes:
        landmarks (np.ndarray): ``(68, 2)`` float32 ``(x, y)`` in the frame.
        box (np.ndarray): ``(4,)`` float32 ``x0, y0, x1, y1``, the landmarks'
            bounding box.
        detected (bool): True when the face was found on the whole frame (the
            first frame, or after it was lost), False when followed in the
            window around its last box.
    """

    landmarks: np.ndarray
    box: np.ndarray
    detected: bool


def landmark_box(points: np.ndarray) -> np.ndarray:
    """The ``(4,)`` float32 bounding box ``x0, y0, x1, y1`` of ``(N, 2)`` points."""
    return np.concatenate([points.min(axis=0), points.max(axis=0)]).astype(np.float32)


class FaceTracker:
    """Detect a face once, then follow it from frame to frame.

    On each frame (:meth:`update`): while a face is followed, the detector
    runs on a window around its last box (the box grown by ``margin`` times
    its size on every side) and the face nearest to the last box is kept;
    when the window holds none, the whole frame is searched, and the face
    nearest to the last box is kept. When a face is not followed (the first
    frame, or the frame after it was lost), the largest face of the whole
    frame is taken. A frame without a face returns None and ends the
    following.

    Args:
        detector (BaseLandmarkDetector): The 68-point detector.
        margin (float): Growth of the search window on every side, as a
            fraction of the last box's width and height. Defaults to 0.75.

    Examples:
        >>> class Centre(BaseLandmarkDetector):  # a face of 8 x 8 pixels at the centre
        ...     def _detect(self, image):
        ...         h, w = image.shape[:2]
        ...         grid = np.meshgrid(np.linspace(-4, 4, 17), np.linspace(-4, 4, 4))
        ...         square = np.stack(grid, -1)
        ...         return [square.reshape(-1, 2)[:68] + (w / 2, h / 2)]
        >>> tracker = FaceTracker(Centre())
        >>> first = tracker.update(np.zeros((40, 60), np.uint8))
        >>> first.detected, first.box.tolist()
        (True, [26.0, 16.0, 34.0, 24.0])
        >>> tracker.update(np.zeros((40, 60), np.uint8)).detected  # followed in its window
        False
    """

    def __init__(self, detector: BaseLandmarkDetector, margin: float = 0.75) -> None:
        if not isinstance(detector, BaseLandmarkDetector):
            raise TypeError(f"FaceTracker needs a landmark detector, got {type(detector).__name__}")
        if not margin >= 0:
            raise ValueError(f"FaceTracker margin must be >= 0, got {margin}")
        self.detector = detector
        self.margin = float(margin)
        self._box: Optional[np.ndarray] = None

    @property
    def following(self) -> bool:
        """A face was found in the last frame and is being followed."""
        return self._box is not None

    def reset(self) -> None:
        """Forget the followed face: the next frame is searched whole."""
        self._box = None

    def _window(self, shape) -> tuple:
        height, width = shape[:2]
        x0, y0, x1, y1 = self._box
        grow_x, grow_y = self.margin * (x1 - x0), self.margin * (y1 - y0)
        left, top = int(max(0, np.floor(x0 - grow_x))), int(max(0, np.floor(y0 - grow_y)))
        right = int(min(width, np.ceil(x1 + grow_x)))
        bottom = int(min(height, np.ceil(y1 + grow_y)))
        return left, top, right, bottom

    def _nearest(self, faces: List[np.ndarray]) -> np.ndarray:
        if self._box is None:
            return faces[0]  # the detector sorts the faces largest first
        centre = (self._box[:2] + self._box[2:]) / 2
        return min(faces, key=lambda p: float(np.linalg.norm(
            (p.min(axis=0) + p.max(axis=0)) / 2 - centre)))

    def update(self, image: np.ndarray) -> Optional[TrackedFace]:
        """Find the followed face in the next frame.

        Args:
            image (np.ndarray): The frame, ``(H, W)``, ``(H, W, 1)`` grey or
                ``(H, W, 3)`` RGB uint8.

        Returns:
            TrackedFace | None: The face, or None when the frame holds none.
        """
        faces: List[np.ndarray] = []
        detected = True
        if self._box is not None:
            left, top, right, bottom = self._window(image.shape)
            if right - left >= 2 and bottom - top >= 2:
                window = np.ascontiguousarray(image[top:bottom, left:right])
                faces = [p + np.array([left, top], np.float32)
                         for p in self.detector.detect(window)]
                detected = not faces
        if not faces:
            faces = self.detector.detect(image)
        if not faces:
            self._box = None
            return None
        points = self._nearest(faces)
        self._box = landmark_box(points)
        return TrackedFace(landmarks=points, box=self._box.copy(), detected=detected)
