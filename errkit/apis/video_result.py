"""What video inference returns: one row per frame, and the video's summary and files."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

__all__ = ["FrameResult", "VideoResult", "csv_header"]


@dataclass
class FrameResult:
    """The followed face in one frame of a video, or why there is none (a gap).

    Attributes:
        index (int): 0-based frame number.
        time_s (float): Time of the frame in seconds.
        box (np.ndarray | None): ``(4,)`` float32 ``x0, y0, x1, y1`` of the
            face; None in a gap.
        landmarks (np.ndarray | None): ``(68, 2)`` float32 points in the
            frame; None in a gap or when no detector ran.
        probabilities (dict[str, float] | None): Class name -> probability;
            None in a gap.
        label (str | None): The most probable class; None in a gap.
        gap (str | None): Why the frame has no face (e.g. ``'no face found'``);
            None when it has one.
    """

    index: int
    time_s: float
    box: Optional[np.ndarray] = None
    landmarks: Optional[np.ndarray] = None
    probabilities: Optional[Dict[str, float]] = None
    label: Optional[str] = None
    gap: Optional[str] = None

    @property
    def face_found(self) -> bool:
        """The frame has a face and its probabilities."""
        return self.probabilities is not None

    @property
    def score(self) -> Optional[float]:
        """Probability of :attr:`label` (None in a gap)."""
        return None if self.label is None else self.probabilities[self.label]


def csv_header(classes: Sequence[str]) -> List[str]:
    """The columns of a video's CSV: frame, time, face found, box, label, one per class.

    Examples:
        >>> csv_header(['happy', 'sadness'])[-4:]
        ['label', 'score', 'p_happy', 'p_sadness']
    """
    return (["frame", "time_s", "face_found", "x0", "y0", "x1", "y1", "label", "score"] +
            [f"p_{c}" for c in classes])


def _row(frame: FrameResult, classes: Sequence[str]) -> List[str]:
    if not frame.face_found:
        return [str(frame.index), f"{frame.time_s:.4f}", "0"] + [""] * (6 + len(classes))
    box = [f"{v:.1f}" for v in frame.box]
    return ([str(frame.index), f"{frame.time_s:.4f}", "1"] + box +
            [frame.label, f"{frame.score:.6f}"] +
            [f"{frame.probabilities[c]:.6f}" for c in classes])


def format_csv_rows(frames: Sequence[FrameResult], classes: Sequence[str],
                    header: bool = False) -> str:
    """The CSV text of ``frames`` (and of the header line first, when asked)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if header:
        writer.writerow(csv_header(classes))
    writer.writerows(_row(f, classes) for f in frames)
    return buffer.getvalue()


@dataclass
class VideoResult:
    """The frames of one video, what was used to analyse them and the files written.

    Attributes:
        source (str): The video file.
        classes (tuple[str, ...]): Class names, in the model's order (the CSV's
            probability columns).
        fps (float): Frames per second the times are computed with.
        frames (list[FrameResult]): One per frame read, in order.
        width (int): Frame width in pixels.
        height (int): Frame height in pixels.
        neutral_mode (str): ``'generated'`` or ``'given'`` (see
            :attr:`~errkit.apis.FaceResult.neutral_mode`).
        neutral (str | None): The given neutral: a photo's path or
            ``'frame N'`` of the video; None in the generated mode.
        detector (str | None): The landmark detector's class name; None when
            each frame was taken as the face.
        files (dict[str, str]): What was written: ``'csv'``, ``'summary'`` and,
            unless switched off, ``'video'`` (annotated) and ``'plot'``.
        notes (list[str]): What the rows cannot show (a model trained on
            synthetic faces only, a frame count the file misstates, no frame
            rate in the file).
    """

    source: str
    classes: Tuple[str, ...]
    fps: float
    frames: List[FrameResult] = field(default_factory=list)
    width: int = 0
    height: int = 0
    neutral_mode: str = "generated"
    neutral: Optional[str] = None
    detector: Optional[str] = None
    files: Dict[str, str] = field(default_factory=dict)
    notes: List[str] = field(default_factory=list)

    @property
    def num_frames(self) -> int:
        """Frames read."""
        return len(self.frames)

    @property
    def num_gaps(self) -> int:
        """Frames without a face."""
        return sum(1 for f in self.frames if not f.face_found)

    @property
    def gap_runs(self) -> List[Tuple[int, int]]:
        """Runs of consecutive frames without a face, as ``(first, last)`` frame numbers."""
        runs: List[Tuple[int, int]] = []
        for frame in self.frames:
            if frame.face_found:
                continue
            if runs and runs[-1][1] == frame.index - 1:
                runs[-1] = (runs[-1][0], frame.index)
            else:
                runs.append((frame.index, frame.index))
        return runs

    @property
    def times(self) -> np.ndarray:
        """``(N,)`` float64 time of each frame in seconds."""
        return np.array([f.time_s for f in self.frames], dtype=np.float64)

    @property
    def probabilities(self) -> np.ndarray:
        """``(N, K)`` float32 class probabilities per frame, NaN in the gaps.

        Shape:
            ``N`` frames by ``K`` classes (in :attr:`classes` order).
        """
        out = np.full((len(self.frames), len(self.classes)), np.nan, np.float32)
        for i, frame in enumerate(self.frames):
            if frame.face_found:
                out[i] = [frame.probabilities[c] for c in self.classes]
        return out

    def to_dict(self) -> dict:
        """JSON-ready summary (no per-frame rows: those are in the CSV)."""
        found = [f for f in self.frames if f.face_found]
        counts = {c: sum(1 for f in found if f.label == c) for c in self.classes}
        return dict(source=self.source, frames=self.num_frames, fps=round(self.fps, 6),
                    width=self.width, height=self.height,
                    duration_s=round(self.num_frames / self.fps, 6) if self.fps else None,
                    frames_with_face=len(found), gaps=self.num_gaps,
                    gap_runs=[list(r) for r in self.gap_runs], label_counts=counts,
                    neutral_mode=self.neutral_mode, neutral=self.neutral,
                    detector=self.detector, classes=list(self.classes),
                    files=dict(self.files), notes=list(self.notes))
