"""Class probabilities over the frames of a video, as a PNG plot."""

from __future__ import annotations

import os
from typing import Optional, Sequence, Tuple, Union

import numpy as np

from errkit.utils.atomic_io import atomic_open

__all__ = ["plot_probability_timeline"]


def plot_probability_timeline(times: np.ndarray, probabilities: np.ndarray,
                              classes: Sequence[str], out_file: Union[str, os.PathLike],
                              title: str = "",
                              gap_spans: Sequence[Tuple[float, float]] = (),
                              note: Optional[str] = None) -> None:
    """Write the probability of every class against time as a PNG (atomically).

    One line per class (``tab10`` colours, in ``classes`` order). Frames
    without a face (NaN rows) break the lines; ``gap_spans`` are shaded grey
    and labelled "no face".

    Args:
        times (np.ndarray): ``(N,)`` time of each frame in seconds.
        probabilities (np.ndarray): ``(N, K)`` probabilities, NaN where a frame
            has no face.
        classes (Sequence[str]): The ``K`` class names.
        out_file (str | os.PathLike): The ``.png`` to write.
        title (str): Plot title. Defaults to ``''``.
        gap_spans (Sequence[tuple[float, float]]): ``(start, end)`` times of
            the runs of frames without a face. Defaults to none.
        note (str, optional): A line printed under the plot (e.g. no face in
            any frame). Defaults to None.

    Shape:
        - times: ``(N,)``
        - probabilities: ``(N, K)``

    Raises:
        ValueError: The shapes do not match each other or ``classes``.

    Examples:
        >>> import tempfile, os.path as osp
        >>> t = np.arange(4) / 25
        >>> p = np.array([[0.9, 0.1], [0.5, 0.5], [np.nan, np.nan], [0.2, 0.8]])
        >>> out = osp.join(tempfile.mkdtemp(), 'plot.png')
        >>> plot_probability_timeline(t, p, ['neutral', 'happy'], out, gap_spans=[(0.06, 0.1)])
        >>> open(out, 'rb').read(4)
        b'\\x89PNG'
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # only to draw plots
    from matplotlib.figure import Figure

    times = np.asarray(times, dtype=np.float64)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if probabilities.ndim != 2 or probabilities.shape != (len(times), len(classes)):
        raise ValueError(f"probabilities of shape {probabilities.shape} do not match "
                         f"{len(times)} times and {len(classes)} classes")
    fig = Figure(figsize=(8.0, 3.6 + (0.25 if note else 0.0)), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    colours = [f"C{i % 10}" for i in range(len(classes))]
    single = len(times) == 1
    for k, name in enumerate(classes):
        ax.plot(times, probabilities[:, k], color=colours[k], linewidth=1.6, label=name,
                marker="o" if single else None)
    for i, (start, end) in enumerate(gap_spans):
        ax.axvspan(start, end, color="0.85", zorder=0, label="no face" if i == 0 else None)
    ax.set_ylim(-0.02, 1.02)
    if len(times):
        right = times[-1] if times[-1] > times[0] else times[0] + 1.0
        ax.set_xlim(times[0], right)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("probability")
    ax.grid(True, color="0.9", linewidth=0.6)
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8, frameon=False)
    if title:
        ax.set_title(title, fontsize=10)
    if note:
        fig.text(0.01, 0.01, note, fontsize=8, color="#a04000", va="bottom", ha="left")
    fig.tight_layout(rect=(0, 0.06 if note else 0, 1, 1))
    with atomic_open(out_file, "wb") as f:
        fig.savefig(f, format="png")
