"""The videos of ``errkit infer``: each followed, recognised and written by :func:`predict_video`.

A video that cannot be read or analysed is reported in one line naming it and
counted as failed; the others are still processed.
"""

from __future__ import annotations

import os.path as osp
import sys
from typing import List, Sequence

__all__ = ["infer_videos"]


def infer_videos(remover, videos: Sequence[str], args, reserved: Sequence[str] = ()
                 ) -> List[dict]:
    """Run :meth:`ExpressionRemover.predict_video` on every video; print a line per video.

    Args:
        remover (ExpressionRemover): The model and its detector.
        videos (Sequence[str]): The video files.
        args (argparse.Namespace): ``errkit infer``'s arguments (``out``,
            ``neutral``, ``neutral_frame``, ``no_figures``, ``no_progress``).
        reserved (Sequence[str]): Output stems already taken (``results``, the
            images' figures). Defaults to none.

    Returns:
        list[dict]: Each video's summary (:meth:`VideoResult.to_dict`), or
        ``source`` and ``error`` for a video that failed.
    """
    from errkit.apis.video_reader import VideoError
    from errkit.cli.infer import _unique_names
    from errkit.utils.output_paths import OutputPathError

    entries = []
    progress = not args.no_progress and sys.stderr.isatty()
    for video, name in zip(videos, _unique_names(videos, reserved)):
        try:
            result = remover.predict_video(
                video, args.out, neutral_frame=args.neutral_frame, neutral=args.neutral,
                name=name, annotate=not args.no_figures, plot=not args.no_figures,
                progress=progress)
        except (VideoError, ValueError, OutputPathError) as exc:
            message = str(exc) if video in str(exc) else f"{video}: {exc}"
            print(f"error: {message}", file=sys.stderr)
            entries.append(dict(source=video, error=message))
            continue
        entry = result.to_dict()
        entries.append(dict(entry, error=None))
        found = entry["frames_with_face"]
        line = (f"{video}: {entry['frames']} frame(s), {found} with a face, "
                f"{entry['gaps']} without")
        if found:
            top = max(entry["label_counts"], key=entry["label_counts"].get)
            line += f"; most frames: {top}"
        line += f"; wrote {', '.join(sorted(result.files.values()))}"
        print(line)
        if not found:
            print(f"warning: {video}: no face was found in any frame", file=sys.stderr)
        elif entry["gaps"]:
            runs = ", ".join(f"{a}-{b}" if a != b else str(a) for a, b in entry["gap_runs"])
            print(f"warning: {video}: no face in {entry['gaps']} frame(s): {runs}",
                  file=sys.stderr)
    return entries
