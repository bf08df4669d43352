"""The table of configs cross-validated on the same folds.

:func:`summarize_comparison` turns each config's fold results into one row:
the number of folds, the mean ± std over folds of every figure the runs report
(:func:`comparison_figures`), for the removal gains also the lowest fold and
the number of folds with a positive gain, and against the reference (the first
config) the paired per-fold accuracy difference and the folds it wins.
:func:`write_comparison_table` writes it as ``summary.json``, ``summary.md``
(:func:`format_comparison_markdown`), ``summary.rst``
(:func:`format_comparison_rst`, a ``list-table`` that Sphinx pages can
``.. include::``) and ``per_fold.csv`` (:func:`format_per_fold_csv`).

Missing values read ``n/a`` in the Markdown and reStructuredText tables (a lone
``-`` would become an empty bullet in a reStructuredText table cell) and are
empty in the CSV. Standard deviations are population ones (``ddof=0``), as in
the k-fold summary.
"""

from __future__ import annotations

import csv
import io
import os.path as osp
import re
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Sequence

import numpy as np

from errkit.utils.atomic_io import atomic_write_json, atomic_write_text

from .experiment import finite_number

__all__ = ["ComparisonFigure", "comparison_figures", "summarize_comparison", "coverage_note",
           "format_comparison_markdown", "format_comparison_rst", "format_per_fold_csv",
           "write_comparison_table"]

#: The figure the paired differences to the reference are taken of.
PAIRED_KEY = "expr/accuracy"
#: Further accuracies: against further label sets (``expr/rated/accuracy``) and of
#: further test modes (``expr/given_neutral/accuracy``, ``expr/<mode>/<set>/accuracy``).
FURTHER_ACCURACY = re.compile(r"^expr/(.+)/accuracy$")
#: A cell the table writers leave as it is (numbers, ``n/a``, counts).
_PLAIN_CELL = re.compile(r"^(?:[+-]?\d[\d.]*(?: ± \d[\d.]*)?|n/a|\d+/\d+)$")


class ComparisonFigure(NamedTuple):
    """A test metric of the comparison table."""

    key: str  #: key in the test metrics
    label: str  #: column title
    scale: float  #: display factor (100 for percentages)
    digits: int  #: decimals shown
    gain: bool  #: a removal gain: also the lowest fold and the folds above 0


_SCORES = (ComparisonFigure("expr/accuracy", "Accuracy (%)", 100.0, 2, False),
           ComparisonFigure("expr/macro_f1", "Macro F1 (%)", 100.0, 2, False))
_GAINS = (ComparisonFigure("removal/psnr_gain_db", "PSNR gain (dB)", 1.0, 2, True),
          ComparisonFigure("removal/ssim_gain", "SSIM gain", 1.0, 4, True))


def comparison_figures(results: Sequence[Dict[str, Any]]) -> List[ComparisonFigure]:
    """The figures of a table: accuracy and macro F1 always; every further
    ``expr/<name>/accuracy`` and removal gain that a result reports.

    Args:
        results (Sequence[dict]): Fold results (each with ``metrics``).

    Returns:
        list[ComparisonFigure]: The figures, further accuracies sorted by key.

    Examples:
        >>> [f.key for f in comparison_figures([{'metrics': {
        ...     'expr/rated/accuracy': 0.5, 'removal/ssim_gain': 0.1, 'expr/recall/sad': 1}}])]
        ['expr/accuracy', 'expr/macro_f1', 'expr/rated/accuracy', 'removal/ssim_gain']
    """
    keys = {k for r in results for k, v in r["metrics"].items() if finite_number(v) is not None}
    further = sorted(k for k in keys if FURTHER_ACCURACY.match(k))
    return ([*_SCORES]
            + [ComparisonFigure(k, f"{FURTHER_ACCURACY.match(k)[1]} accuracy (%)", 100.0, 2,
                                False) for k in further]
            + [g for g in _GAINS if g.key in keys])


def _stats(values: List[float], gain: bool) -> Dict[str, Any]:
    found = bool(values)
    stats = {"mean": float(np.mean(values)) if found else None,
             "std": float(np.std(values)) if found else None, "num_folds": len(values)}
    if gain:
        stats.update(min=float(np.min(values)) if found else None,
                     positive_folds=sum(v > 0 for v in values))
    return stats


def _paired(own: Dict[int, Dict[str, Any]],
            reference: Dict[int, Dict[str, Any]]) -> Dict[int, float]:
    """Per-fold accuracy differences over the folds both have an accuracy for."""
    diffs = {}
    for fold in sorted(set(own) & set(reference)):
        mine = finite_number(own[fold]["metrics"].get(PAIRED_KEY))
        theirs = finite_number(reference[fold]["metrics"].get(PAIRED_KEY))
        if mine is not None and theirs is not None:
            diffs[fold] = mine - theirs
    return diffs


def _delta_stats(diffs: Dict[int, float]) -> Dict[str, Any]:
    values = list(diffs.values())
    stats = _stats(values, gain=False)
    stats.update(wins=sum(d > 1e-12 for d in values), ties=sum(abs(d) <= 1e-12 for d in values),
                 losses=sum(d < -1e-12 for d in values))
    return stats


def summarize_comparison(configs: Sequence[Dict[str, Any]], num_folds: int,
                         failed: Optional[Sequence[Dict[str, Any]]] = None) -> Dict[str, Any]:
    """One row per config: figures over its folds and paired differences to the first.

    Args:
        configs (Sequence[dict]): Per config, in table order: ``name``,
            ``config``, ``work_dir`` and ``results`` (its fold results, as
            written to ``fold_result.json``); optionally ``ran_folds`` (the
            folds run by this call). The first is the reference.
        num_folds (int): Number of folds of the cross-validation.
        failed (Sequence[dict], optional): The failed runs, copied to the
            table. Defaults to None.

    Returns:
        dict: ``num_folds``, ``reference``, ``figures`` (metric keys, in
        column order), ``rows`` and ``per_fold`` (one per config and completed
        fold: ``name``, ``fold``, each figure, ``delta_accuracy``, ``wall_s``
        and ``work_dir``) and ``failed``. A row has ``name``, ``config``,
        ``work_dir``, ``completed_folds``, ``missing_folds``, ``ran_folds``,
        ``metrics`` (per figure key: ``mean``, ``std`` and ``num_folds``, for
        gains also ``min`` and ``positive_folds``), ``delta_accuracy`` (the
        per-fold accuracy differences to the reference over the folds both
        completed: ``mean``, ``std``, ``num_folds``, ``wins``, ``ties`` and
        ``losses``) and ``wall_s`` (summed over its folds).

    Examples:
        >>> def fold(i, acc):
        ...     return {'fold': i, 'metrics': {'expr/accuracy': acc}}
        >>> table = summarize_comparison([
        ...     {'name': 'base', 'results': [fold(0, 0.5), fold(1, 0.75)]},
        ...     {'name': 'new', 'results': [fold(0, 0.75), fold(1, 0.75)]}], num_folds=2)
        >>> new = table['rows'][1]
        >>> new['metrics']['expr/accuracy']['mean'], new['delta_accuracy']['mean']
        (0.75, 0.125)
        >>> new['delta_accuracy']['wins'], new['delta_accuracy']['ties']
        (1, 1)
    """
    num_folds = int(num_folds)
    figures = comparison_figures([r for c in configs for r in c["results"]])
    results = [{int(r["fold"]): r for r in c["results"]} for c in configs]
    rows, per_fold = [], []
    for config, own in zip(configs, results):
        diffs = _paired(own, results[0])
        rows.append(_config_row(config, own, figures, diffs, num_folds))
        for fold, result in sorted(own.items()):
            row = {"name": config["name"], "fold": fold}
            row.update({f.key: finite_number(result["metrics"].get(f.key)) for f in figures})
            row.update(delta_accuracy=diffs.get(fold), wall_s=finite_number(result.get("wall_s")),
                       work_dir=result.get("work_dir") or osp.join(config.get("work_dir") or "",
                                                                    f"fold_{fold}"))
            per_fold.append(row)
    return {"num_folds": num_folds, "reference": configs[0]["name"] if configs else None,
            "figures": [f.key for f in figures], "rows": rows, "per_fold": per_fold,
            "failed": list(failed or [])}


def _config_row(config: Dict[str, Any], own: Dict[int, Dict[str, Any]],
                figures: List[ComparisonFigure], diffs: Dict[int, float],
                num_folds: int) -> Dict[str, Any]:
    """A config's row of :func:`summarize_comparison`."""
    stats = {}
    for figure in figures:
        values = [finite_number(own[i]["metrics"].get(figure.key)) for i in sorted(own)]
        stats[figure.key] = _stats([v for v in values if v is not None], figure.gain)
    walls = [finite_number(r.get("wall_s")) for r in own.values()]
    return {"name": config["name"], "config": config.get("config"),
            "work_dir": config.get("work_dir"), "completed_folds": sorted(own),
            "missing_folds": [i for i in range(num_folds) if i not in own],
            "ran_folds": sorted(config.get("ran_folds") or []), "metrics": stats,
            "delta_accuracy": _delta_stats(diffs),
            "wall_s": float(sum(w for w in walls if w is not None))}


def _figures_of(table: Dict[str, Any]) -> List[ComparisonFigure]:
    keys = table.get("figures") or []
    figures = comparison_figures([{"metrics": {k: 0.0 for k in keys}}])
    return [f for f in figures if f.key in keys]


def _value(value: Optional[float], figure: ComparisonFigure) -> str:
    return "n/a" if value is None else f"{value * figure.scale:.{figure.digits}f}"


def _signed(value: float, digits: int) -> str:
    value = round(value, digits)
    return f"{(value if value else 0.0):+.{digits}f}"


def _mean_std(stats: Optional[Dict[str, Any]], figure: ComparisonFigure) -> str:
    if not stats or stats.get("mean") is None:
        return "n/a"
    return f"{_value(stats['mean'], figure)} ± {_value(stats['std'], figure)}"


def _row_cells(row: Dict[str, Any], figures: List[ComparisonFigure], num_folds: int,
               is_reference: bool) -> List[str]:
    cells = [str(row["name"]), f"{len(row['completed_folds'])}/{num_folds}"]
    cells += [_mean_std(row["metrics"].get(f.key), f) for f in figures if not f.gain]
    delta = row.get("delta_accuracy") or {}
    if is_reference:
        cells += ["reference", "n/a"]
    elif delta.get("mean") is None:
        cells += ["n/a", "n/a"]
    else:
        cells += [f"{_signed(delta['mean'] * 100, 2)} ± {delta['std'] * 100:.2f}",
                  f"{delta['wins']}/{delta['num_folds']}"]
    for f in figures:
        if f.gain:
            stats = row["metrics"].get(f.key) or {}
            counted = stats.get("num_folds") or 0
            cells += [_mean_std(stats, f), _value(stats.get("min"), f),
                      f"{stats.get('positive_folds', 0)}/{counted}" if counted else "n/a"]
    return cells + [str(row.get("config") or "n/a")]


def _main_table(table: Dict[str, Any]):
    """Header and cells of the table of configs."""
    figures = _figures_of(table)
    header = ["Config", "Folds"] + [f.label for f in figures if not f.gain]
    header += ["Δ accuracy (pp)", "Folds won"]
    for f in figures:
        if f.gain:
            unit = " (dB)" if f.label.endswith("(dB)") else ""
            name = f.label.replace(" (dB)", "")
            header += [f.label, f"{name} min{unit}", f"{name} > 0"]
    header.append("Config file")
    rows = [_row_cells(row, figures, table["num_folds"], row["name"] == table.get("reference"))
            for row in table["rows"]]
    return header, rows


def _fold_table(table: Dict[str, Any]):
    """Header and cells of the per-fold accuracy table."""
    accuracy = _SCORES[0]
    values = {(r["name"], r["fold"]): r.get(accuracy.key) for r in table.get("per_fold", [])}
    folds = range(table["num_folds"])
    header = ["Config"] + [f"Fold {i}" for i in folds]
    rows = [[str(row["name"])] + [_value(values.get((row["name"], i)), accuracy) for i in folds]
            for row in table["rows"]]
    return header, rows


def _legend(table: Dict[str, Any], name: Callable[[str], str]) -> str:
    text = ("Mean ± std over the folds each config completed. Δ accuracy: the config's "
            "accuracy minus the reference's on the same fold, in percentage points, over "
            f"the folds both completed (reference: {name(str(table.get('reference')))}); "
            "folds won: "
            "folds where the config is the more accurate.")
    if any(f.gain for f in _figures_of(table)):
        text += (" Removal gains: PSNR and SSIM of the generated neutral face against the "
                 "true one minus those of the input; min: the lowest fold; > 0: folds with "
                 "a positive gain.")
    return text


def _missing(row: Dict[str, Any]) -> str:
    if not row["completed_folds"]:
        return "all"
    return ", ".join(str(i) for i in row["missing_folds"])


def coverage_note(table: Dict[str, Any], name: Callable[[str], str] = str) -> Optional[str]:
    """A note for a table whose configs completed different folds; None when all
    completed the same ones.

    Means over different folds are over different test subjects, so the note
    names the folds each config misses; the paired differences are over the
    folds both completed.

    Args:
        table (dict): The table (see :func:`summarize_comparison`).
        name (Callable): Renders a config name in the note's markup. Defaults
            to :class:`str`.

    Returns:
        str or None: The note.

    Examples:
        >>> note = coverage_note({'rows': [
        ...     {'name': 'a', 'completed_folds': [0, 1, 2], 'missing_folds': []},
        ...     {'name': 'b', 'completed_folds': [0], 'missing_folds': [1, 2]}]})
        >>> note.split('. ')[-1]
        'Missing folds: b: 1, 2.'
    """
    rows = table.get("rows") or []
    if len({tuple(row["completed_folds"]) for row in rows}) <= 1:
        return None
    missing = "; ".join(f"{name(str(row['name']))}: {_missing(row)}"
                        for row in rows if row["missing_folds"])
    return ("Not every config completed the same folds: means and std are over different "
            "test subjects, Δ accuracy and folds won only over the folds both completed. "
            f"Missing folds: {missing}.")


def _coverage_lines(table: Dict[str, Any], name: Callable[[str], str]) -> List[str]:
    note = coverage_note(table, name)
    return [] if note is None else [note, ""]


def _failed_lines(table: Dict[str, Any], name: Callable[[str], str]) -> List[str]:
    failed = table.get("failed") or []
    if not failed:
        return []
    return (["Failed runs (no result):", ""]
            + [f"- {name(str(f['name']))} fold {f.get('fold')}: see {name(str(f.get('work_dir')))}"
               for f in failed] + [""])


def _md_cell(text: str) -> str:
    text = text.replace("|", "\\|")
    return "\\" + text if re.match(r"^([-+*]( |$)|[#>])", text) else text


def _md_table(header: List[str], rows: List[List[str]]) -> List[str]:
    lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    return lines + ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]


def format_comparison_markdown(table: Dict[str, Any]) -> str:
    """Render a comparison table as Markdown (GitHub tables).

    Args:
        table (dict): The table (see :func:`summarize_comparison`).

    Returns:
        str: The text: the legend, the table of configs, a note when the
        configs completed different folds (:func:`coverage_note`), the accuracy
        of each fold and the failed runs.
    """
    lines = [f"# Comparison over {table['num_folds']} folds", "", _legend(table, _md_cell), ""]
    lines += _md_table(*_main_table(table)) + [""] + _coverage_lines(table, _md_cell)
    lines += ["## Accuracy per fold (%)", ""] + _md_table(*_fold_table(table)) + [""]
    return "\n".join(lines + _failed_lines(table, _md_cell))


def _rst_cell(text: str, literal: bool) -> str:
    """A table cell as reStructuredText: numbers as they are, names as literals,
    other text with its markup characters escaped."""
    if _PLAIN_CELL.match(text):
        return text
    if literal and text and "`" not in text and text == text.strip():
        return f"``{text}``"
    text = re.sub(r"([\\`*_|<>\[\]])", r"\\\1", text)
    if re.match(r"^([^\w\s\\]|\w{1,3}[.)](\s|$))", text):  # a list, a comment, a quote
        text = "\\" + text
    return text


def _rst_table(title: str, header: List[str], rows: List[List[str]]) -> List[str]:
    lines = [f".. list-table:: {title}", "   :header-rows: 1", ""]
    for cells in [header] + rows:
        literal = cells is not header
        for index, cell in enumerate(cells):
            text = _rst_cell(cell, literal and index in (0, len(cells) - 1))
            lines.append(("   * - " if index == 0 else "     - ") + text)
    return lines + [""]


def format_comparison_rst(table: Dict[str, Any]) -> str:
    """Render a comparison table as reStructuredText ``list-table`` directives.

    The text has no section titles (the tables carry them as captions), so a
    Sphinx page can ``.. include::`` it anywhere. Names and config files are
    inline literals; other text is escaped, so no cell becomes markup.

    Args:
        table (dict): The table (see :func:`summarize_comparison`).

    Returns:
        str: The text.
    """
    def literal(text: str) -> str:
        return _rst_cell(text, literal=True)

    lines = [_legend(table, literal), ""]
    lines += _rst_table(f"Comparison over {table['num_folds']} folds", *_main_table(table))
    lines += _coverage_lines(table, literal)
    lines += _rst_table("Accuracy per fold (%)", *_fold_table(table))
    return "\n".join(lines + _failed_lines(table, literal))


def format_per_fold_csv(table: Dict[str, Any]) -> str:
    """The per-fold results as CSV: one line per config and fold, raw values.

    Columns: ``config`` (the row name), ``fold``, each figure's metric key,
    ``delta_accuracy``, ``wall_s`` and ``work_dir``; missing values are empty.

    Args:
        table (dict): The table (see :func:`summarize_comparison`).

    Returns:
        str: The CSV text.
    """
    keys = list(table.get("figures") or [])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["config", "fold", *keys, "delta_accuracy", "wall_s", "work_dir"])
    for row in table.get("per_fold", []):
        values = [row.get(k) for k in (*keys, "delta_accuracy", "wall_s")]
        writer.writerow([row["name"], row["fold"]] + ["" if v is None else repr(float(v))
                                                      for v in values] + [row.get("work_dir")])
    return out.getvalue()


def write_comparison_table(table: Dict[str, Any], out_dir: str) -> None:
    """Write ``summary.json``, ``summary.md``, ``summary.rst`` and ``per_fold.csv``.

    Every file is written atomically.

    Args:
        table (dict): The table (see :func:`summarize_comparison`).
        out_dir (str): The folder (``WORK_DIR/ablation``).
    """
    atomic_write_json(osp.join(out_dir, "summary.json"), table)
    atomic_write_text(osp.join(out_dir, "summary.md"), format_comparison_markdown(table))
    atomic_write_text(osp.join(out_dir, "summary.rst"), format_comparison_rst(table))
    atomic_write_text(osp.join(out_dir, "per_fold.csv"), format_per_fold_csv(table))
