"""k-fold summaries: per-fold and mean +- std metrics, the summed confusion matrix."""

from __future__ import annotations

import io
import os.path as osp
from typing import Any, Dict, NamedTuple, Optional, Sequence

import numpy as np

from errkit.utils.atomic_io import atomic_open, atomic_write_json, atomic_write_text

from .experiment import ExperimentError, finite_number

CONFUSION_KEY = "expr/confusion_matrix"


class KFoldError(ExperimentError):
    """A cross-validation that cannot run or be summarised; the message says why.

    Args:
        message (str): What went wrong.
        summary (dict, optional): The summary of the completed folds, when folds
            failed after it was written. Defaults to None.

    Attributes:
        summary (dict or None): As given.
    """

    def __init__(self, message: str, summary: Optional[Dict[str, Any]] = None) -> None:
        super().__init__(message)
        self.summary = summary


class SummaryMetric(NamedTuple):
    """A test metric reported per fold and as mean ± std in the summary."""

    name: str  #: key in the summary
    key: str  #: key in the test metrics
    label: str  #: column title in ``summary.md``
    scale: float  #: display factor (100 for percentages)
    digits: int  #: decimals shown


#: The metrics of the summary; a metric missing from a fold's results is "n/a".
SUMMARY_METRICS = (
    SummaryMetric("accuracy", "expr/accuracy", "Accuracy (%)", 100.0, 2),
    SummaryMetric("macro_f1", "expr/macro_f1", "Macro F1 (%)", 100.0, 2),
    SummaryMetric("psnr_gain_db", "removal/psnr_gain_db", "PSNR gain (dB)", 1.0, 2),
    SummaryMetric("ssim_gain", "removal/ssim_gain", "SSIM gain", 1.0, 4),
)


def _summed_confusion(results: Sequence[Dict[str, Any]]):
    total, classes = None, None
    for result in results:
        matrix = result["metrics"].get(CONFUSION_KEY)
        if matrix is None:
            continue
        matrix = np.asarray(matrix, dtype=np.int64)
        if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
            raise KFoldError(f"fold {result['fold']}: '{CONFUSION_KEY}' is not a square "
                             f"matrix (shape {matrix.shape})")
        if total is not None and matrix.shape != total.shape:
            raise KFoldError(f"fold {result['fold']}: confusion matrix {matrix.shape} differs "
                             f"from the other folds' {total.shape}")
        names = result.get("classes")
        if names is not None and classes is not None and list(names) != classes:
            raise KFoldError(f"fold {result['fold']}: classes {names} differ from the other "
                             f"folds' {classes}")
        classes = classes if names is None else list(names)
        total = matrix if total is None else total + matrix
    if total is None:
        return None, None
    if classes is None or len(classes) != total.shape[0]:
        classes = [f"class_{i}" for i in range(total.shape[0])]
    return total, classes


def summarize_folds(results: Sequence[Dict[str, Any]],
                    num_folds: Optional[int] = None) -> Dict[str, Any]:
    """Per-fold figures, mean ± std over folds and the summed confusion matrix.

    Args:
        results (Sequence[dict]): Fold results (``fold`` and ``metrics`` each),
            as written to ``fold_result.json``.
        num_folds (int, optional): The planned number of folds, to list the
            missing ones. Defaults to None (the number of results).

    Returns:
        dict: ``num_folds``, ``completed_folds``, ``missing_folds``,
        ``per_fold`` (one dict per fold: ``fold`` and each summary metric,
        None when absent), ``metrics`` (per summary metric: ``key``, ``mean``,
        ``std`` (population, ``ddof=0``) and ``num_folds`` over the folds that
        have it; None mean/std when none has), ``classes``,
        ``confusion_matrix`` (summed counts, rows true, columns predicted;
        None when no fold has one), ``num_samples`` and ``pooled_accuracy``
        (trace over total of the summed matrix).

    Raises:
        KFoldError: Confusion matrices or class names that differ between folds.

    Examples:
        >>> cm = 'expr/confusion_matrix'
        >>> s = summarize_folds([
        ...     {'fold': 0, 'metrics': {'expr/accuracy': 0.5, cm: [[1, 1], [0, 0]]}},
        ...     {'fold': 1, 'metrics': {'expr/accuracy': 1.0, cm: [[0, 0], [0, 2]]}}])
        >>> s['metrics']['accuracy']['mean'], s['metrics']['ssim_gain']['mean']
        (0.75, None)
        >>> s['confusion_matrix'], s['pooled_accuracy']
        ([[1, 1], [0, 2]], 0.75)
    """
    results = sorted(results, key=lambda r: r["fold"])
    done = [int(r["fold"]) for r in results]
    planned = len(results) if num_folds is None else int(num_folds)
    per_fold = []
    for result in results:
        row: Dict[str, Any] = {"fold": int(result["fold"])}
        for metric in SUMMARY_METRICS:
            row[metric.name] = finite_number(result["metrics"].get(metric.key))
        per_fold.append(row)
    stats = {}
    for metric in SUMMARY_METRICS:
        values = [row[metric.name] for row in per_fold if row[metric.name] is not None]
        stats[metric.name] = {
            "key": metric.key,
            "mean": float(np.mean(values)) if values else None,
            "std": float(np.std(values)) if values else None,
            "num_folds": len(values),
        }
    matrix, classes = _summed_confusion(results)
    total = None if matrix is None else int(matrix.sum())
    return {
        "num_folds": planned,
        "completed_folds": done,
        "missing_folds": [i for i in range(planned) if i not in done],
        "per_fold": per_fold,
        "metrics": stats,
        "classes": classes,
        "confusion_matrix": None if matrix is None else matrix.tolist(),
        "num_samples": total,
        "pooled_accuracy": (float(np.trace(matrix)) / total) if total else None,
    }


def _fmt(value: Optional[float], metric: SummaryMetric) -> str:
    return "n/a" if value is None else f"{value * metric.scale:.{metric.digits}f}"


def format_summary_markdown(summary: Dict[str, Any], title: str = "",
                            image: Optional[str] = None) -> str:
    """Render a :func:`summarize_folds` summary as Markdown; absent values read "n/a".

    Args:
        summary (dict): The summary.
        title (str): Name of the experiment, for the heading. Defaults to ``''``.
        image (str, optional): Relative path of the confusion-matrix PNG to link.
            Defaults to None.

    Returns:
        str: The Markdown text.
    """
    heading = f"# {summary['num_folds']}-fold cross-validation" + (f": {title}" if title else "")
    lines = [heading, ""]
    done = len(summary["completed_folds"])
    line = f"Completed folds: {done} of {summary['num_folds']}"
    if summary["missing_folds"]:
        line += f" (missing: {', '.join(str(i) for i in summary['missing_folds'])})"
    lines += [line + ".", ""]
    lines.append("| Fold | " + " | ".join(m.label for m in SUMMARY_METRICS) + " |")
    lines.append("|---" * (len(SUMMARY_METRICS) + 1) + "|")
    for row in summary["per_fold"]:
        cells = [_fmt(row[m.name], m) for m in SUMMARY_METRICS]
        lines.append(f"| {row['fold']} | " + " | ".join(cells) + " |")
    cells = []
    for m in SUMMARY_METRICS:
        stat = summary["metrics"][m.name]
        cells.append("n/a" if stat["mean"] is None
                     else f"{_fmt(stat['mean'], m)} ± {_fmt(stat['std'], m)}")
    lines += ["| **mean ± std** | " + " | ".join(cells) + " |", ""]
    matrix, classes = summary["confusion_matrix"], summary["classes"]
    if summary["pooled_accuracy"] is None:
        lines += ["Pooled accuracy: n/a.", ""]
    else:
        lines += [f"Pooled accuracy over all {summary['num_samples']} test samples: "
                  f"{summary['pooled_accuracy'] * 100:.2f} %.", ""]
    lines += ["## Confusion matrix summed over folds", ""]
    if matrix is None:
        lines += ["n/a", ""]
    else:
        lines += ["Rows: true class; columns: predicted class.", ""]
        lines.append("| true \\ predicted | " + " | ".join(classes) + " |")
        lines.append("|---" * (len(classes) + 1) + "|")
        for name, row in zip(classes, matrix):
            lines.append(f"| {name} | " + " | ".join(str(v) for v in row) + " |")
        lines.append("")
        if image:
            lines += [f"![confusion matrix]({image})", ""]
    return "\n".join(lines)


def plot_confusion_matrix(matrix: Sequence[Sequence[int]], classes: Sequence[str], path: str,
                          title: Optional[str] = None) -> None:
    """Write a confusion matrix as a PNG: counts annotated, colour normalised per row.

    Drawn with matplotlib's Agg canvas (no pyplot, no display) and written
    atomically.

    Args:
        matrix (Sequence[Sequence[int]]): ``(K, K)`` counts, rows the true class.
        classes (Sequence[str]): The ``K`` class names.
        path (str): The PNG file.
        title (str, optional): Figure title. Defaults to None.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # only to draw the figure
    from matplotlib.figure import Figure

    counts = np.asarray(matrix, dtype=np.int64)
    k = len(classes)
    if counts.shape != (k, k):
        raise KFoldError(f"confusion matrix of shape {counts.shape} does not match "
                         f"{k} class names")
    rows = counts.sum(axis=1, keepdims=True)
    share = np.divide(counts, rows, out=np.zeros(counts.shape), where=rows > 0)
    side = max(4.0, 0.7 * k + 2.0)
    fig = Figure(figsize=(side + 1.0, side))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    image = ax.imshow(share, cmap="Blues", vmin=0.0, vmax=1.0)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="fraction of the true class")
    ax.set_xticks(range(k), labels=list(classes), rotation=45, ha="right")
    ax.set_yticks(range(k), labels=list(classes))
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if title:
        ax.set_title(title)
    for i in range(k):
        for j in range(k):
            ax.text(j, i, str(int(counts[i, j])), ha="center", va="center",
                    color="white" if share[i, j] > 0.5 else "black")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=120)
    with atomic_open(path, "wb") as f:
        f.write(buffer.getvalue())


def write_summary(results: Sequence[Dict[str, Any]], out_dir: str,
                  num_folds: Optional[int] = None, title: str = "") -> Dict[str, Any]:
    """Summarise fold results into ``summary.json``, ``summary.md`` and the PNG.

    ``confusion_matrix.png`` is written only when a fold has a confusion matrix.
    Every file is written atomically.

    Args:
        results (Sequence[dict]): Fold results.
        out_dir (str): Output folder (``WORK_DIR/kfold``).
        num_folds (int, optional): The planned number of folds. Defaults to None.
        title (str): Experiment name for the headings. Defaults to ``''``.

    Returns:
        dict: The summary (see :func:`summarize_folds`).
    """
    summary = summarize_folds(results, num_folds)
    image = None
    if summary["confusion_matrix"] is not None:
        image = "confusion_matrix.png"
        plot_confusion_matrix(summary["confusion_matrix"], summary["classes"],
                              osp.join(out_dir, image),
                              title=f"{title} ({len(results)} folds)" if title else None)
    atomic_write_json(osp.join(out_dir, "summary.json"), summary)
    atomic_write_text(osp.join(out_dir, "summary.md"),
                      format_summary_markdown(summary, title, image))
    return summary
