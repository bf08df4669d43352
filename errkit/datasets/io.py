"""Readers of face images, CK+ emotion files and 68-point landmark files.

Every reader names the file at fault: a missing file raises
:class:`FileNotFoundError`, a file that exists but cannot be read as what it
should be raises :class:`DataFileError` (a :class:`ValueError`), and an image
with more pixels than errkit's limit (see :mod:`errkit.datasets.image_limits`)
raises :class:`ImageTooLargeError` before it is decoded.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Optional, Union

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from .image_limits import (MAX_IMAGE_PIXELS_ENV, max_image_pixels, pillow_bomb_check_deferred,
                           read_header)

__all__ = ["DataFileError", "ImageTooLargeError", "check_image_size", "read_image",
           "read_emotion_file", "read_landmarks_file", "COLOR_TYPES", "NUM_EMOTION_CODES"]

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


class ImageTooLargeError(DataFileError):
    """An image has more pixels than errkit's limit: a likely decompression bomb.

    Raised from the file's header, before anything is decoded.

    Args:
        path (str | PathLike): The file at fault.
        width (int): Its width in pixels.
        height (int): Its height in pixels.
        max_pixels (int): The limit in force.
    """

    def __init__(self, path: PathLike, width: int, height: int, max_pixels: int) -> None:
        self.width, self.height, self.max_pixels = int(width), int(height), int(max_pixels)
        super().__init__(path, f"the image is {width}x{height} pixels "
                         f"({width * height / 1e6:.1f} megapixels), more than errkit's limit "
                         f"of {max_pixels / 1e6:g} megapixels; if the file is trusted, raise "
                         f"the limit with the environment variable {MAX_IMAGE_PIXELS_ENV} "
                         "(a number of pixels)")


def check_image_size(path: PathLike, width: int, height: int,
                     max_pixels: Optional[int] = None) -> None:
    """Refuse an image (or video frame) with more pixels than the limit.

    Args:
        path (str | PathLike): The file, for the message.
        width (int): Width in pixels, from the header.
        height (int): Height in pixels, from the header.
        max_pixels (int, optional): The limit. Defaults to None
            (:func:`~errkit.datasets.image_limits.max_image_pixels`: the
            environment variable ``ERRKIT_MAX_IMAGE_PIXELS``, else 100 megapixels).

    Raises:
        ImageTooLargeError: ``width * height`` exceeds the limit.
    """
    limit = max_image_pixels(max_pixels)
    if int(width) * int(height) > limit:
        raise ImageTooLargeError(path, width, height, limit)


#: EXIF / TIFF orientation (1..8) -> how to turn the stored ``(H, W, C)`` pixels upright
#: (the transpositions of :func:`PIL.ImageOps.exif_transpose`).
_ORIENTATIONS = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.transpose(1, 0, 2),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: a[::-1, ::-1].transpose(1, 0, 2),
    8: lambda a: np.rot90(a, 1),
}


def _exif_orientation(img: Image.Image) -> int:
    """The EXIF orientation of a Pillow image (1, upright, when absent or invalid)."""
    try:
        value = img.getexif().get(0x0112, 1)
    except Exception:  # a corrupt EXIF block does not make the pixels unreadable
        return 1
    return value if value in _ORIENTATIONS else 1


def _upright(arr: np.ndarray, orientation: int) -> np.ndarray:
    turn = _ORIENTATIONS.get(orientation)
    return arr if turn is None else np.ascontiguousarray(turn(arr))


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


def read_image(path: PathLike, color_type: str = "grey",
               max_pixels: Optional[int] = None) -> np.ndarray:
    """Read an image file as an upright uint8 ``(H, W, C)`` array.

    The size is read from the header first: an image with more than
    ``max_pixels`` pixels is refused before it is decoded. Pillow decodes the
    file (grey, RGB, RGBA, palette ``'P'``, 16-bit ``'I;16'``, 32-bit ``'I'`` /
    ``'F'``, CMYK, multi-page TIFF: the first page); a TIFF Pillow cannot decode,
    and a Radiance HDR, go to OpenCV once their header's size passes the limit.
    The EXIF (or TIFF) orientation is applied, so a photo stored sideways with
    an orientation tag comes out upright. Alpha channels are dropped, 16-bit
    values are scaled by ``1/257``, float images in ``[0, 1]`` by 255.

    Args:
        path (str | PathLike): The image file.
        color_type (str): ``'grey'`` (luma, ``C=1``) or ``'color'`` (RGB,
            ``C=3``). Defaults to ``'grey'``.
        max_pixels (int, optional): Largest width x height accepted. Defaults
            to None (the environment variable ``ERRKIT_MAX_IMAGE_PIXELS``, else
            :data:`~errkit.datasets.image_limits.DEFAULT_MAX_IMAGE_PIXELS`,
            100 megapixels).

    Returns:
        np.ndarray: uint8 array of shape ``(H, W, 1)`` or ``(H, W, 3)``, upright.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ImageTooLargeError: the header says the image has more than
            ``max_pixels`` pixels.
        DataFileError: the file is empty, corrupt, truncated, in a mode that
            neither Pillow nor OpenCV can decode, or in a format whose size
            cannot be read before decoding.

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
    limit = max_image_pixels(max_pixels)
    path = _check_exists(path)
    if path.stat().st_size == 0:
        raise DataFileError(path, "the image file is empty")
    pil_error = None
    pil_format = None
    orientation = 1
    with pillow_bomb_check_deferred():
        try:
            with Image.open(path) as img:  # reads the header only
                pil_format = img.format
                check_image_size(path, *img.size, max_pixels=limit)
                orientation = _exif_orientation(img)  # for OpenCV, if loading fails
                img.load()
                # Read again: some Pillow versions turn TIFFs upright while loading them.
                return _upright(_pil_to_array(img, color_type), _exif_orientation(img))
        except ImageTooLargeError:
            raise
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
            pil_error = exc
    if pil_format not in (None, "TIFF"):
        raise DataFileError(path, f"cannot decode {pil_format} image "
                            f"(corrupt or truncated?): {pil_error}") from pil_error
    if pil_format is None:  # Pillow cannot identify it: measure it before OpenCV decodes it
        header = read_header(str(path))
        if header is None:
            raise DataFileError(path, f"cannot identify the image format ({pil_error}); "
                                "errkit reads the formats Pillow reads, and TIFF or Radiance "
                                "HDR through OpenCV") from pil_error
        check_image_size(path, header.width, header.height, max_pixels=limit)
        orientation = header.orientation
    data = np.fromfile(str(path), dtype=np.uint8)
    is_tiff = bytes(data[:4]) in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
    arr = _cv2_decode(data)
    if arr is None:
        kind = "TIFF image (unsupported mode, bit depth or compression?)" if is_tiff else "image"
        raise DataFileError(path, f"cannot decode {kind} with Pillow ({pil_error}) "
                            "or OpenCV") from pil_error
    try:
        return _upright(_cv2_to_array(arr, color_type), orientation)
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
