"""errkit's pixel limit on images, and image sizes read from file headers.

A few hundred kilobytes of PNG can hold a 20000 x 20000 image that takes
gigabytes once decoded (a decompression bomb). Every image errkit reads is
therefore measured from its header first and refused when it has more pixels
than the limit: :data:`DEFAULT_MAX_IMAGE_PIXELS`, or the environment variable
``ERRKIT_MAX_IMAGE_PIXELS``, or the ``max_pixels`` argument of the reader.

Pillow has a heuristic of its own (``PIL.Image.MAX_IMAGE_PIXELS``: a warning
above 89 megapixels, an error above twice that). While errkit opens and decodes
a file it has measured, :func:`pillow_bomb_check_deferred` switches Pillow's
heuristic off, so that errkit's limit is the one that applies, in both
directions.
"""

from __future__ import annotations

import operator
import os
import re
import struct
import threading
from contextlib import contextmanager
from typing import BinaryIO, Dict, Iterator, NamedTuple, Optional

from PIL import Image

__all__ = ["DEFAULT_MAX_IMAGE_PIXELS", "MAX_IMAGE_PIXELS_ENV", "ImageHeader", "max_image_pixels",
           "read_header", "pillow_bomb_check_deferred"]

#: Largest image errkit decodes by default: 100 megapixels (e.g. 12000 x 8000).
DEFAULT_MAX_IMAGE_PIXELS = 100_000_000
#: Environment variable that overrides :data:`DEFAULT_MAX_IMAGE_PIXELS`.
MAX_IMAGE_PIXELS_ENV = "ERRKIT_MAX_IMAGE_PIXELS"

_HDR_SIZE = re.compile(rb"([-+])([XY]) +(\d+) +([-+])([XY]) +(\d+)")
_TIFF_WIDTH, _TIFF_LENGTH, _TIFF_ORIENTATION = 256, 257, 274
#: TIFF field types holding an integer: SHORT, LONG, LONG8 -> struct code.
_TIFF_INT_TYPES = {3: "H", 4: "I", 16: "Q"}

_pillow_lock = threading.Lock()
_pillow_users = 0
_pillow_saved_limit: Optional[int] = None


def max_image_pixels(value: Optional[int] = None) -> int:
    """The pixel limit in force: ``value``, else the environment, else the default.

    Args:
        value (int, optional): An explicit limit. Defaults to None (read
            ``ERRKIT_MAX_IMAGE_PIXELS``, else :data:`DEFAULT_MAX_IMAGE_PIXELS`).

    Returns:
        int: The largest number of pixels (width x height) an image may have.

    Raises:
        ValueError: ``value`` or the environment variable is not a positive
            whole number.

    Examples:
        >>> max_image_pixels(4000 * 3000)
        12000000
    """
    source = "max_pixels"
    if value is None:
        text = os.environ.get(MAX_IMAGE_PIXELS_ENV, "").strip()
        if not text:
            return DEFAULT_MAX_IMAGE_PIXELS
        source = MAX_IMAGE_PIXELS_ENV
        try:
            value = int(text.replace("_", ""))
        except ValueError:
            raise ValueError(f"{MAX_IMAGE_PIXELS_ENV}={text!r} is not a whole number of "
                             "pixels (e.g. 200000000)") from None
    try:
        limit = operator.index(value)  # any integer type (numpy's too), never a float
    except TypeError:
        limit = 0
    if isinstance(value, bool) or limit < 1:
        raise ValueError(f"{source} must be a positive whole number of pixels, got {value!r}")
    return limit


class ImageHeader(NamedTuple):
    """What a header says about an image: its size and EXIF / TIFF orientation."""

    width: int
    height: int
    orientation: int = 1


def _tiff_header(f: BinaryIO, head: bytes) -> Optional[ImageHeader]:
    """Size and orientation from the first IFD of a classic or big TIFF."""
    order = {b"II": "<", b"MM": ">"}.get(head[:2])
    if order is None or len(head) < 16:
        return None
    magic = struct.unpack(order + "H", head[2:4])[0]
    if magic == 42:  # classic: 4-byte offsets, 2-byte entry count, 12-byte entries
        offset = struct.unpack(order + "I", head[4:8])[0]
        count_code, entry_size, first = "H", 12, 8
    elif magic == 43:  # BigTIFF: 8-byte offsets and counts, 20-byte entries
        offset = struct.unpack(order + "Q", head[8:16])[0]
        count_code, entry_size, first = "Q", 20, 12
    else:
        return None
    count_size = struct.calcsize(count_code)
    f.seek(offset)
    raw = f.read(count_size)
    if len(raw) != count_size:
        return None
    count = struct.unpack(order + count_code, raw)[0]
    table = f.read(min(count, 4096) * entry_size)
    tags: Dict[int, int] = {}
    for start in range(0, len(table) - entry_size + 1, entry_size):
        tag, kind = struct.unpack(order + "HH", table[start:start + 4])
        if tag in (_TIFF_WIDTH, _TIFF_LENGTH, _TIFF_ORIENTATION) and kind in _TIFF_INT_TYPES:
            code = _TIFF_INT_TYPES[kind]
            value = table[start + first:start + first + struct.calcsize(code)]
            tags[tag] = int(struct.unpack(order + code, value)[0])
    if _TIFF_WIDTH not in tags or _TIFF_LENGTH not in tags:
        return None
    return ImageHeader(tags[_TIFF_WIDTH], tags[_TIFF_LENGTH], tags.get(_TIFF_ORIENTATION, 1))


def _hdr_header(f: BinaryIO, head: bytes) -> Optional[ImageHeader]:
    """Size from a Radiance HDR header (resolution line such as ``-Y 480 +X 640``)."""
    if not (head.startswith(b"#?RADIANCE") or head.startswith(b"#?RGBE")):
        return None
    f.seek(0)
    header = f.read(65536)
    end = header.find(b"\n\n")
    if end < 0:
        return None
    line = header[end + 2:].split(b"\n", 1)[0]
    match = _HDR_SIZE.fullmatch(line.strip())
    if match is None:
        return None
    first, second = int(match[3]), int(match[6])
    return ImageHeader(second, first) if match[2] == b"Y" else ImageHeader(first, second)


def read_header(path: str) -> Optional[ImageHeader]:
    """The size of an image that Pillow cannot open, read from its header alone.

    Covers the formats errkit hands to OpenCV when Pillow cannot identify
    them: TIFF (classic and BigTIFF, first page; with its orientation tag)
    and Radiance HDR.

    Args:
        path (str): The image file.

    Returns:
        ImageHeader | None: ``(width, height, orientation)``, or None when
        the header is not one of these formats or holds no size.
    """
    with open(path, "rb") as f:
        head = f.read(16)
        try:
            return _tiff_header(f, head) or _hdr_header(f, head)
        except (struct.error, OSError, ValueError):
            return None


@contextmanager
def pillow_bomb_check_deferred() -> Iterator[None]:
    """Switch Pillow's own decompression-bomb heuristic off while errkit decodes.

    errkit checks every image's size against :func:`max_image_pixels` as soon
    as Pillow has read the header, so Pillow's fixed heuristic would only warn
    about, or refuse, images that errkit's limit lets through. Nested and
    concurrent uses share one switch; Pillow's setting is restored when the
    last one ends.
    """
    global _pillow_users, _pillow_saved_limit
    with _pillow_lock:
        if _pillow_users == 0:
            _pillow_saved_limit = Image.MAX_IMAGE_PIXELS
            Image.MAX_IMAGE_PIXELS = None
        _pillow_users += 1
    try:
        yield
    finally:
        with _pillow_lock:
            _pillow_users -= 1
            if _pillow_users == 0:
                Image.MAX_IMAGE_PIXELS = _pillow_saved_limit
