"""Similarity alignment of faces by their eye centres.

A face is aligned by the similarity transform (rotation, uniform scale,
translation) that maps the centres of its two eyes, each the mean of the six
eye points of the 68-point layout (36-41 and 42-47), exactly onto the eye
centres of a template face inside a ``size x size`` crop. The template is the
mean face shape of :func:`errkit.landmarks.mean_shape.canonical_landmarks`
unless another one is given.

Coordinates are pixel coordinates ``(x, y)`` with integer values at pixel
centres, the convention of OpenCV and of the 68-point annotations.

Examples:
    >>> import numpy as np
    >>> template = np.zeros((68, 2), np.float32)
    >>> template[36:42] = (40.0, 50.0)
    >>> template[42:48] = (88.0, 50.0)
    >>> points = template * 2 + 10
    >>> matrix = similarity_from_eyes(points, 128, template)
    >>> np.allclose(transform_points(points, matrix), template, atol=1e-4)
    True
"""

from __future__ import annotations

from typing import Optional

import cv2
import numpy as np

from errkit.landmarks.mean_shape import LEFT_EYE_68, RIGHT_EYE_68, canonical_landmarks, eye_centres

__all__ = [
    "RIGHT_EYE_INDICES",
    "LEFT_EYE_INDICES",
    "similarity_from_eyes",
    "warp_face",
    "transform_points",
    "crop_resize_matrix",
]

#: The subject's right eye (on the image's left) in the 68-point layout: 36-41.
RIGHT_EYE_INDICES = RIGHT_EYE_68
#: The subject's left eye (on the image's right) in the 68-point layout: 42-47.
LEFT_EYE_INDICES = LEFT_EYE_68


def _check_points(points: np.ndarray, name: str, count: Optional[int] = None) -> np.ndarray:
    array = np.asarray(points, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != 2 or (count is not None and array.shape[0] != count):
        want = f"({count}, 2)" if count is not None else "(N, 2)"
        raise ValueError(f"{name} must have shape {want} (x, y), got {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} holds non-finite coordinates")
    return array


def _eyes(landmarks: np.ndarray, name: str) -> np.ndarray:
    return np.stack(eye_centres(_check_points(landmarks, name, 68)))


def _template_eyes(size: int, template: Optional[np.ndarray]) -> np.ndarray:
    if template is None:
        template = canonical_landmarks(size)
    array = np.asarray(template, dtype=np.float64)
    if array.shape == (2, 2):
        return _check_points(array, "template eye centres", 2)
    return _eyes(array, "template")


def similarity_from_eyes(
    landmarks: np.ndarray, size: int, template: Optional[np.ndarray] = None
) -> np.ndarray:
    """The similarity transform that puts a face's eyes onto the template's eyes.

    Two point pairs determine a similarity transform exactly; it is solved in
    closed form (as a complex multiplication ``a * z + t``).

    Args:
        landmarks (np.ndarray): ``(68, 2)`` points ``(x, y)`` of the face, in
            the pixel coordinates of its image.
        size (int): Side of the square output crop; picks the template when
            ``template`` is ``None``.
        template (np.ndarray, optional): ``(68, 2)`` template shape inside the
            crop, or its ``(2, 2)`` eye centres (subject's right eye first).
            Defaults to ``None``:
            :func:`errkit.landmarks.mean_shape.canonical_landmarks` of ``size``.

    Returns:
        np.ndarray: ``(2, 3)`` float64 matrix ``M`` mapping an image point
        ``p`` to ``M[:, :2] @ p + M[:, 2]`` in the crop.

    Raises:
        ValueError: The shapes are malformed or the face's eyes coincide.
    """
    if int(size) <= 0:
        raise ValueError(f"size must be positive, got {size}")
    src = _eyes(landmarks, "landmarks")
    dst = _template_eyes(int(size), template)
    src_c = complex(*src[0]), complex(*src[1])
    dst_c = complex(*dst[0]), complex(*dst[1])
    if abs(src_c[1] - src_c[0]) < 1e-6:
        raise ValueError("the two eye centres of the landmarks coincide; cannot align")
    scale_rot = (dst_c[1] - dst_c[0]) / (src_c[1] - src_c[0])
    shift = dst_c[0] - scale_rot * src_c[0]
    return np.array(
        [
            [scale_rot.real, -scale_rot.imag, shift.real],
            [scale_rot.imag, scale_rot.real, shift.imag],
        ],
        dtype=np.float64,
    )


def crop_resize_matrix(height: int, width: int, size: int) -> np.ndarray:
    """The affine map of a centre square crop followed by a resize to ``size``.

    It matches :func:`cv2.resize` on the crop ``img[y0:y0 + s, x0:x0 + s]``
    (``s = min(height, width)``), whose pixel centres map as
    ``x' = (x - x0 + 0.5) * size / s - 0.5``.

    Args:
        height (int): Image height.
        width (int): Image width.
        size (int): Output side.

    Returns:
        np.ndarray: ``(2, 3)`` float64 matrix.
    """
    side = min(height, width)
    if side <= 0 or size <= 0:
        raise ValueError(f"cannot crop a {height}x{width} image to {size}x{size}")
    x0, y0 = (width - side) // 2, (height - side) // 2
    scale = size / side
    return np.array(
        [
            [scale, 0.0, (0.5 - x0) * scale - 0.5],
            [0.0, scale, (0.5 - y0) * scale - 0.5],
        ],
        dtype=np.float64,
    )


def warp_face(img: np.ndarray, matrix: np.ndarray, size: int) -> np.ndarray:
    """Warp an image into a ``size x size`` crop by an affine matrix.

    Bilinear sampling, borders replicated. A trailing channel axis of length 1
    (which OpenCV drops) is kept.

    Args:
        img (np.ndarray): ``(H, W)`` or ``(H, W, C)`` image.
        matrix (np.ndarray): ``(2, 3)`` map from image to crop coordinates.
        size (int): Output side.

    Returns:
        np.ndarray: ``(size, size)`` or ``(size, size, C)``, of ``img``'s dtype.
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.shape != (2, 3):
        raise ValueError(f"matrix must have shape (2, 3), got {matrix.shape}")
    if img.ndim not in (2, 3):
        raise ValueError(f"img must be (H, W) or (H, W, C), got shape {img.shape}")
    out = cv2.warpAffine(
        img,
        matrix,
        (int(size), int(size)),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )
    if img.ndim == 3 and out.ndim == 2:
        out = out[..., None]
    return out


def transform_points(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Map points by a ``(2, 3)`` affine matrix.

    Args:
        points (np.ndarray): ``(N, 2)`` points ``(x, y)``.
        matrix (np.ndarray): ``(2, 3)`` affine matrix.

    Returns:
        np.ndarray: ``(N, 2)`` float32 mapped points.
    """
    array = _check_points(points, "points")
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.shape != (2, 3):
        raise ValueError(f"matrix must have shape (2, 3), got {matrix.shape}")
    return cv2.transform(array.reshape(-1, 1, 2), matrix).reshape(-1, 2).astype(np.float32)
