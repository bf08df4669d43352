"""Draw a face's box, landmarks and top class onto a video frame (OpenCV, in place on a copy)."""

from __future__ import annotations

from typing import Optional, Tuple

import cv2
import numpy as np

__all__ = ["annotate_frame", "FACE_COLOUR", "GAP_COLOUR"]

#: RGB colour of the box, landmarks and label of a face.
FACE_COLOUR: Tuple[int, int, int] = (255, 204, 0)
#: RGB colour of the message on a frame without a face.
GAP_COLOUR: Tuple[int, int, int] = (230, 40, 40)


def _text(img: np.ndarray, text: str, origin, colour, scale: float, thickness: int) -> None:
    """Text with a dark outline, readable on any background."""
    cv2.putText(img, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thickness + 2,
                cv2.LINE_AA)
    cv2.putText(img, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, colour, thickness,
                cv2.LINE_AA)


def annotate_frame(image: np.ndarray, box: Optional[np.ndarray] = None,
                   landmarks: Optional[np.ndarray] = None, label: Optional[str] = None,
                   message: Optional[str] = None) -> np.ndarray:
    """A copy of ``image`` with the face's box, landmarks and label drawn on it.

    Sizes (line width, dots, text) follow the frame's size, so that small
    frames stay readable. ``message`` (e.g. ``'no face'``) is written in red
    at the top left, for frames without a face.

    Args:
        image (np.ndarray): ``(H, W)``, ``(H, W, 1)`` or ``(H, W, 3)`` RGB uint8.
        box (np.ndarray, optional): ``(4,)`` ``x0, y0, x1, y1``. Defaults to None.
        landmarks (np.ndarray, optional): ``(N, 2)`` points ``(x, y)``.
            Defaults to None.
        label (str, optional): Text above the box (e.g. ``'happy 0.83'``).
            Defaults to None.
        message (str, optional): Text at the top left. Defaults to None.

    Returns:
        np.ndarray: ``(H, W, 3)`` RGB uint8.

    Examples:
        >>> frame = np.zeros((60, 80, 3), np.uint8)
        >>> out = annotate_frame(frame, box=np.array([20, 10, 60, 50]), label='happy 0.90')
        >>> out.shape, bool(out.any()), bool(frame.any())
        ((60, 80, 3), True, False)
    """
    img = np.asarray(image)
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[..., 0]
    img = np.repeat(img[..., None], 3, axis=2) if img.ndim == 2 else img[..., :3].copy()
    img = np.ascontiguousarray(img, dtype=np.uint8)
    height, width = img.shape[:2]
    side = min(height, width)
    thickness = max(1, int(round(side / 200)))
    scale = max(0.3, side / 500)
    if box is not None:
        x0, y0, x1, y1 = (int(round(float(v))) for v in box)
        cv2.rectangle(img, (x0, y0), (x1, y1), FACE_COLOUR, thickness, cv2.LINE_AA)
    if landmarks is not None:
        radius = max(1, int(round(side / 250)))
        for x, y in np.asarray(landmarks, dtype=np.float64):
            cv2.circle(img, (int(round(x)), int(round(y))), radius, FACE_COLOUR, -1, cv2.LINE_AA)
    if label and box is not None:
        (_, text_h), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
        top = int(round(float(box[1]))) - 4
        y = top if top - text_h >= 0 else min(height - 2, int(round(float(box[3]))) + text_h + 4)
        _text(img, label, (max(0, int(round(float(box[0])))), y), FACE_COLOUR, scale, thickness)
    if message:
        (_, text_h), _ = cv2.getTextSize(message, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
        _text(img, message, (4, text_h + 4), GAP_COLOUR, scale, thickness)
    return img
