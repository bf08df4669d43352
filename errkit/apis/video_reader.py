"""Read the frames of a video file, failing with one line that names the file.

OpenCV's ``VideoCapture`` opens almost anything without complaint and then
returns no frames; :class:`VideoReader` checks what it opened (the file exists,
is not empty, decodes, holds at least one frame) before any work is done, and
says which of these failed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Iterator, Optional, Union

import cv2
import numpy as np

__all__ = ["VIDEO_EXTENSIONS", "VideoError", "VideoFrame", "VideoReader", "is_video_file"]

#: File endings taken as videos (case-insensitive).
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv")
#: Frame rate assumed when a file does not state a usable one.
DEFAULT_FPS = 25.0


class VideoError(ValueError):
    """A video cannot be read or analysed; the message names the file and why."""


def is_video_file(path: Union[str, os.PathLike]) -> bool:
    """Whether ``path`` ends like a video file (:data:`VIDEO_EXTENSIONS`).

    Examples:
        >>> is_video_file('clip.MP4'), is_video_file('face.png')
        (True, False)
    """
    return os.fspath(path).lower().endswith(VIDEO_EXTENSIONS)


@dataclass
class VideoFrame:
    """One decoded frame.

    Attributes:
        index (int): 0-based frame number.
        time_s (float): ``index / fps``, in seconds.
        image (np.ndarray): ``(H, W, 3)`` RGB uint8.
    """

    index: int
    time_s: float
    image: np.ndarray


class VideoReader:
    """The frames of a video file, in order, as RGB arrays.

    Opening checks the file and decodes its first frame, so that an
    unreadable, empty or frameless file fails at once with a
    :class:`VideoError`. Iterating yields :class:`VideoFrame` objects from the
    first frame; a reader can be iterated once.

    Args:
        path (str | os.PathLike): The video file.

    Attributes:
        fps (float): The file's frame rate (:data:`DEFAULT_FPS` when it states
            none; see :attr:`fps_known`).
        fps_known (bool): The file states a usable frame rate.
        frame_count (int | None): The frame count the container states (an
            estimate for some formats); None when it states none.
        width (int): Frame width in pixels.
        height (int): Frame height in pixels.

    Raises:
        VideoError: The file is missing, empty, not a video OpenCV can decode,
            or holds no frame.

    Examples:
        >>> with VideoReader('clip.mp4') as video:  # doctest: +SKIP
        ...     for frame in video:
        ...         print(frame.index, frame.time_s, frame.image.shape)
    """

    def __init__(self, path: Union[str, os.PathLike]) -> None:
        self.path = os.fspath(path)
        if not os.path.exists(self.path):
            raise VideoError(f"video {self.path} does not exist")
        if os.path.isdir(self.path):
            raise VideoError(f"video {self.path} is a folder, not a file")
        if os.path.getsize(self.path) == 0:
            raise VideoError(f"video {self.path} is empty (0 bytes)")
        self._capture = cv2.VideoCapture(self.path)
        if not self._capture.isOpened():
            self._capture.release()
            raise VideoError(f"cannot read video {self.path}: OpenCV cannot decode it "
                             "(not a video, or a codec it lacks)")
        fps = float(self._capture.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fps_known = bool(np.isfinite(fps) and 0.0 < fps < 1000.0)
        self.fps = fps if self.fps_known else DEFAULT_FPS
        count = int(self._capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        self.frame_count: Optional[int] = count if count > 0 else None
        ok, first = self._capture.read()
        if not ok or first is None or first.size == 0:
            self._capture.release()
            raise VideoError(f"video {self.path} holds no frames (zero-length or truncated)")
        self.height, self.width = first.shape[:2]
        self._first: Optional[np.ndarray] = first
        self._next_index = 0

    @staticmethod
    def _to_rgb(frame: np.ndarray) -> np.ndarray:
        if frame.ndim == 2:
            return np.repeat(frame[..., None], 3, axis=2)
        if frame.shape[2] == 4:
            return cv2.cvtColor(frame, cv2.COLOR_BGRA2RGB)
        return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)

    def __iter__(self) -> Iterator[VideoFrame]:
        if self._next_index > 0:
            raise RuntimeError(f"VideoReader({self.path!r}) can be iterated once")
        while True:
            if self._first is not None:
                frame, self._first = self._first, None
            else:
                ok, frame = self._capture.read()
                if not ok or frame is None:
                    return
            index = self._next_index
            self._next_index += 1
            yield VideoFrame(index, index / self.fps, self._to_rgb(frame))

    @property
    def frames_read(self) -> int:
        """Frames yielded so far."""
        return self._next_index

    def close(self) -> None:
        """Release the file."""
        self._capture.release()

    def __enter__(self) -> "VideoReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.path!r}, {self.width}x{self.height}, "
                f"fps={self.fps:g}, frame_count={self.frame_count})")


def read_frame(path: Union[str, os.PathLike], index: int) -> np.ndarray:
    """The RGB frame ``index`` (0-based) of a video.

    Args:
        path (str | os.PathLike): The video file.
        index (int): Frame number.

    Returns:
        np.ndarray: ``(H, W, 3)`` RGB uint8.

    Raises:
        VideoError: The video cannot be read, or has no frame ``index``.
    """
    if index < 0:
        raise VideoError(f"frame {index} of {os.fspath(path)}: frame numbers start at 0")
    with VideoReader(path) as video:
        for frame in video:
            if frame.index == index:
                return frame.image
        raise VideoError(f"video {video.path} has no frame {index}: it holds "
                         f"{video.frames_read} frames (numbered from 0)")
