"""The CK+ on-disk layout: file names and the writer of one sequence.

This module is the single place that knows how CK+ names and formats its files.
The official release holds three parallel trees under its root::

    cohn-kanade-images/S005/001/S005_001_00000001.png   (frames, 1-based, 8 digits)
    Emotion/S005/001/S005_001_00000011_emotion.txt       (one float, last frame only)
    Landmarks/S005/001/S005_001_00000001_landmarks.txt   (68 lines "x y")

The emotion file holds one line ``'   %.7e\\n'`` (e.g. ``   3.0000000e+00``) with the
code 0 neutral, 1 anger, 2 contempt, 3 disgust, 4 fear, 5 happy, 6 sadness,
7 surprise; only labelled sequences have one. A landmark file holds 68 lines
``'   %.7e   %.7e\\n'`` of pixel ``x y`` coordinates.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
from PIL import Image

from errkit.utils.atomic_io import atomic_write_bytes

__all__ = ["IMAGES_DIR", "EMOTION_DIR", "LANDMARKS_DIR", "NUM_LANDMARKS", "EMOTION_FORMAT",
           "LANDMARK_FORMAT", "format_sequence", "frame_stem", "frame_path", "emotion_path",
           "landmarks_path", "format_emotion", "format_landmarks", "write_ckplus_sequence"]

#: Folder (under the CK+ root) of the frames.
IMAGES_DIR = "cohn-kanade-images"
#: Folder (under the CK+ root) of the emotion label files.
EMOTION_DIR = "Emotion"
#: Folder (under the CK+ root) of the landmark files.
LANDMARKS_DIR = "Landmarks"
#: Number of landmark points of every CK+ landmark file.
NUM_LANDMARKS = 68
#: Line format of the emotion file.
EMOTION_FORMAT = "   %.7e\n"
#: Line format of one landmark point.
LANDMARK_FORMAT = "   %.7e   %.7e\n"

PathLike = Union[str, os.PathLike]


def format_sequence(sequence: Union[str, int]) -> str:
    """The 3-digit sequence folder name (``1`` and ``'1'`` -> ``'001'``).

    Args:
        sequence (str | int): Sequence number or name.

    Returns:
        str: The sequence name as CK+ spells it.
    """
    text = str(sequence)
    return f"{int(text):03d}" if text.isdigit() else text


def frame_stem(subject: str, sequence: Union[str, int], frame: int) -> str:
    """The stem shared by a frame's image, emotion and landmark files.

    Args:
        subject (str): Subject name, e.g. ``'S005'``.
        sequence (str | int): Sequence name, e.g. ``'001'``.
        frame (int): 1-based frame number.

    Returns:
        str: e.g. ``'S005_001_00000011'``.

    Examples:
        >>> frame_stem('S005', 1, 11)
        'S005_001_00000011'
    """
    if int(frame) < 1:
        raise ValueError(f"CK+ frame numbers are 1-based, got {frame}")
    return f"{subject}_{format_sequence(sequence)}_{int(frame):08d}"


def frame_path(root: PathLike, subject: str, sequence: Union[str, int], frame: int) -> Path:
    """Path of a frame image: ``root/cohn-kanade-images/S/SEQ/S_SEQ_FFFFFFFF.png``."""
    seq = format_sequence(sequence)
    return Path(root) / IMAGES_DIR / subject / seq / f"{frame_stem(subject, seq, frame)}.png"


def emotion_path(root: PathLike, subject: str, sequence: Union[str, int], frame: int) -> Path:
    """Path of a sequence's emotion file, named after its last frame ``frame``."""
    seq = format_sequence(sequence)
    return (Path(root) / EMOTION_DIR / subject / seq
            / f"{frame_stem(subject, seq, frame)}_emotion.txt")


def landmarks_path(root: PathLike, subject: str, sequence: Union[str, int], frame: int) -> Path:
    """Path of a frame's 68-point landmark file."""
    seq = format_sequence(sequence)
    return (Path(root) / LANDMARKS_DIR / subject / seq
            / f"{frame_stem(subject, seq, frame)}_landmarks.txt")


def format_emotion(label: int) -> str:
    """The text of an emotion file holding ``label``.

    Examples:
        >>> format_emotion(3)
        '   3.0000000e+00\\n'
    """
    return EMOTION_FORMAT % float(label)


def format_landmarks(points: np.ndarray) -> str:
    """The text of a landmark file holding ``points`` (68, 2) ``(x, y)``."""
    points = np.asarray(points, dtype=np.float64)
    if points.shape != (NUM_LANDMARKS, 2):
        raise ValueError(f"landmarks must have shape ({NUM_LANDMARKS}, 2), got {points.shape}")
    return "".join(LANDMARK_FORMAT % (x, y) for x, y in points)


def _encode_png(frame: np.ndarray, index: int) -> bytes:
    arr = np.asarray(frame)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.dtype != np.uint8 or not (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] == 3)):
        raise ValueError(
            f"frame {index}: expected uint8 (H, W), (H, W, 1) or RGB (H, W, 3), "
            f"got {arr.dtype} {arr.shape}")
    buffer = io.BytesIO()
    Image.fromarray(arr).save(buffer, format="PNG")
    return buffer.getvalue()


def write_ckplus_sequence(root: PathLike, subject: str, sequence: Union[str, int],
                          frames: List[np.ndarray], label: Optional[int],
                          landmarks: Optional[Sequence[Optional[np.ndarray]]] = None
                          ) -> Dict[str, Union[List[Path], Optional[Path]]]:
    """Write one CK+ sequence in the official layout and formats.

    Frames are numbered from 1 in order; the emotion file (when ``label`` is not
    None) is named after the last frame, as in the release. Every file is written
    to a temporary name and moved into place, so a reader never sees half a file.

    Args:
        root (str | PathLike): The CK+ root (holding ``cohn-kanade-images/`` ...).
        subject (str): Subject name, e.g. ``'S005'``.
        sequence (str | int): Sequence name or number (``1`` -> ``'001'``).
        frames (list[np.ndarray]): uint8 frames, grey ``(H, W)`` / ``(H, W, 1)``
            or RGB ``(H, W, 3)``, neutral first, peak last.
        label (int, optional): CK+ emotion code 0..7 (1 anger ... 7 surprise);
            None writes no emotion file (an unlabelled sequence).
        landmarks (list[np.ndarray | None], optional): One ``(68, 2)`` ``(x, y)``
            array per frame (an entry may be None to omit that frame's file).
            Defaults to None (no landmark files).

    Returns:
        dict: ``frames`` (list of Path), ``landmarks`` (list of Path | None) and
        ``emotion`` (Path | None).

    Examples:
        >>> import tempfile, numpy as np
        >>> root = tempfile.mkdtemp()
        >>> out = write_ckplus_sequence(root, 'S005', 1,
        ...                             [np.zeros((8, 8), np.uint8)] * 2, label=3)
        >>> out['emotion'].name, out['emotion'].read_text()
        ('S005_001_00000002_emotion.txt', '   3.0000000e+00\\n')
    """
    if not frames:
        raise ValueError(f"sequence {subject}/{sequence}: no frames to write")
    if label is not None and not (0 <= int(label) <= 7 and float(label) == int(label)):
        raise ValueError(f"sequence {subject}/{sequence}: CK+ label must be 0..7, got {label!r}")
    if landmarks is not None and len(landmarks) != len(frames):
        raise ValueError(f"sequence {subject}/{sequence}: {len(landmarks)} landmark arrays "
                         f"for {len(frames)} frames")
    seq = format_sequence(sequence)
    written: Dict[str, Union[List[Path], Optional[Path]]] = {
        "frames": [], "landmarks": [], "emotion": None}
    for index, frame in enumerate(frames, start=1):
        path = frame_path(root, subject, seq, index)
        atomic_write_bytes(path, _encode_png(frame, index))
        written["frames"].append(path)
        points = None if landmarks is None else landmarks[index - 1]
        if points is None:
            written["landmarks"].append(None)
            continue
        lm_path = landmarks_path(root, subject, seq, index)
        atomic_write_bytes(lm_path, format_landmarks(points).encode("ascii"))
        written["landmarks"].append(lm_path)
    if label is not None:
        em_path = emotion_path(root, subject, seq, len(frames))
        atomic_write_bytes(em_path, format_emotion(int(label)).encode("ascii"))
        written["emotion"] = em_path
    return written
