"""Ablation studies: train several configs on the same fold and compare them in one table.

:func:`run_ablation` gives every config a row named by its file stem. Each
config is derived for one fold (as :func:`~errkit.apis.kfold.run_kfold` does for
each of its folds), trained and tested in a fresh process in ``WORK_DIR/<name>``,
and its test metrics read from ``WORK_DIR/<name>/fold_result.json``. A config
with a result is skipped and an interrupted one resumes from its last
checkpoint, so rerunning the same command finishes an interrupted study. The
table (``WORK_DIR/ablation/summary.json`` and ``summary.md``) gives accuracy,
macro F1, the removal gains and the accuracy difference to the first config,
the reference.

Layout of ``WORK_DIR``::

    <name>/fold_config.py    the derived config (``tools/train.py`` can run it)
    <name>/fold_result.json  the config's test metrics, once it is complete
    <name>/worker.log        the worker's output when several configs run at once
    <name>/...               mmengine's checkpoints and logs
    ablation/summary.json, ablation/summary.md
"""

from __future__ import annotations

import logging
import os
import os.path as osp
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, List, Optional, Sequence

from errkit.config import ConfigNotFoundError, load_config, make_smoke_config, set_data_root
from errkit.utils.atomic_io import atomic_write_json, atomic_write_text
from errkit.utils.output_paths import OutputPathError, check_output_dir

from .experiment import (CONFIG_FILE, RESULT_FILE, ExperimentError, RunSpec, config_sha1,
                         finite_number, load_completed_run, log, read_run_result,
                         run_in_subprocess)
from .kfold import derive_fold_config

__all__ = ["AblationError", "ABLATION_METRICS", "run_ablation", "format_ablation_markdown"]

SUMMARY_DIR = "ablation"
WORKER_LOG = "worker.log"

#: Row field -> key in the test metrics; a metric the model does not report is None.
ABLATION_METRICS = (
    ("accuracy", "expr/accuracy"),
    ("macro_f1", "expr/macro_f1"),
    ("psnr_gain_db", "removal/psnr_gain_db"),
    ("ssim_gain", "removal/ssim_gain"),
)


class AblationError(ExperimentError):
    """An ablation study that cannot run, or configs of it that failed; the message
    names the configs.

    Args:
        message (str): What went wrong.
        table (dict, optional): The table of the completed configs, when configs
            failed after it was written. Defaults to None.

    Attributes:
        table (dict or None): As given.
    """

    def __init__(self, message: str, table: Optional[Dict[str, Any]] = None) -> None:
        super().__init__(message)
        self.table = table


def _config_names(configs: Sequence[str]) -> List[str]:
    names: Dict[str, str] = {}
    for path in configs:
        name = osp.splitext(osp.basename(str(path)))[0]
        if name in names:
            raise AblationError(f"configs {names[name]} and {path} share the name '{name}' "
                                "(the file stem names a row and its work dir); rename one")
        names[name] = str(path)
    return list(names)


def _fold_setting(cfg, key: str, given: Optional[int], name: str, path: str) -> int:
    if given is not None:
        return int(given)
    value = cfg.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    flag = key.replace("_", "-")
    raise AblationError(f"config '{name}' ({path}) has no top-level '{key}' variable; pass "
                        f"{key}= to run_ablation (--{flag} on the command line)")


def _plan(configs: Sequence[str], root: str, fold: Optional[int], num_folds: Optional[int],
          cfg_options: Optional[dict], data_root: Optional[str] = None,
          smoke: bool = False) -> List[Dict[str, Any]]:
    """Load and derive every config before anything trains; bad ones fail here."""
    plan = []
    for name, path in zip(_config_names(configs), configs):
        path = str(path)
        try:
            cfg = load_config(path, cfg_options)
        except ConfigNotFoundError as exc:
            raise AblationError(f"config '{name}': {exc}") from exc
        except Exception as exc:  # syntax errors, bad _base_, bad cfg_options
            raise AblationError(f"config '{name}' ({path}) cannot be loaded: "
                                f"{type(exc).__name__}: {exc}") from exc
        try:
            if data_root:
                set_data_root(cfg, data_root)
            if smoke:
                log(f"ablation: config '{name}': {make_smoke_config(cfg)}")
        except ValueError as exc:
            raise AblationError(f"config '{name}' ({path}): {exc}") from exc
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


def _run_one(item: Dict[str, Any], resume: bool, num_threads: Optional[int],
             capture: bool) -> Dict[str, Any]:
    """Train and test one config in a worker process; its ``fold_result.json``."""
    result_path = osp.join(item["work_dir"], RESULT_FILE)
    if not resume and osp.isfile(result_path):
        os.remove(result_path)
    config_file = osp.join(item["work_dir"], CONFIG_FILE)
    atomic_write_text(config_file, item["text"])
    log_file = osp.join(item["work_dir"], WORKER_LOG) if capture else None
    log(f"ablation: running '{item['name']}' (fold {item['fold']} of {item['num_folds']}) "
        f"in {item['work_dir']}" + (f", output in {log_file}" if log_file else ""))
    try:
        run_in_subprocess(RunSpec(config_file, item["fold"], item["num_folds"],
                                  f"{item['name']}_fold{item['fold']}", resume=resume,
                                  num_threads=num_threads, log_file=log_file))
    except ExperimentError as exc:
        raise AblationError(str(exc)) from exc
    if not osp.isfile(result_path):
        raise AblationError(f"the run finished without writing {result_path}")
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
                 smoke: bool = False) -> Dict[str, Any]:
    """Train and test several configs on one fold, then write the comparison table.

    Every config is loaded and derived (and the arguments checked) before any
    training starts. Each then runs in its own process in ``WORK_DIR/<name>``;
    a config that fails does not stop the others, and the table of the
    completed ones is written before the failures are raised.

    Args:
        configs (Sequence[str]): Config files (paths, or names in a plugin's
            config folder). Each names a row by its file stem; the first is the
            reference of ``delta_accuracy``.
        work_dir (str): Root of the configs' work dirs and of ``ablation/``.
        fold (int, optional): The test fold of every config. Defaults to None
            (each config's top-level ``fold`` variable).
        num_folds (int, optional): Number of folds of every config. Defaults to
            None (each config's top-level ``num_folds`` variable).
        jobs (int): Configs run at once. With more than one, each worker gets
            ``max(1, os.cpu_count() // jobs)`` CPU threads and writes its output
            to ``WORK_DIR/<name>/worker.log``. Defaults to 1.
        resume (bool): Skip configs that have a ``fold_result.json`` and resume
            an interrupted one from its last checkpoint. False reruns every
            config from the start. Defaults to True.
        cfg_options (dict, optional): Overrides merged into every config.
            Defaults to None.
        data_root (str, optional): Read every dataset of every config from
            this folder (see :func:`errkit.config.set_data_root`). Defaults to
            None.
        smoke (bool): Run every config as a smoke run (see
            :func:`errkit.config.make_smoke_config`). Defaults to False.

    Returns:
        dict: The table: ``work_dir``, ``reference`` (name of the first config),
        ``rows`` (completed configs in the order given, each with ``name``,
        ``config``, ``work_dir``, ``fold``, ``num_folds``, ``accuracy``,
        ``macro_f1``, ``psnr_gain_db``, ``ssim_gain`` (None when the model
        does not report it), ``delta_accuracy`` (accuracy minus the
        reference's; None without both), ``wall_s`` and ``skipped``) and
        ``failed`` (``name``, ``config``, ``work_dir`` and ``error`` of each
        failed config).

    Raises:
        AblationError: Bad arguments, a work dir that cannot be written, a
            config that cannot be loaded or derived
            (duplicate names, no fold given), an unreadable result, or, after
            the table is written, every config that failed.
    """
    configs = [str(c) for c in configs]
    if not configs:
        raise AblationError("no configs given")
    jobs = int(jobs)
    if jobs < 1:
        raise AblationError(f"jobs must be at least 1, got {jobs}")
    root = osp.abspath(work_dir)
    try:
        check_output_dir(root, "work dir")
    except OutputPathError as exc:
        raise AblationError(str(exc)) from None
    plan = _plan(configs, root, fold, num_folds, cfg_options, data_root, smoke)
    if len({(item["fold"], item["num_folds"]) for item in plan}) > 1:
        folds = ", ".join(f"{i['name']}: {i['fold']}/{i['num_folds']}" for i in plan)
        log(f"ablation: the configs test on different folds ({folds}); pass fold and "
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

    errors: Dict[str, str] = {}
    lock = threading.Lock()
    num_threads = max(1, (os.cpu_count() or 1) // jobs) if jobs > 1 else None

    def work(item: Dict[str, Any]) -> None:
        try:
            result = _run_one(item, resume, num_threads, capture=jobs > 1)
        except Exception as exc:  # one failed config must not stop the others
            message = str(exc) if isinstance(exc, ExperimentError) \
                else f"{type(exc).__name__}: {exc}"
            log(f"ablation: '{item['name']}' failed: {message}", logging.ERROR)
            with lock:
                errors[item["name"]] = message
            return
        with lock:
            results[item["name"]] = result

    if jobs == 1:
        for item in pending:
            work(item)
    elif pending:
        with ThreadPoolExecutor(max_workers=min(jobs, len(pending)),
                                thread_name_prefix="errkit-ablation") as pool:
            list(pool.map(work, pending))

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
