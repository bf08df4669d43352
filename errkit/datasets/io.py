"""Readers of face images, CK+ emotion files and 68-point landmark files.

Every reader names the file at fault: a missing file raises
:class:`FileNotFoundError`, a file that exists but cannot be read as what it
should be raises :class:`DataFileError` (a :class:`ValueError`).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Union

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

__all__ = ["DataFileError", "read_image", "read_emotion_file", "read_landmarks_file",
           "COLOR_TYPES", "NUM_EMOTION_CODES"]

#: Accepted ``color_type`` values of :func:`read_image`.
COLOR_TYPES = ("grey", "color")
#: CK+ emotion codes run from 0 (neutral) to 7 (surprise).
NUM_EMOTION_CODES = 8
#: Number of points in a landmark file.
NUM_LANDMARKS = 68

PathLike = Union[str, os.PathLike]


class DataFileError(ValueError):
    """A data file exists but is corrupt, truncated or not in the expected format.

    Args:
        path (str | PathLike): The file at fault.
        reason (str): What is wrong with it.
    """

    def __init__(self, path: PathLike, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


def _check_exists(path: PathLike) -> Path:
    path = Path(path)
    if not path.is_file():
        what = "is a folder, not a file" if path.is_dir() else "does not exist"
        raise FileNotFoundError(f"{path} {what}")
    return path


def _to_uint8(arr: np.ndarray) -> np.ndarray:
    """Scale integer or float pixel values to ``uint8``."""
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == np.bool_:
        return arr.astype(np.uint8) * 255
    if np.issubdtype(arr.dtype, np.floating):
        finite = arr[np.isfinite(arr)]
        scale = 255.0 if finite.size and finite.max() <= 1.0 else 1.0
        return np.clip(np.nan_to_num(arr) * scale, 0, 255).round().astype(np.uint8)
    if arr.dtype == np.uint16 or (arr.size and arr.max() > 255):
        return np.clip(arr.astype(np.float64) / 257.0, 0, 255).round().astype(np.uint8)
    return np.clip(arr, 0, 255).astype(np.uint8)


def _pil_to_array(img: Image.Image, color_type: str) -> np.ndarray:
    """Convert any PIL mode to grey ``(H, W, 1)`` or RGB ``(H, W, 3)`` uint8."""
    mode = img.mode
    if mode in ("1", "L", "P", "RGB", "RGBA", "LA", "CMYK", "YCbCr", "PA", "La", "RGBa"):
        if mode == "P":
            img = img.convert("RGBA" if "transparency" in img.info else "RGB")
        elif mode in ("LA", "La", "PA"):
            img = img.convert("L") if mode != "PA" else img.convert("RGB")
        target = "L" if color_type == "grey" else "RGB"
        arr = np.array(img.convert(target))
    else:  # 16-bit, 32-bit integer and float single-channel modes ('I;16', 'I', 'F', ...)
        arr = _to_uint8(np.array(img))
        if arr.ndim != 2:
            raise ValueError(f"unsupported PIL image mode {mode!r} with shape {arr.shape}")
        if color_type == "color":
            arr = np.repeat(arr[:, :, None], 3, axis=2)
    return _shape_channels(arr)


def _cv2_to_array(arr: np.ndarray, color_type: str) -> np.ndarray:
    """Convert an OpenCV ``IMREAD_UNCHANGED`` array to grey or RGB uint8."""
    arr = _to_uint8(arr)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim == 2:
        grey = arr
        rgb = cv2.cvtColor(arr, cv2.COLOR_GRAY2RGB)
    elif arr.ndim == 3 and arr.shape[2] in (3, 4):
        code = cv2.COLOR_BGR2RGB if arr.shape[2] == 3 else cv2.COLOR_BGRA2RGB
        rgb = cv2.cvtColor(arr, code)
        grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    else:
        raise ValueError(f"unsupported array shape {arr.shape}")
    return _shape_channels(grey if color_type == "grey" else rgb)


def _shape_channels(arr: np.ndarray) -> np.ndarray:
    if arr.ndim == 2:
        arr = arr[:, :, None]
    return np.ascontiguousarray(arr, dtype=np.uint8)


def _cv2_decode(data: np.ndarray):
    """``cv2.imdecode`` with OpenCV's own error logging silenced."""
    logging = cv2.utils.logging
    level = logging.getLogLevel()
    logging.setLogLevel(logging.LOG_LEVEL_SILENT)
    try:
        return cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    except cv2.error:
        return None
    finally:
        logging.setLogLevel(level)


def read_image(path: PathLike, color_type: str = "grey") -> np.ndarray:
    """Read an image file as a uint8 ``(H, W, C)`` array.

    Pillow decodes the file first (grey, RGB, RGBA, palette ``'P'``, 16-bit
    ``'I;16'``, 32-bit ``'I'`` / ``'F'``, CMYK, multi-page TIFF: the first page);
    when Pillow cannot identify or decode a TIFF, OpenCV is tried. Alpha channels
    are dropped, 16-bit values are scaled by ``1/257``, float images in ``[0, 1]``
    by 255.

    Args:
        path (str | PathLike): The image file.
        color_type (str): ``'grey'`` (luma, ``C=1``) or ``'color'`` (RGB,
            ``C=3``). Defaults to ``'grey'``.

    Returns:
        np.ndarray: uint8 array of shape ``(H, W, 1)`` or ``(H, W, 3)``.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        DataFileError: the file is empty, corrupt, truncated or in a mode that
            neither Pillow nor OpenCV can decode.

    Examples:
        >>> import tempfile, os
        >>> from PIL import Image
        >>> path = os.path.join(tempfile.mkdtemp(), 'a.png')
        >>> Image.new('P', (4, 3)).save(path)
        >>> read_image(path, 'color').shape
        (3, 4, 3)
    """
    if color_type not in COLOR_TYPES:
        raise ValueError(f"color_type must be one of {COLOR_TYPES}, got {color_type!r}")
    path = _check_exists(path)
    if path.stat().st_size == 0:
        raise DataFileError(path, "the image file is empty")
    pil_error = None
    pil_format = None
    try:
        with Image.open(path) as img:
            pil_format = img.format
            img.load()
            return _pil_to_array(img, color_type)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError,
            EOFError) as exc:
        pil_error = exc
    if pil_format not in (None, "TIFF"):
        raise DataFileError(path, f"cannot decode {pil_format} image "
                            f"(corrupt or truncated?): {pil_error}") from pil_error
    data = np.fromfile(str(path), dtype=np.uint8)
    is_tiff = bytes(data[:4]) in (b"II*\x00", b"MM\x00*")
    arr = _cv2_decode(data)
    if arr is None:
        kind = "TIFF image (unsupported mode, bit depth or compression?)" if is_tiff else "image"
        raise DataFileError(path, f"cannot decode {kind} with Pillow ({pil_error}) "
                            "or OpenCV") from pil_error
    try:
        return _cv2_to_array(arr, color_type)
    except ValueError as exc:
        raise DataFileError(path, str(exc)) from exc


def read_emotion_file(path: PathLike) -> int:
    """Read a CK+ emotion file (one float such as ``   3.0000000e+00``).

    Args:
        path (str | PathLike): An ``*_emotion.txt`` file.

    Returns:
        int: The emotion code, 0 (neutral) .. 7 (surprise).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        DataFileError: the file is empty, holds more than one value, a value that
            is not a number, not a whole number or outside 0..7.

    Examples:
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), 'e.txt')
        >>> _ = open(path, 'w').write('   3.0000000e+00\\n')
        >>> read_emotion_file(path)
        3
    """
    path = _check_exists(path)
    try:
        tokens = path.read_text(encoding="ascii").split()
    except UnicodeDecodeError as exc:
        raise DataFileError(path, "the emotion file is not plain text") from exc
    if not tokens:
        raise DataFileError(path, "the emotion file is empty (expected one number 0..7)")
    if len(tokens) != 1:
        raise DataFileError(path, f"expected one number 0..7, found {len(tokens)} values")
    try:
        value = float(tokens[0])
    except ValueError as exc:
        raise DataFileError(path, f"{tokens[0]!r} is not a number") from exc
    if not math.isfinite(value) or value != int(value) or not 0 <= value < NUM_EMOTION_CODES:
        raise DataFileError(path, f"emotion code {tokens[0]!r} is not a whole number "
                            f"in 0..{NUM_EMOTION_CODES - 1}")
    return int(value)


def read_landmarks_file(path: PathLike) -> np.ndarray:
    """Read a 68-point landmark file: one ``x y`` pair of floats per line.

    Args:
        path (str | PathLike): A CK+ ``*_landmarks.txt`` file (lines like
            ``   2.8414220e+02   2.3561232e+02``).

    Returns:
        np.ndarray: float32 array of shape ``(68, 2)``, ``(x, y)`` pixels.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        DataFileError: a line is not two finite numbers, or the file does not
            hold exactly 68 points.
    """
    path = _check_exists(path)
    try:
        lines = path.read_text(encoding="ascii").splitlines()
    except UnicodeDecodeError as exc:
        raise DataFileError(path, "the landmark file is not plain text") from exc
    points = []
    for number, line in enumerate(lines, start=1):
        tokens = line.split()
        if not tokens:
            continue
        if len(tokens) != 2:
            raise DataFileError(path, f"line {number}: expected 'x y', found {len(tokens)} "
                                f"values")
        try:
            x, y = float(tokens[0]), float(tokens[1])
        except ValueError as exc:
            raise DataFileError(path, f"line {number}: {line.strip()!r} is not two "
                                "numbers") from exc
        if not (math.isfinite(x) and math.isfinite(y)):
            raise DataFileError(path, f"line {number}: non-finite coordinate")
        points.append((x, y))
    if len(points) != NUM_LANDMARKS:
        raise DataFileError(path, f"expected {NUM_LANDMARKS} landmark points, found "
                            f"{len(points)}")
    return np.asarray(points, dtype=np.float32)
