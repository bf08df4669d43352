"""Bring any image a user passes (path, array, tensor, PIL image) to the model's input form."""

from __future__ import annotations

import os
from typing import Any, Union

import cv2
import numpy as np
import torch

from errkit.datasets.io import read_image

__all__ = ["ImageLike", "to_image_array"]

#: What the inference API accepts as one image.
ImageLike = Union[str, os.PathLike, np.ndarray, torch.Tensor, Any]


def to_image_array(image: ImageLike, color_type: str = "grey") -> np.ndarray:
    """Bring one image to ``(H, W, C)`` uint8, ``C`` 1 (grey) or 3 (RGB).

    Args:
        image: A file path; a numpy array ``(H, W)``, ``(H, W, 1)``,
            ``(H, W, 3)`` (RGB) or ``(H, W, 4)`` (alpha dropped), uint8 or
            float in ``[0, 1]``; a tensor ``(H, W)`` or ``(C, H, W)`` likewise;
            or a PIL image.
        color_type (str): ``'grey'`` or ``'color'``. Defaults to ``'grey'``.

    Returns:
        np.ndarray: ``(H, W, 1)`` or ``(H, W, 3)`` uint8.

    Raises:
        FileNotFoundError, DataFileError: An unreadable file.
        TypeError, ValueError: Not an image.
    """
    if isinstance(image, (str, os.PathLike)):
        return read_image(image, color_type)
    if isinstance(image, torch.Tensor):
        arr = image.detach().cpu()
        if arr.dim() == 3 and arr.shape[0] in (1, 3, 4):
            arr = arr.permute(1, 2, 0)
        arr = arr.numpy()
    elif hasattr(image, "mode") and hasattr(image, "convert"):  # a PIL image
        arr = np.asarray(image.convert("L" if color_type == "grey" else "RGB"))
    elif isinstance(image, np.ndarray):
        arr = image
    else:
        raise TypeError(f"expected an image path, numpy array, tensor or PIL image, got "
                        f"{type(image).__name__}")
    if arr.ndim == 2:
        arr = arr[..., None]
    if arr.ndim != 3 or arr.shape[2] not in (1, 3, 4) or min(arr.shape[:2]) < 1:
        raise ValueError(f"expected an (H, W), (H, W, 1|3|4) or (C, H, W) image, got shape "
                         f"{tuple(arr.shape)}")
    if arr.dtype != np.uint8:
        if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.number):
            raise TypeError(f"expected uint8 or float pixels, got dtype {arr.dtype}")
        arr = arr.astype(np.float64)
        scale = 255.0 if np.nanmax(arr) <= 1.0 else 1.0
        arr = np.clip(np.nan_to_num(arr) * scale, 0, 255).round().astype(np.uint8)
    arr = arr[..., :3]
    if color_type == "grey" and arr.shape[2] == 3:
        arr = cv2.cvtColor(np.ascontiguousarray(arr), cv2.COLOR_RGB2GRAY)[..., None]
    elif color_type == "color" and arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    return np.ascontiguousarray(arr)
