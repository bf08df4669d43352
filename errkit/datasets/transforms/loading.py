"""Load a face and its neutral reference from disk."""

from __future__ import annotations

from typing import Optional

from errkit.datasets.io import COLOR_TYPES, read_image
from errkit.registry import TRANSFORMS

from .base_transform import BaseTransform

__all__ = ["LoadFaceImages"]


@TRANSFORMS.register_module()
class LoadFaceImages(BaseTransform):
    """Read ``img_path`` and, when given, ``neutral_path`` as uint8 arrays.

    Adds ``img`` and (when ``neutral_path`` is not None) ``neutral``, both
    ``(H, W, C)`` uint8 with ``C=1`` (grey) or ``C=3`` (RGB), and sets
    ``ori_shape`` / ``img_shape`` to the face's ``(H, W)``. The neutral may have a
    different size; a later ``AlignFace`` brings both to one size.

    Args:
        color_type (str): ``'grey'`` or ``'color'``. Defaults to ``'grey'``.

    Examples:
        >>> import os, tempfile
        >>> from PIL import Image
        >>> path = os.path.join(tempfile.mkdtemp(), 'face.png')
        >>> Image.new('L', (6, 4)).save(path)
        >>> out = LoadFaceImages()({'img_path': path, 'neutral_path': None})
        >>> out['img'].shape, out['ori_shape'], 'neutral' in out
        ((4, 6, 1), (4, 6), False)
    """

    def __init__(self, color_type: str = "grey") -> None:
        if color_type not in COLOR_TYPES:
            raise ValueError(f"LoadFaceImages: color_type must be one of {COLOR_TYPES}, "
                             f"got {color_type!r}")
        self.color_type = color_type

    def transform(self, results: dict) -> Optional[dict]:
        """Load the images of one sample.

        Args:
            results (dict): Holds ``img_path`` and optionally ``neutral_path``.

        Returns:
            dict: ``results`` with ``img``, ``neutral`` (if any), ``ori_shape``
            and ``img_shape``.
        """
        if "img_path" not in results:
            raise KeyError("LoadFaceImages: the sample has no 'img_path'")
        img = read_image(results["img_path"], self.color_type)
        results["img"] = img
        results["ori_shape"] = tuple(img.shape[:2])
        results["img_shape"] = tuple(img.shape[:2])
        neutral_path = results.get("neutral_path")
        if neutral_path is not None:
            results["neutral"] = read_image(neutral_path, self.color_type)
        return results
