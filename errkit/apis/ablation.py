"""Ablation studies: several configs trained on the same fold(s), compared in one table.

:func:`run_ablation` gives every config a row named by its file stem; the first
config is the reference.

- Given ``folds``, every config is cross-validated on the same folds and the
  table gives mean ± std over folds and the paired per-fold differences to the
  reference: see :mod:`~errkit.apis.cross_fold_ablation`.
- Otherwise each config is derived for one fold (as
  :func:`~errkit.apis.kfold.run_kfold` does for each of its folds), trained and
  tested in a fresh process in ``WORK_DIR/<name>``, and its test metrics read
  from ``WORK_DIR/<name>/fold_result.json``. The table
  (``WORK_DIR/ablation/summary.json`` and ``summary.md``) gives accuracy, macro
  F1, the removal gains and the accuracy difference to the reference.

Either way, a run with a result is skipped and an interrupted one resumes from
its last checkpoint, so rerunning the same command finishes an interrupted
study. Layout of ``WORK_DIR`` for one fold::

    <name>/fold_config.py    the derived config (``tools/train.py`` can run it)
    <name>/fold_result.json  the config's test metrics, once it is complete
    <name>/worker.log        the worker's output when several configs run at once
    <name>/...               mmengine's checkpoints and logs
    ablation/summary.json, ablation/summary.md
"""

from __future__ import annotations

import logging
import os.path as osp
import time
from typing import Any, Dict, List, Optional, Sequence

from errkit.utils.atomic_io import atomic_write_json, atomic_write_text
from errkit.utils.output_paths import OutputPathError, check_output_dir

from .ablation_configs import AblationError, StudyConfig, load_study_configs
from .cross_fold_ablation import run_cross_fold_ablation
from .experiment import (RESULT_FILE, ExperimentError, config_sha1, finite_number,
                         load_completed_run, log, read_run_result, run_in_subprocess)
from .kfold import derive_fold_config
from .run_pool import run_pool, run_worker

__all__ = ["AblationError", "ABLATION_METRICS", "run_ablation", "format_ablation_markdown"]

SUMMARY_DIR = "ablation"

#: Row field -> key in the test metrics; a metric the model does not report is None.
ABLATION_METRICS = (
    ("accuracy", "expr/accuracy"),
    ("macro_f1", "expr/macro_f1"),
    ("psnr_gain_db", "removal/psnr_gain_db"),
    ("ssim_gain", "removal/ssim_gain"),
)


def _fold_setting(cfg, key: str, given: Optional[int], name: str, path: str) -> int:
    if given is not None:
        return int(given)
    value = cfg.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    flag = key.replace("_", "-")
    raise AblationError(f"config '{name}' ({path}) has no top-level '{key}' variable; pass "
                        f"{key}= to run_ablation (--{flag} on the command line)")


def _plan(configs: Sequence[StudyConfig], root: str, fold: Optional[int],
          num_folds: Optional[int]) -> List[Dict[str, Any]]:
    """Derive every config for its fold before anything trains; bad ones fail here."""
    plan = []
    for name, path, cfg in configs:
        item_fold = _fold_setting(cfg, "fold", fold, name, path)
        item_folds = _fold_setting(cfg, "num_folds", num_folds, name, path)
        work_dir = osp.join(root, name)
        try:
            text = derive_fold_config(cfg, item_fold, item_folds, work_dir).pretty_text
        except ExperimentError as exc:
            raise AblationError(f"config '{name}' ({path}): {exc}") from exc
        plan.append(dict(name=name, config=path, fold=item_fold, num_folds=item_folds,
                         work_dir=work_dir, text=text, sha1=config_sha1(text)))
    return plan


def _read_result(item: Dict[str, Any]) -> Dict[str, Any]:
    path = osp.join(item["work_dir"], RESULT_FILE)
    try:
        return read_run_result(path, item["fold"], item["num_folds"])
    except ExperimentError as exc:
        raise AblationError(f"config '{item['name']}' ({item['config']}): {exc}") from exc


def _run_one(item: Dict[str, Any], resume: bool, jobs: int) -> Dict[str, Any]:
    """Train and test one config in a worker process; its ``fold_result.json``."""
    try:
        run_worker(item["work_dir"], item["text"], item["fold"], item["num_folds"],
                   item["name"], resume, jobs, run_in_subprocess,
                   f"ablation: '{item['name']}' (fold {item['fold']} of {item['num_folds']})")
    except ExperimentError as exc:
        raise AblationError(str(exc)) from exc
    return _read_result(item)


def _row(item: Dict[str, Any], result: Dict[str, Any], skipped: bool) -> Dict[str, Any]:
    metrics = result["metrics"]
    row: Dict[str, Any] = {"name": item["name"], "config": item["config"],
                           "work_dir": item["work_dir"], "fold": item["fold"],
                           "num_folds": item["num_folds"]}
    for field, key in ABLATION_METRICS:
        row[field] = finite_number(metrics.get(key))
    row["delta_accuracy"] = None
    row["wall_s"] = finite_number(result.get("wall_s"))
    row["skipped"] = skipped
    return row


def run_ablation(configs: Sequence[str], work_dir: str, fold: Optional[int] = None,
                 num_folds: Optional[int] = None, jobs: int = 1, resume: bool = True,
                 cfg_options: Optional[dict] = None, data_root: Optional[str] = None,
                 smoke: bool = False, folds: Optional[int] = None,
                 fold_ids: Optional[Sequence[int]] = None,
                 train: bool = True) -> Dict[str, Any]:
    """Train and test several configs on one fold, or on the same ``folds``, then
    write the comparison table.

    Every config is loaded and derived (and the arguments checked) before any
    training starts. Each run then goes in its own process; a run that fails
    does not stop the others, and the table of the completed ones is written
    before the failures are raised.

    Without ``folds``, each config runs one fold in ``WORK_DIR/<name>`` and
    the table has its test figures. With ``folds``, every config is
    cross-validated in ``WORK_DIR/<name>/fold_<i>`` (the layout of
    :func:`~errkit.apis.kfold.run_kfold`) and the table has mean ± std over
    folds and paired per-fold differences to the first config (see
    :func:`~errkit.apis.cross_fold_ablation.run_cross_fold_ablation`).

    Args:
        configs (Sequence[str]): Config files (paths, or names in a plugin's
            config folder). Each names a row by its file stem; the first is the
            reference of ``delta_accuracy``.
        work_dir (str): Root of the configs' work dirs and of ``ablation/``.
        fold (int, optional): The test fold of every config (one-fold study).
            Defaults to None (each config's top-level ``fold`` variable).
        num_folds (int, optional): Number of folds of every config (one-fold
            study). Defaults to None (each config's top-level ``num_folds``
            variable).
        jobs (int): Runs at once. With more than one, each worker gets
            ``max(1, os.cpu_count() // jobs)`` CPU threads and writes its output
            to its run's ``worker.log``. Defaults to 1.
        resume (bool): Skip runs that have a ``fold_result.json`` and resume
            an interrupted one from its last checkpoint. False reruns every
            selected run from the start. Defaults to True.
        cfg_options (dict, optional): Overrides merged into every config.
            Defaults to None.
        data_root (str, optional): Read every dataset of every config from
            this folder (see :func:`errkit.config.set_data_root`). Defaults to
            None.
        smoke (bool): Run every config as a smoke run (see
            :func:`errkit.config.make_smoke_config`). Defaults to False.
        folds (int, optional): Cross-validate every config with this many
            folds. Defaults to None (one fold).
        fold_ids (Sequence[int], optional): With ``folds``, run only these
            folds; the table covers every completed fold. Defaults to None (all).
        train (bool): Start the runs that have no result. False starts none
            and writes the table of the runs already complete (runs of
            ``tools/kfold.py`` included). Defaults to True.

    Returns:
        dict: Without ``folds``, the table: ``work_dir``, ``reference`` (name
        of the first config), ``rows`` (completed configs in the order given,
        each with ``name``, ``config``, ``work_dir``, ``fold``, ``num_folds``,
        ``accuracy``, ``macro_f1``, ``psnr_gain_db``, ``ssim_gain`` (None when
        the model does not report it), ``delta_accuracy`` (accuracy minus the
        reference's; None without both), ``wall_s`` and ``skipped``) and
        ``failed`` (``name``, ``config``, ``work_dir`` and ``error`` of each
        failed config). With ``folds``, the cross-fold table (see
        :func:`~errkit.apis.comparison_table.summarize_comparison`).

    Raises:
        AblationError: Bad arguments, a work dir that cannot be written, a
            config that cannot be loaded or derived (duplicate names, no fold
            given), configs that would not use the same folds, an unreadable
            result, or, after the table is written, every run that failed.
    """
    configs = [str(c) for c in configs]
    if not configs:
        raise AblationError("no configs given")
    jobs = int(jobs)
    if jobs < 1:
        raise AblationError(f"jobs must be at least 1, got {jobs}")
    if folds is None and fold_ids is not None:
        raise AblationError("fold_ids selects folds of a cross-validation: pass folds too")
    if folds is not None and (fold is not None or num_folds is not None):
        raise AblationError("fold and num_folds choose the one fold of a one-fold study; "
                            "with folds, choose folds with fold_ids")
    if not train and not resume:
        raise AblationError("resume=False reruns runs, train=False starts none: pass one")
    root = osp.abspath(work_dir)
    try:
        check_output_dir(root, "work dir")
    except OutputPathError as exc:
        raise AblationError(str(exc)) from None
    loaded = load_study_configs(configs, cfg_options, data_root=data_root, smoke=smoke)
    if folds is not None:
        return run_cross_fold_ablation(loaded, root, folds, fold_ids=fold_ids, jobs=jobs,
                                       resume=resume, runner=run_in_subprocess, train=train)
    plan = _plan(loaded, root, fold, num_folds)
    if len({(item["fold"], item["num_folds"]) for item in plan}) > 1:
        folds_text = ", ".join(f"{i['name']}: {i['fold']}/{i['num_folds']}" for i in plan)
        log(f"ablation: the configs test on different folds ({folds_text}); pass fold and "
            "num_folds to compare them on the same one", logging.WARNING)

    results: Dict[str, Dict[str, Any]] = {}
    skipped = set()
    pending = []
    for item in plan:
        result_path = osp.join(item["work_dir"], RESULT_FILE)
        if resume and osp.isfile(result_path):
            try:
                results[item["name"]] = load_completed_run(
                    result_path, item["fold"], item["num_folds"], item["sha1"],
                    f"ablation: '{item['name']}'")
            except ExperimentError as exc:
                raise AblationError(f"config '{item['name']}' ({item['config']}): {exc}") \
                    from exc
            skipped.add(item["name"])
        else:
            pending.append(item)
    if not train and pending:
        log("ablation: configs without a result, not started: "
            + ", ".join(f"'{item['name']}'" for item in pending))
        pending = []

    done, failures = run_pool(pending, lambda item: _run_one(item, resume, jobs), jobs,
                              lambda item: f"ablation: '{item['name']}'", name="errkit-ablation")
    results.update({pending[i]["name"]: result for i, result in done.items()})
    errors = {pending[i]["name"]: message for i, message in failures.items()}

    rows = [_row(item, results[item["name"]], item["name"] in skipped)
            for item in plan if item["name"] in results]
    reference = rows[0] if rows and rows[0]["name"] == plan[0]["name"] else None
    for row in rows:
        if reference is not None and None not in (row["accuracy"], reference["accuracy"]):
            row["delta_accuracy"] = row["accuracy"] - reference["accuracy"]
    failed = [{"name": item["name"], "config": item["config"], "work_dir": item["work_dir"],
               "error": errors[item["name"]]} for item in plan if item["name"] in errors]
    table = {"work_dir": root, "reference": plan[0]["name"], "rows": rows, "failed": failed,
             "written_at": time.strftime("%Y-%m-%dT%H:%M:%S")}
    out_dir = osp.join(root, SUMMARY_DIR)
    atomic_write_json(osp.join(out_dir, "summary.json"), table)
    atomic_write_text(osp.join(out_dir, "summary.md"), format_ablation_markdown(table))
    if failed:
        lines = "\n".join(f"  {f['name']} ({f['config']}), work dir {f['work_dir']}: "
                          f"{f['error']}" for f in failed)
        raise AblationError(f"{len(failed)} of {len(plan)} configs failed (the table of the "
                            f"others is in {out_dir}); run again to retry them:\n{lines}",
                            table=table)
    return table


def _percent(value: Optional[float]) -> str:
    return "-" if value is None else f"{value * 100:.1f}"


def _points(value: Optional[float]) -> str:
    if value is None:
        return "-"
    points = round(value * 100, 1)
    return f"{points:+.1f}" if points else "+0.0"


def _fixed(value: Optional[float], digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def format_ablation_markdown(table: Dict[str, Any]) -> str:
    """Render a :func:`run_ablation` table as Markdown.

    Accuracy and macro F1 are shown in percent with one decimal, the accuracy
    difference to the reference in percentage points with a sign, the PSNR gain
    with two decimals and the SSIM gain with three; a missing value reads ``-``.

    Args:
        table (dict): The table, as returned by :func:`run_ablation` (or read
            from ``summary.json``).

    Returns:
        str: The Markdown text.

    Examples:
        >>> table = {'reference': 'base', 'rows': [
        ...     {'name': 'base', 'config': 'base.py', 'accuracy': 0.8, 'macro_f1': 0.75,
        ...      'delta_accuracy': 0.0, 'wall_s': 12.0},
        ...     {'name': 'errnet', 'config': 'errnet.py', 'accuracy': 0.85,
        ...      'macro_f1': 0.8, 'psnr_gain_db': 1.234, 'ssim_gain': 0.05,
        ...      'delta_accuracy': 0.05, 'wall_s': 30.0}]}
        >>> print(format_ablation_markdown(table).splitlines()[-1])
        | errnet | 85.0 | 80.0 | +5.0 | 1.23 | 0.050 | 30 | errnet.py |
    """
    rows = table.get("rows") or []
    folds = {(row.get("fold"), row.get("num_folds")) for row in rows}
    heading = "# Ablation"
    same_fold = len(folds) == 1 and None not in next(iter(folds))
    if same_fold:
        fold, num_folds = next(iter(folds))
        heading += f": fold {fold} of {num_folds}"
    lines = [heading, ""]
    reference = table.get("reference")
    if reference:
        lines += [f"Δ accuracy: percentage points against the reference, {reference}.", ""]
    lines.append("| Config | Accuracy (%) | Macro F1 (%) | Δ accuracy (pp) | PSNR gain (dB) "
                 "| SSIM gain | Wall (s) | Config file |")
    lines.append("|---" * 8 + "|")
    for row in rows:
        name = str(row.get("name"))
        if not same_fold and row.get("fold") is not None:
            name += f" (fold {row['fold']} of {row.get('num_folds')})"
        cells = [name, _percent(row.get("accuracy")), _percent(row.get("macro_f1")),
                 _points(row.get("delta_accuracy")), _fixed(row.get("psnr_gain_db"), 2),
                 _fixed(row.get("ssim_gain"), 3), _fixed(row.get("wall_s"), 0),
                 str(row.get("config", "-"))]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    failed = table.get("failed") or []
    if failed:
        lines += ["Failed (no row):", ""]
        lines += [f"- {f['name']} ({f.get('config', '-')}): see {f.get('work_dir', '-')}"
                  for f in failed]
        lines.append("")
    return "\n".join(lines)
