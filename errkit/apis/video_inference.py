"""Recognise the expression of a face through a video: per-frame CSV, annotated video, plot.

:func:`predict_video` (also :meth:`ExpressionRemover.predict_video
<errkit.apis.ExpressionRemover.predict_video>`) reads a video frame by frame,
follows one face (:class:`~errkit.apis.face_tracker.FaceTracker`), runs the
model on the faces in batches and writes, into an output folder:

- ``<name>.csv``: one row per frame (:func:`~errkit.apis.video_result.csv_header`),
  frames without a face as gap rows (``face_found`` 0, empty values);
- ``<name>_annotated.mp4``: every frame with the face's box, landmarks and top
  class, or "no face";
- ``<name>_probabilities.png``: the probability of every class against time,
  gaps shaded;
- ``<name>.json``: the summary (frames, gaps and their runs, label counts,
  neutral mode, model, notes).

Every file is written atomically: a run that fails midway leaves none of them
half-written.
"""

from __future__ import annotations

import contextlib
import os
import os.path as osp
from typing import TYPE_CHECKING, List, Optional, Tuple, Union

from tqdm import tqdm

from errkit.utils.atomic_io import atomic_open, atomic_write_json
from errkit.utils.output_paths import check_output_dir
from errkit.visualization.face_annotation import annotate_frame
from errkit.visualization.probability_timeline import plot_probability_timeline

from .face_tracker import FaceTracker
from .image_input import ImageLike, to_image_array
from .video_reader import VideoError, VideoFrame, VideoReader, read_frame
from .video_result import FrameResult, VideoResult, format_csv_rows
from .video_writer import AtomicVideoWriter

if TYPE_CHECKING:
    from .expression_remover import ExpressionRemover

__all__ = ["predict_video", "video_output_files"]

#: Text written on frames without a face.
NO_FACE = "no face"


def video_output_files(out_dir: Union[str, os.PathLike], name: str) -> dict:
    """The files :func:`predict_video` writes for a video called ``name``.

    Examples:
        >>> sorted(video_output_files('out', 'clip').values())
        ['out/clip.csv', 'out/clip.json', 'out/clip_annotated.mp4', 'out/clip_probabilities.png']
    """
    out_dir = os.fspath(out_dir)
    return dict(csv=osp.join(out_dir, f"{name}.csv"), summary=osp.join(out_dir, f"{name}.json"),
                video=osp.join(out_dir, f"{name}_annotated.mp4"),
                plot=osp.join(out_dir, f"{name}_probabilities.png"))


class _FaceFinder:
    """The face of each frame: followed by a tracker, or the whole frame without a detector."""

    def __init__(self, remover: "ExpressionRemover") -> None:
        self.remover = remover
        self.tracker = None if remover.detector is None else FaceTracker(remover.detector)

    def __call__(self, image) -> Tuple[Optional[dict], Optional[str]]:
        if self.tracker is None:
            return self.remover._face_at(image, None), None
        tracked = self.tracker.update(image)
        if tracked is None:
            return None, "no face found"
        try:
            return self.remover._face_at(image, tracked.landmarks), None
        except ValueError:  # degenerate landmarks (eyes coincide)
            self.tracker.reset()
            return None, "unusable landmarks"


def _given_neutral(remover, video: str, neutral, neutral_frame) -> Tuple[Optional[dict],
                                                                        Optional[str]]:
    if neutral is not None and neutral_frame is not None:
        raise ValueError("give a neutral photo or a neutral frame, not both")
    if neutral_frame is not None:
        image = read_frame(video, int(neutral_frame))
        face = remover._check_given_neutral(to_image_array(image, remover.color_type),
                                            source=f"frame {int(neutral_frame)} of {video}")
        return face, f"frame {int(neutral_frame)}"
    if neutral is not None:
        face = remover._check_given_neutral(neutral)
        return face, (os.fspath(neutral) if isinstance(neutral, (str, os.PathLike))
                      else f"<{type(neutral).__name__}>")
    return None, None


def predict_video(remover: "ExpressionRemover", video: Union[str, os.PathLike],
                  out_dir: Union[str, os.PathLike], neutral: Optional[ImageLike] = None,
                  neutral_frame: Optional[int] = None, name: Optional[str] = None,
                  annotate: bool = True, plot: bool = True,
                  progress: bool = True) -> VideoResult:
    """Follow one face through a video and recognise its expression in every frame.

    With a landmark detector, the face is detected on the first frame (and
    whenever it was lost) and followed from there; a frame where it is not
    found is a gap: a row with ``face_found`` 0 in the CSV, "no face" on the
    annotated frame, a shaded span in the plot, counted in
    :attr:`VideoResult.num_gaps`. Without a detector every frame is taken as
    the face (no gaps can be found).

    With ``neutral_frame`` (or ``neutral``, a photo), recognition uses the
    residual to the person's own neutral face (the given-neutral mode of
    :meth:`~errkit.apis.ExpressionRemover.predict`).

    Args:
        remover (ExpressionRemover): The model and its detector.
        video (str | os.PathLike): The video file.
        out_dir (str | os.PathLike): Folder of the output files (created;
            checked before any work).
        neutral (ImageLike, optional): A neutral photo of the same person.
            Defaults to None.
        neutral_frame (int, optional): The 0-based frame of the video that
            shows the person's neutral face. Defaults to None.
        name (str, optional): Stem of the output files. Defaults to the
            video's file name without its ending.
        annotate (bool): Write the annotated video. Defaults to True.
        plot (bool): Write the probability plot. Defaults to True.
        progress (bool): Show a progress bar (tqdm, on stderr). Defaults to True.

    Returns:
        VideoResult: Every frame's result; :attr:`VideoResult.files` names the
        files written.

    Raises:
        VideoError: The video cannot be read (missing, empty, undecodable, no
            frames), has no frame ``neutral_frame``, or the model failed on it.
        ValueError: Both ``neutral`` and ``neutral_frame``; the neutral holds
            no face; the model cannot use a given neutral.
        OutputPathError: ``out_dir`` cannot be written.
    """
    check_output_dir(out_dir, "output folder")
    video = os.fspath(video)
    with VideoReader(video) as reader:
        neutral_face, neutral_source = _given_neutral(remover, video, neutral, neutral_frame)
        name = name or osp.splitext(osp.basename(video))[0] or "video"
        files = video_output_files(out_dir, name)
        if not annotate:
            files.pop("video")
        if not plot:
            files.pop("plot")
        result = VideoResult(
            source=video, classes=tuple(remover.classes), fps=reader.fps, width=reader.width,
            height=reader.height, neutral_mode="generated" if neutral_face is None else "given",
            neutral=neutral_source,
            detector=None if remover.detector is None else type(remover.detector).__name__,
            files=files)
        domain = remover._out_of_domain(video)
        if domain:
            result.notes.append(domain)
        result.notes += remover.notes
        os.makedirs(out_dir, exist_ok=True)
        _run_frames(remover, reader, result, neutral_face, progress)
    if reader.frame_count and abs(reader.frame_count - result.num_frames) > 1:
        result.notes.append(f"the file states {reader.frame_count} frames, "
                            f"{result.num_frames} could be decoded")
    if not reader.fps_known:
        result.notes.append(f"the file states no frame rate: times assume {reader.fps:g} "
                            "frames per second")
    if result.num_gaps == result.num_frames:
        result.notes.append("no face was found in any frame")
    if plot:
        half = 0.5 / result.fps
        spans = [(first / result.fps - half, last / result.fps + half)
                 for first, last in result.gap_runs]
        mode = " (given neutral)" if result.neutral_mode == "given" else ""
        plot_probability_timeline(
            result.times, result.probabilities, result.classes, files["plot"],
            title=f"{osp.basename(video)}: class probabilities{mode}", gap_spans=spans,
            note=f"{result.num_gaps} of {result.num_frames} frames without a face"
            if result.num_gaps else None)
    atomic_write_json(files["summary"], dict(
        result.to_dict(), model=type(remover.model).__name__, config=remover.config_path,
        checkpoint=remover.checkpoint_path, img_size=remover.img_size,
        training_data=remover.training_data))
    return result


def _run_frames(remover, reader: VideoReader, result: VideoResult,
                neutral_face: Optional[dict], progress: bool) -> None:
    """Read, follow, recognise and write every frame (CSV and annotated video)."""
    find = _FaceFinder(remover)
    mode = result.neutral_mode
    pending: List[Tuple[VideoFrame, Optional[dict], Optional[str]]] = []
    writer = (AtomicVideoWriter(result.files["video"], result.fps) if "video" in result.files
              else None)
    bar = tqdm(total=reader.frame_count, unit="frame", desc=osp.basename(result.source),
               disable=not progress, dynamic_ncols=True)

    def flush(csv_file) -> None:
        faces = [face for _, face, _ in pending if face is not None]
        out = None
        if faces:
            try:
                out = remover._run(faces, None if neutral_face is None
                                   else [neutral_face] * len(faces))
            except (RuntimeError, ValueError) as exc:
                raise VideoError(f"the model failed on frames {pending[0][0].index}-"
                                 f"{pending[-1][0].index} of {result.source}: {exc}") from exc
        rows, i = [], 0
        for frame, face, gap in pending:
            row = FrameResult(index=frame.index, time_s=frame.time_s, gap=gap)
            if face is not None:
                face_result = remover._face_result(face, out, i, mode)
                i += 1
                row.box, row.landmarks = face_result.box, face_result.landmarks
                row.probabilities, row.label = face_result.probabilities, face_result.label
            rows.append(row)
            if writer is not None:
                label = None if row.label is None else f"{row.label} {row.score:.2f}"
                writer.write(annotate_frame(frame.image, row.box, row.landmarks, label,
                                            None if row.face_found else NO_FACE))
        csv_file.write(format_csv_rows(rows, result.classes))
        result.frames += rows
        bar.update(len(pending))
        pending.clear()

    with atomic_open(result.files["csv"], "w", newline="") as csv_file, \
            writer or contextlib.nullcontext(), bar:
        csv_file.write(format_csv_rows([], result.classes, header=True))
        for frame in reader:
            image = to_image_array(frame.image, remover.color_type)
            try:
                face, gap = find(image)
            except (RuntimeError, ValueError) as exc:
                raise VideoError(f"the landmark detector failed on frame {frame.index} of "
                                 f"{result.source}: {exc}") from exc
            pending.append((frame, face, gap))
            if sum(1 for _, f, _ in pending if f is not None) >= remover.batch_size:
                flush(csv_file)
        if pending:
            flush(csv_file)
