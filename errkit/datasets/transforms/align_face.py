"""Similarity-align a face (and its neutral reference) to a square crop."""

from __future__ import annotations

from typing import Optional, Tuple

import cv2
import numpy as np

from errkit.datasets.transforms.base_transform import BaseTransform
from errkit.landmarks.alignment import (
    crop_resize_matrix,
    similarity_from_eyes,
    transform_points,
    warp_face,
)
from errkit.landmarks.mean_shape import canonical_landmarks
from errkit.registry import TRANSFORMS

__all__ = ["AlignFace", "align_image"]


def align_image(
    img: np.ndarray,
    landmarks: Optional[np.ndarray],
    size: int,
    template: Optional[np.ndarray] = None,
    use_landmarks: bool = True,
    matrix: Optional[np.ndarray] = None,
) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """Align one image by its own landmarks, or centre-crop and resize it.

    Args:
        img (np.ndarray): ``(H, W, C)`` (or ``(H, W)``) image.
        landmarks (np.ndarray, optional): ``(68, 2)`` points of ``img``.
        size (int): Output side.
        template (np.ndarray, optional): Template of
            :func:`~errkit.landmarks.alignment.similarity_from_eyes`.
            Defaults to ``None`` (the canonical mean shape).
        use_landmarks (bool): Align by the eyes when ``landmarks`` exist;
            otherwise always crop and resize. Defaults to ``True``.
        matrix (np.ndarray, optional): A ``(2, 3)`` transform to warp by
            instead (e.g. the expressive face's, for its neutral frame); the
            landmarks, if any, are mapped by it. Defaults to ``None``.

    Returns:
        tuple: The ``(size, size[, C])`` image (channel axis kept) and the
        mapped landmarks as float32, or ``None`` when there were none.
    """
    if matrix is not None or (use_landmarks and landmarks is not None):
        if matrix is None:
            matrix = similarity_from_eyes(landmarks, size, template)
        out = warp_face(img, matrix, size)
    else:
        height, width = img.shape[:2]
        matrix = crop_resize_matrix(height, width, size)
        side = min(height, width)
        y0, x0 = (height - side) // 2, (width - side) // 2
        crop = np.ascontiguousarray(img[y0 : y0 + side, x0 : x0 + side])
        interpolation = cv2.INTER_AREA if side > size else cv2.INTER_LINEAR
        out = cv2.resize(crop, (size, size), interpolation=interpolation)
        if img.ndim == 3 and out.ndim == 2:
            out = out[..., None]
    mapped = None if landmarks is None else transform_points(landmarks, matrix)
    return out, mapped


@TRANSFORMS.register_module()
class AlignFace(BaseTransform):
    """Similarity-align ``img`` and ``neutral`` to a ``size x size`` crop.

    ``results['img']`` is aligned by ``results['landmarks']`` so that its eye
    centres land on the eye centres of the canonical mean shape
    (:func:`errkit.landmarks.mean_shape.canonical_landmarks`). With
    ``neutral_alignment='own'`` the neutral reference is aligned the same way
    by its own ``results['neutral_landmarks']`` (two photographs of a person);
    with ``'image'`` it is warped by the expressive face's transform, which
    keeps the pixel correspondence of frames filmed by a still camera (a
    video sequence, the synthetic set): an expression moves the lids and so
    the eye centres, and aligning each frame by its own eyes would shift the
    whole neutral face by a fraction of a pixel. The landmarks are mapped
    into the crop. An image without landmarks (or every image when
    ``use_landmarks=False``) is centre-cropped to a square and resized; its
    landmarks, if any, are scaled the same way.

    Required keys: ``img``. Optional keys: ``landmarks``, ``neutral``,
    ``neutral_landmarks``. Modified keys: ``img``, ``neutral``, ``landmarks``,
    ``neutral_landmarks``. Added keys: ``img_shape`` (``(size, size)``).

    Images stay ``(H, W, C)`` uint8 with ``C`` preserved. Very large images
    cost no more than one crop copy (the output is computed by one warp or one
    area resize); images whose shorter side is below :attr:`min_side` pixels (a
    broken file or a thumbnail, not a face) raise a ``ValueError`` naming the
    file, as do landmarks that cannot align (coinciding eyes).

    Args:
        size (int): Side of the output crop. Defaults to 128.
        use_landmarks (bool): Align by the landmarks when present. Defaults to
            ``True``.
        neutral_alignment (str): ``'own'`` (the neutral by its own landmarks)
            or ``'image'`` (by the expressive face's transform; the neutral's
            own landmarks are used only when the face has none). Defaults to
            ``'own'``.

    Examples:
        >>> import numpy as np
        >>> out = AlignFace(size=64)({'img': np.zeros((100, 80, 1), np.uint8)})
        >>> out['img'].shape, out['img_shape']
        ((64, 64, 1), (64, 64))
    """

    #: Shortest image side accepted, in pixels.
    min_side = 8

    def __init__(self, size: int = 128, use_landmarks: bool = True,
                 neutral_alignment: str = "own") -> None:
        if int(size) <= 0:
            raise ValueError(f"AlignFace size must be positive, got {size}")
        if neutral_alignment not in ("own", "image"):
            raise ValueError("AlignFace neutral_alignment must be 'own' or 'image', got "
                             f"{neutral_alignment!r}")
        self.size = int(size)
        self.use_landmarks = bool(use_landmarks)
        self.neutral_alignment = neutral_alignment
        self._template: Optional[np.ndarray] = None

    def _get_template(self) -> np.ndarray:
        if self._template is None:
            self._template = np.asarray(canonical_landmarks(self.size), dtype=np.float64)
        return self._template

    def _check_image(self, img: np.ndarray, key: str) -> None:
        if not isinstance(img, np.ndarray) or img.ndim not in (2, 3):
            raise ValueError(f"AlignFace: results['{key}'] must be an (H, W, C) array")
        height, width = img.shape[:2]
        if min(height, width) < self.min_side:
            raise ValueError(f"the image is {width}x{height} pixels, smaller than "
                             f"{self.min_side} (a broken file or a thumbnail, not a face)")

    def transform(self, results: dict) -> dict:
        """Align ``img`` and, when present, ``neutral``.

        Args:
            results (dict): The sample's results dict.

        Returns:
            dict: ``results``, updated in place.
        """
        if results.get("img") is None:
            raise KeyError("AlignFace needs results['img'] (run LoadFaceImages first)")
        shared = None  # the expressive face's transform, with neutral_alignment='image'
        for img_key, lm_key in (("img", "landmarks"), ("neutral", "neutral_landmarks")):
            img = results.get(img_key)
            if img is None:
                continue
            points = results.get(lm_key)
            by_landmarks = self.use_landmarks and points is not None
            try:
                self._check_image(img, img_key)
                template = self._get_template() if by_landmarks else None
                if img_key == "img" and self.neutral_alignment == "image" and by_landmarks:
                    shared = similarity_from_eyes(points, self.size, template)
                img, landmarks = align_image(img, points, self.size, template,
                                             self.use_landmarks, matrix=shared)
            except ValueError as exc:
                path = results.get("img_path" if img_key == "img" else "neutral_path")
                where = f" {path}" if path else ""
                raise ValueError(f"AlignFace: cannot align {img_key}{where}: {exc}") from exc
            results[img_key] = img
            if landmarks is not None:
                results[lm_key] = landmarks
        results["img_shape"] = (self.size, self.size)
        return results
