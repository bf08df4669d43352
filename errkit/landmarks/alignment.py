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

from typing import Optional, Tuple

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


def warp_face(img: np.ndarray, matrix: np.ndarray, size: int,
              antialias: bool = True) -> np.ndarray:
    """Warp an image into a ``size x size`` crop by an affine matrix.

    Bilinear sampling, borders replicated. A trailing channel axis of length 1
    (which OpenCV drops) is kept. When the warp shrinks the face (a 640 x 490
    CK+ frame to a 48-pixel crop, say), bilinear sampling alone would skip
    pixels and alias; with ``antialias`` the region that lands in the crop is
    first cut out and area-resized to about the crop's scale, so every source
    pixel contributes, and the warp that remains is close to 1:1. The cost is
    bounded by that region, not by the image.

    Args:
        img (np.ndarray): ``(H, W)`` or ``(H, W, C)`` image.
        matrix (np.ndarray): ``(2, 3)`` map from image to crop coordinates.
        size (int): Output side.
        antialias (bool): Area-filter before a shrinking warp. Defaults to
            ``True``.

    Returns:
        np.ndarray: ``(size, size)`` or ``(size, size, C)``, of ``img``'s dtype.
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.shape != (2, 3):
        raise ValueError(f"matrix must have shape (2, 3), got {matrix.shape}")
    if img.ndim not in (2, 3):
        raise ValueError(f"img must be (H, W) or (H, W, C), got shape {img.shape}")
    keep_axis = img.ndim == 3 and img.shape[2] == 1
    if antialias:
        img, matrix = _prefilter_for_warp(img, matrix, int(size))
    out = cv2.warpAffine(
        img,
        matrix,
        (int(size), int(size)),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )
    if keep_axis and out.ndim == 2:
        out = out[..., None]
    return out


def _prefilter_for_warp(img: np.ndarray, matrix: np.ndarray,
                        size: int) -> Tuple[np.ndarray, np.ndarray]:
    """Cut out and area-resize the source region of a shrinking warp.

    Returns the smaller image and the matrix that maps it into the same crop.
    """
    linear = matrix[:, :2]
    scale = float(np.sqrt(abs(np.linalg.det(linear))))
    if not np.isfinite(scale) or scale <= 0 or scale >= 0.8:
        return img, matrix
    # Source region of the crop (its corners mapped back), with a margin for
    # the bilinear footprint; clipped to the image.
    inverse = cv2.invertAffineTransform(matrix)
    corners = np.array([[0, 0], [size, 0], [0, size], [size, size]], np.float64)
    src = corners @ inverse[:, :2].T + inverse[:, 2]
    margin = 2.0 / scale
    height, width = img.shape[:2]
    x0 = int(max(0, np.floor(src[:, 0].min() - margin)))
    y0 = int(max(0, np.floor(src[:, 1].min() - margin)))
    x1 = int(min(width, np.ceil(src[:, 0].max() + margin)))
    y1 = int(min(height, np.ceil(src[:, 1].max() + margin)))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return img, matrix  # the crop lies outside the image: borders only
    crop = img[y0:y1, x0:x1]
    new_w = max(1, int(round((x1 - x0) * scale)))
    new_h = max(1, int(round((y1 - y0) * scale)))
    small = cv2.resize(crop, (new_w, new_h), interpolation=cv2.INTER_AREA)
    if img.ndim == 3 and small.ndim == 2:
        small = small[..., None]
    # Pixel centres: p_crop = (p_small + 0.5) / k - 0.5 per axis, p_img = p_crop + (x0, y0).
    kx, ky = new_w / (x1 - x0), new_h / (y1 - y0)
    to_img = np.array([[1 / kx, 0, 0.5 / kx - 0.5 + x0],
                       [0, 1 / ky, 0.5 / ky - 0.5 + y0],
                       [0, 0, 1]], np.float64)
    return small, matrix @ to_img


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
