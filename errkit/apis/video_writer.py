"""Write a video file atomically: frames go to a temporary file, renamed into place at the end."""

from __future__ import annotations

import contextlib
import os
import uuid
from typing import Optional, Union

import cv2
import numpy as np

from errkit.utils.atomic_io import default_file_mode, fsync_folder

from .video_reader import VideoError

__all__ = ["AtomicVideoWriter"]


class AtomicVideoWriter:
    """An MPEG-4 (``mp4v``) video written beside its target and renamed over it when complete.

    Frames are RGB arrays of one size (the first frame's, unless ``size`` is
    given); grey frames are expanded. :meth:`commit` closes the file and
    renames it into place; :meth:`discard` (or leaving a ``with`` block by an
    exception) removes it, so a failed run never leaves half a video under the
    final name.

    Args:
        path (str | os.PathLike): The final file; its folder must exist. The
            container follows its ending (``.mp4``, ``.avi``...).
        fps (float): Frames per second.
        fourcc (str): OpenCV's four-character codec code. Defaults to ``'mp4v'``.

    Raises:
        VideoError: OpenCV cannot open a writer for the file (at the first frame).

    Examples:
        >>> import tempfile, os.path as osp
        >>> out = osp.join(tempfile.mkdtemp(), 'clip.mp4')
        >>> with AtomicVideoWriter(out, fps=10) as video:
        ...     for i in range(3):
        ...         video.write(np.full((32, 48, 3), 40 * i, np.uint8))
        >>> int(cv2.VideoCapture(out).get(cv2.CAP_PROP_FRAME_COUNT))
        3
    """

    def __init__(self, path: Union[str, os.PathLike], fps: float, fourcc: str = "mp4v") -> None:
        self.path = os.fspath(path)
        self.fps = float(fps)
        self.fourcc = fourcc
        folder, name = os.path.split(os.path.abspath(self.path))
        stem, ext = os.path.splitext(name)
        self._tmp = os.path.join(folder, f".{stem}.{uuid.uuid4().hex[:8]}.tmp{ext or '.mp4'}")
        self._writer: Optional[cv2.VideoWriter] = None
        self._size = None
        #: Frames written so far.
        self.frames_written = 0

    def write(self, frame: np.ndarray) -> None:
        """Append one ``(H, W)``, ``(H, W, 1)`` or ``(H, W, 3)`` RGB uint8 frame."""
        frame = np.asarray(frame, dtype=np.uint8)
        if frame.ndim == 3 and frame.shape[2] == 1:
            frame = frame[..., 0]
        if frame.ndim == 2:
            frame = np.repeat(frame[..., None], 3, axis=2)
        height, width = frame.shape[:2]
        if self._writer is None:
            self._size = (width, height)
            self._writer = cv2.VideoWriter(self._tmp, cv2.VideoWriter_fourcc(*self.fourcc),
                                           self.fps, self._size)
            if not self._writer.isOpened():
                self.discard()
                raise VideoError(f"cannot write video {self.path}: OpenCV has no "
                                 f"{self.fourcc!r} writer for {os.path.splitext(self.path)[1]!r}")
        elif (width, height) != self._size:
            raise ValueError(f"frame of {width}x{height} in video {self.path} of "
                             f"{self._size[0]}x{self._size[1]}")
        self._writer.write(cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2BGR))
        self.frames_written += 1

    def commit(self) -> None:
        """Close the file and rename it to :attr:`path` (nothing when no frame was written)."""
        if self._writer is None:
            return
        self._writer.release()
        self._writer = None
        with contextlib.suppress(OSError):
            os.chmod(self._tmp, default_file_mode())
        os.replace(self._tmp, self.path)
        fsync_folder(os.path.dirname(os.path.abspath(self.path)))

    def discard(self) -> None:
        """Close and remove the temporary file; :attr:`path` is left as it was."""
        if self._writer is not None:
            self._writer.release()
            self._writer = None
        with contextlib.suppress(FileNotFoundError):
            os.remove(self._tmp)

    def __enter__(self) -> "AtomicVideoWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.discard()
