"""The cross-fold comparison table: its numbers, and its Markdown, reStructuredText and CSV."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
from docutils import nodes
from docutils.core import publish_doctree

from errkit.apis.comparison_table import (comparison_figures, coverage_note,
                                          format_comparison_markdown,
                                          format_comparison_rst, format_per_fold_csv,
                                          summarize_comparison, write_comparison_table)


def _result(fold, acc, f1=None, **extra):
    metrics = {"expr/accuracy": acc, "expr/recall/happy": 1.0,
               "expr/confusion_matrix": [[1, 0], [0, 1]]}
    if f1 is not None:
        metrics["expr/macro_f1"] = f1
    metrics.update({k.replace("__", "/"): v for k, v in extra.items()})
    return {"fold": fold, "num_folds": 4, "metrics": metrics, "wall_s": 10.0 + fold,
            "work_dir": f"/w/x/fold_{fold}"}


# accuracies per fold; the reference misses fold 3, "errnet" misses fold 1
BASE = [_result(0, 0.50, 0.4), _result(1, 0.75, 0.7), _result(2, 0.60, 0.5)]
ERRNET = [_result(0, 0.70, 0.6, expr__rated__accuracy=0.65, removal__psnr_gain_db=2.0,
                  removal__ssim_gain=0.05),
          _result(2, 0.55, 0.5, expr__rated__accuracy=0.45, removal__psnr_gain_db=-0.5,
                  removal__ssim_gain=0.01),
          _result(3, 0.90, 0.9, expr__rated__accuracy=0.80, removal__psnr_gain_db=1.0,
                  removal__ssim_gain=float("nan"))]
GIVEN = [_result(i, 0.50, 0.45, expr__given_neutral__accuracy=a) for i, a in
         enumerate([0.8, 0.9, 0.7, 0.6])]


def _table():
    configs = [dict(name="base", config="c/base.py", work_dir="/w/base", results=BASE,
                    ran_folds=[2, 0]),
               dict(name="errnet", config="c/errnet.py", work_dir="/w/errnet", results=ERRNET),
               dict(name="given", config="c/given.py", work_dir="/w/given", results=GIVEN)]
    failed = [dict(name="errnet", config="c/errnet.py", fold=1, work_dir="/w/errnet/fold_1",
                   error="boom")]
    return summarize_comparison(configs, num_folds=4, failed=failed)


def test_figures_are_the_reported_ones():
    keys = [f.key for f in comparison_figures(BASE + ERRNET + GIVEN)]
    assert keys == ["expr/accuracy", "expr/macro_f1", "expr/given_neutral/accuracy",
                    "expr/rated/accuracy", "removal/psnr_gain_db", "removal/ssim_gain"]
    assert [f.key for f in comparison_figures(BASE)] == ["expr/accuracy", "expr/macro_f1"]


def test_rows_match_the_per_fold_results():
    table = _table()
    assert table["reference"] == "base" and table["num_folds"] == 4
    base, errnet, given = table["rows"]
    assert base["completed_folds"] == [0, 1, 2] and base["missing_folds"] == [3]
    assert base["ran_folds"] == [0, 2] and errnet["ran_folds"] == []
    acc = base["metrics"]["expr/accuracy"]
    assert acc["mean"] == pytest.approx(np.mean([0.5, 0.75, 0.6]))
    assert acc["std"] == pytest.approx(np.std([0.5, 0.75, 0.6]))
    assert acc["num_folds"] == 3 and base["wall_s"] == 33.0
    assert base["metrics"]["expr/rated/accuracy"] == {"mean": None, "std": None,
                                                      "num_folds": 0}
    rated = errnet["metrics"]["expr/rated/accuracy"]
    assert rated["mean"] == pytest.approx(np.mean([0.65, 0.45, 0.8]))
    psnr = errnet["metrics"]["removal/psnr_gain_db"]
    assert (psnr["mean"], psnr["min"], psnr["positive_folds"], psnr["num_folds"]) == \
        (pytest.approx(2.5 / 3), -0.5, 2, 3)
    assert psnr["std"] == pytest.approx(np.std([2.0, -0.5, 1.0]))
    ssim = errnet["metrics"]["removal/ssim_gain"]  # the NaN fold does not count
    assert (ssim["num_folds"], ssim["positive_folds"], ssim["min"]) == (2, 2, 0.01)
    given_neutral = given["metrics"]["expr/given_neutral/accuracy"]
    assert given_neutral["mean"] == pytest.approx(0.75)

    # paired: only the folds both completed (errnet: 0 and 2; given: 0, 1, 2)
    delta = errnet["delta_accuracy"]
    assert delta["mean"] == pytest.approx(np.mean([0.2, -0.05]))
    assert delta["std"] == pytest.approx(np.std([0.2, -0.05]))
    assert (delta["num_folds"], delta["wins"], delta["ties"], delta["losses"]) == (2, 1, 0, 1)
    delta = given["delta_accuracy"]
    assert delta["mean"] == pytest.approx(np.mean([0.0, -0.25, -0.1]))
    assert (delta["num_folds"], delta["wins"], delta["ties"], delta["losses"]) == (3, 0, 1, 2)
    assert base["delta_accuracy"]["mean"] == 0.0 and base["delta_accuracy"]["ties"] == 3

    per_fold = {(r["name"], r["fold"]): r for r in table["per_fold"]}
    assert len(per_fold) == 10
    assert per_fold[("errnet", 3)]["delta_accuracy"] is None  # the reference lacks fold 3
    assert per_fold[("errnet", 2)]["delta_accuracy"] == pytest.approx(-0.05)
    assert per_fold[("errnet", 3)]["removal/ssim_gain"] is None
    assert per_fold[("base", 1)]["work_dir"] == "/w/x/fold_1"
    assert table["failed"][0]["fold"] == 1


def test_markdown_table():
    text = format_comparison_markdown(_table())
    lines = text.splitlines()
    assert lines[0] == "# Comparison over 4 folds"
    header = next(line for line in lines if line.startswith("| Config | Folds |"))
    assert header == ("| Config | Folds | Accuracy (%) | Macro F1 (%) | given_neutral accuracy "
                      "(%) | rated accuracy (%) | Δ accuracy (pp) | Folds won | PSNR gain (dB) "
                      "| PSNR gain min (dB) | PSNR gain > 0 | SSIM gain | SSIM gain min "
                      "| SSIM gain > 0 | Config file |")
    assert ("| base | 3/4 | 61.67 ± 10.27 | 53.33 ± 12.47 | n/a | n/a | reference | n/a "
            "| n/a | n/a | n/a | n/a | n/a | n/a | c/base.py |") in lines
    assert ("| errnet | 3/4 | 71.67 ± 14.34 | 66.67 ± 17.00 | n/a | 63.33 ± 14.34 "
            "| +7.50 ± 12.50 | 1/2 | 0.83 ± 1.03 | -0.50 | 2/3 | 0.0300 ± 0.0200 | 0.0100 "
            "| 2/2 | c/errnet.py |") in lines
    assert "| given | 4/4 | 50.00 ± 0.00 | 45.00 ± 0.00 | 75.00 ± 11.18 | n/a " \
        "| -11.67 ± 10.27 | 0/3 |" in text
    assert "| Config | Fold 0 | Fold 1 | Fold 2 | Fold 3 |" in lines
    assert "| errnet | 70.00 | n/a | 55.00 | 90.00 |" in lines
    assert "- errnet fold 1: see /w/errnet/fold_1" in lines
    # configs on different folds: said below the table, with the folds each misses
    note = next(line for line in lines if line.startswith("Not every config"))
    assert lines.index(note) < lines.index("## Accuracy per fold (%)")
    assert note.endswith("Missing folds: base: 3; errnet: 1.")
    cells = [c.strip() for line in lines if line.startswith("| ") for c in line.split("|")]
    assert "-" not in cells  # no lone dash: it would turn into a bullet in a docs table


def _tables_of(rst: str):
    doctree = publish_doctree(rst, settings_overrides={"report_level": 2, "halt_level": 2})
    return doctree, list(doctree.findall(nodes.table))


def _cells(table):
    return [[entry.astext() for entry in row.findall(nodes.entry)]
            for row in table.findall(nodes.row)]


def test_rst_renders_the_same_cells_without_bullets():
    table = _table()
    doctree, tables = _tables_of(format_comparison_rst(table))
    assert len(tables) == 2
    assert [t.next_node(nodes.title).astext() for t in tables] == \
        ["Comparison over 4 folds", "Accuracy per fold (%)"]
    for t in tables:
        assert not list(t.findall(nodes.bullet_list)) and not list(t.findall(nodes.enumerated_list))
    markdown = format_comparison_markdown(table).splitlines()
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in markdown
            if line.startswith("| ") and not line.startswith("|---")]
    assert _cells(tables[0]) + _cells(tables[1]) == rows
    assert "(reference: base)" in doctree.astext()
    assert "errnet fold 1: see /w/errnet/fold_1" in doctree.astext()
    assert "Missing folds: base: 3; errnet: 1." in doctree.astext()

    # the same folds everywhere: no note, however many folds are missing
    same = summarize_comparison([dict(name=n, results=BASE) for n in ("a", "b")], num_folds=4)
    assert coverage_note(same) is None
    assert "Not every config" not in format_comparison_markdown(same)
    assert "Not every config" not in format_comparison_rst(same)
    empty = summarize_comparison([dict(name="a", results=BASE), dict(name="b", results=[])],
                                 num_folds=4)
    assert coverage_note(empty).endswith("Missing folds: a: 3; b: all.")


def test_names_that_look_like_markup_stay_text():
    result = _result(0, 0.5)
    result["metrics"].update({"expr/trail_/accuracy": 0.5, "expr/*rated*/accuracy": 0.5})
    configs = [dict(name=name, config=f"{name}.py", work_dir="/w", results=[result])
               for name in ("- dash", "*star*", "a|b", "trail_", "1. one")]
    table = summarize_comparison(configs, num_folds=2)
    _, tables = _tables_of(format_comparison_rst(table))
    header, *rows = _cells(tables[0])
    assert [row[0] for row in rows] == ["- dash", "*star*", "a|b", "trail_", "1. one"]
    assert header[4:6] == ["*rated* accuracy (%)", "trail_ accuracy (%)"]
    markdown = format_comparison_markdown(table)
    assert "| \\- dash | 1/2 |" in markdown and "| a\\|b | 1/2 |" in markdown


def test_csv_and_files(tmp_path):
    table = _table()
    rows = list(csv.DictReader(io.StringIO(format_per_fold_csv(table))))
    assert len(rows) == len(table["per_fold"]) == 10
    assert list(rows[0]) == ["config", "fold", *table["figures"], "delta_accuracy", "wall_s",
                             "work_dir"]
    by_key = {(r["config"], int(r["fold"])): r for r in rows}
    for result in ERRNET:
        row = by_key[("errnet", result["fold"])]
        for key in table["figures"]:
            value = result["metrics"].get(key)
            if value is None or value != value:
                assert row[key] == ""
            else:
                assert float(row[key]) == value
    assert float(by_key[("errnet", 2)]["delta_accuracy"]) == pytest.approx(-0.05)

    write_comparison_table(table, str(tmp_path / "out"))
    assert json.loads((tmp_path / "out" / "summary.json").read_text()) == \
        json.loads(json.dumps(table))
    assert (tmp_path / "out" / "summary.md").read_text() == format_comparison_markdown(table)
    assert (tmp_path / "out" / "summary.rst").read_text() == format_comparison_rst(table)
    assert (tmp_path / "out" / "per_fold.csv").read_text() == format_per_fold_csv(table)
