"""Extract neutral and peak frames of MMI videos and write the MMI manifest.

MMI ships one folder per recording session holding a video (``.avi`` or
``.mp4``) of one expression that goes from neutral through onset, apex and
offset. The labels come from a CSV with the header ``session,subject,label``:
``session`` is the session folder name, ``subject`` the person (the unit of the
subject-independent folds) and ``label`` a class name of
:data:`~errkit.datasets.mmi_dataset.MMI_CLASSES` (case-insensitive) or the MMI
emotion code 1..6 (1 anger, 2 disgust, 3 fear, 4 happy, 5 sadness, 6 surprise).
Each labelled session yields its first video frame as the neutral and the
``num_peak_frames`` frames around the middle of the video (the apex) as peaks.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple, Union

import cv2

from errkit.utils.atomic_io import atomic_open

from .io import DataFileError, check_image_size
from .mmi_dataset import MANIFEST_COLUMNS, MMI_CLASSES

__all__ = ["VIDEO_EXTENSIONS", "LABEL_COLUMNS", "read_session_labels", "peak_frame_indices",
           "extract_frames", "build_mmi_manifest", "format_summary"]

#: Video file extensions searched in each session folder.
VIDEO_EXTENSIONS = (".avi", ".mp4")
#: Required columns of the session label CSV.
LABEL_COLUMNS = ("session", "subject", "label")

PathLike = Union[str, os.PathLike]


def read_session_labels(path: PathLike) -> Dict[str, Tuple[str, str]]:
    """Read the session label CSV.

    Args:
        path (str | PathLike): CSV with the columns ``session,subject,label``.

    Returns:
        dict: session -> (subject, class name).

    Raises:
        FileNotFoundError: the file is missing.
        DataFileError: a column is missing, a label is unknown or a session
            appears twice (the message names the row).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"MMI session label file {path} does not exist")
    labels: Dict[str, Tuple[str, str]] = {}
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        header = [h.strip() for h in (reader.fieldnames or [])]
        reader.fieldnames = header
        for column in LABEL_COLUMNS:
            if column not in header:
                raise DataFileError(path, f"missing column {column!r} (required: "
                                    f"{', '.join(LABEL_COLUMNS)})")
        for number, row in enumerate(reader, start=2):
            session, subject, raw = (row[c].strip() for c in LABEL_COLUMNS)
            if not session or not subject:
                raise DataFileError(path, f"row {number}: empty session or subject")
            if raw.lower() in MMI_CLASSES:
                label = raw.lower()
            elif raw.isdigit() and 1 <= int(raw) <= len(MMI_CLASSES):
                label = MMI_CLASSES[int(raw) - 1]
            else:
                raise DataFileError(path, f"row {number}: label {raw!r} is neither one of "
                                    f"{MMI_CLASSES} nor an MMI code 1..{len(MMI_CLASSES)}")
            if session in labels:
                raise DataFileError(path, f"row {number}: session {session!r} appears twice")
            labels[session] = (subject, label)
    return labels


def peak_frame_indices(num_frames: int, num_peak_frames: int = 3) -> List[int]:
    """The 0-based indices of the peak frames: consecutive, centred on the middle.

    Frame 0 (the neutral) is never a peak frame.

    Args:
        num_frames (int): Frames in the video (at least 2).
        num_peak_frames (int): Peak frames wanted. Defaults to 3.

    Returns:
        list[int]: ``min(num_peak_frames, num_frames - 1)`` indices.

    Examples:
        >>> peak_frame_indices(11, 3)
        [4, 5, 6]
        >>> peak_frame_indices(3, 3)
        [1, 2]
    """
    if num_frames < 2:
        raise ValueError(f"a video needs at least 2 frames, got {num_frames}")
    count = min(int(num_peak_frames), num_frames - 1)
    start = num_frames // 2 - count // 2
    start = max(1, min(start, num_frames - count))
    return list(range(start, start + count))


def extract_frames(video: PathLike, num_peak_frames: int = 3) -> Tuple[Any, List[Tuple[int, Any]]]:
    """Decode a video's first frame and its middle ``num_peak_frames`` frames.

    Args:
        video (str | PathLike): An ``.avi`` / ``.mp4`` file.
        num_peak_frames (int): Peak frames to extract. Defaults to 3.

    Returns:
        tuple: The neutral frame (BGR uint8 array) and a list of
        ``(index, frame)`` peak frames.

    Raises:
        DataFileError: OpenCV cannot open the video or it has fewer than 2 frames.
        errkit.datasets.io.ImageTooLargeError: the container says its frames have
            more pixels than errkit's limit (checked before any frame is decoded).
    """
    capture = cv2.VideoCapture(str(video))
    try:
        if not capture.isOpened():
            raise DataFileError(video, "OpenCV cannot open this video")
        check_image_size(video, int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
                         int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)))
        num_frames = 0
        while capture.grab():
            num_frames += 1
    finally:
        capture.release()
    if num_frames < 2:
        raise DataFileError(video, f"the video has {num_frames} decodable frames, needs 2")
    wanted = set(peak_frame_indices(num_frames, num_peak_frames)) | {0}
    frames: Dict[int, Any] = {}
    capture = cv2.VideoCapture(str(video))
    try:
        for index in range(max(wanted) + 1):
            ok, frame = capture.read()
            if not ok:
                raise DataFileError(video, f"frame {index} of {num_frames} cannot be decoded")
            if index in wanted:
                frames[index] = frame
    finally:
        capture.release()
    peaks = [(i, frames[i]) for i in sorted(wanted) if i != 0]
    return frames[0], peaks


def _write_png(path: Path, frame: Any) -> None:
    ok, data = cv2.imencode(".png", frame)
    if not ok:
        raise RuntimeError(f"OpenCV cannot encode {path}")
    with atomic_open(str(path), "wb") as f:
        f.write(data.tobytes())


def build_mmi_manifest(sessions_root: PathLike, labels_file: PathLike, out_root: PathLike,
                       num_peak_frames: int = 3,
                       manifest_name: str = "manifest.csv") -> Dict[str, Any]:
    """Extract frames of every labelled MMI session and write the manifest.

    Frames go to ``out_root/frames/<session>/<session>_<index>.png`` (5-digit
    0-based video frame index); the manifest ``out_root/<manifest_name>`` lists
    them relative to ``out_root`` with the columns ``subject, sequence,
    frame_path, label, role, frame`` and is written to a temporary file first,
    then moved into place.

    Args:
        sessions_root (str | PathLike): Folder of MMI session folders.
        labels_file (str | PathLike): The session label CSV (see module doc).
        out_root (str | PathLike): Output root (the ``data_root`` of
            :class:`~errkit.datasets.MMIDataset`).
        num_peak_frames (int): Peak frames per session. Defaults to 3.
        manifest_name (str): Manifest file name. Defaults to ``'manifest.csv'``.

    Returns:
        dict: ``manifest`` (Path), ``num_sessions`` and ``num_rows`` written, and
        ``skipped``: lists of session names ``unlabelled``, ``no_video``,
        ``labels_without_session`` and ``extra_videos`` (sessions holding more
        than one video; the first by name was used).
    """
    sessions_root, out_root = Path(sessions_root), Path(out_root)
    if not sessions_root.is_dir():
        raise FileNotFoundError(f"MMI sessions folder {sessions_root} does not exist")
    labels = read_session_labels(labels_file)
    skipped: Dict[str, List[str]] = {"unlabelled": [], "no_video": [],
                                     "labels_without_session": [], "extra_videos": []}
    rows: List[Dict[str, Any]] = []
    seen = set()
    for session_dir in sorted(p for p in sessions_root.iterdir() if p.is_dir()):
        session = session_dir.name
        videos = sorted(p for p in session_dir.iterdir()
                        if p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS)
        if not videos:
            skipped["no_video"].append(session)
            continue
        if session not in labels:
            skipped["unlabelled"].append(session)
            continue
        if len(videos) > 1:
            skipped["extra_videos"].append(session)
        seen.add(session)
        subject, label = labels[session]
        neutral, peaks = extract_frames(videos[0], num_peak_frames)
        for role, index, frame in [("neutral", 0, neutral)] + [("peak", i, f) for i, f in peaks]:
            rel = Path("frames") / session / f"{session}_{index:05d}.png"
            _write_png(out_root / rel, frame)
            rows.append(dict(subject=subject, sequence=session, frame_path=rel.as_posix(),
                             label=label, role=role, frame=index))
    skipped["labels_without_session"] = sorted(set(labels) - seen - set(skipped["no_video"]))
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(MANIFEST_COLUMNS) + ["frame"],
                            lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    manifest = out_root / manifest_name
    with atomic_open(str(manifest), "w", encoding="utf-8", newline="") as f:
        f.write(text.getvalue())
    return {"manifest": manifest, "num_sessions": len(seen), "num_rows": len(rows),
            "skipped": skipped}


def format_summary(result: Dict[str, Any]) -> str:
    """A short text summary of :func:`build_mmi_manifest`'s result."""
    lines = [f"wrote {result['manifest']}: {result['num_rows']} frames of "
             f"{result['num_sessions']} sessions"]
    for kind, sessions in result["skipped"].items():
        if sessions:
            shown: Sequence[str] = sessions[:5]
            lines.append(f"  {kind.replace('_', ' ')}: {len(sessions)} "
                         f"({', '.join(shown)}{', ...' if len(sessions) > 5 else ''})")
    return "\n".join(lines)
