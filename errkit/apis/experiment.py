"""Experiment runs: one config trained and tested on one fold, in this process or a fresh one.

k-fold cross-validation (:mod:`errkit.apis.kfold`) and ablation studies
(:mod:`errkit.apis.ablation`) are both made of such runs. Each run lives in its
own work dir::

    WORK_DIR/fold_config.py    the derived config (``tools/train.py`` can run it)
    WORK_DIR/fold_result.json  its test metrics, written once the run is complete
    WORK_DIR/...               mmengine's checkpoints and logs

- :func:`run_fold` trains and tests a run in this process and writes its result;
- :class:`RunSpec` and :func:`run_in_subprocess` run it in a fresh interpreter
  (:func:`worker_main` is that interpreter's entry point);
- :func:`load_completed_run` reads the result of a complete run, which a
  resumed experiment skips, and :func:`read_run_result` checks it;
- every failure is an :class:`ExperimentError`, the base of
  :class:`~errkit.apis.kfold.KFoldError` and
  :class:`~errkit.apis.ablation.AblationError`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import math
import os
import os.path as osp
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

import torch
from mmengine.config import Config
from mmengine.dist import get_rank, is_distributed
from mmengine.logging import MMLogger, print_log

import errkit
from errkit.datasets.errors import DatasetNotFoundError
from errkit.engine import build_runner, find_resumable_checkpoint
from errkit.utils.atomic_io import atomic_write_json
from errkit.utils.checkpoint import CheckpointError
from errkit.utils.output_paths import OutputPathError

__all__ = ["ExperimentError", "RunSpec", "CONFIG_FILE", "RESULT_FILE", "config_sha1",
           "finite_number", "is_main_process", "log", "run_fold", "run_in_subprocess",
           "worker_main", "read_run_result", "load_completed_run"]

#: The derived config of a run, in its work dir.
CONFIG_FILE = "fold_config.py"
#: The test metrics of a complete run, in its work dir.
RESULT_FILE = "fold_result.json"
_LOGGER = "errkit.experiment"
_WORKER_CODE = "from errkit.apis.experiment import worker_main; worker_main()"


class ExperimentError(ValueError):
    """An experiment (k-fold, ablation) that cannot run, or a run of it that failed.

    The message says which run and why.
    """


@dataclass(frozen=True)
class RunSpec:
    """One run, as :func:`run_in_subprocess` starts it.

    Attributes:
        config_file (str): The run's derived config, in its work dir (see the
            module docstring).
        fold (int): The test fold.
        num_folds (int): Number of folds.
        experiment_name (str): Name of the run in mmengine's logs.
        resume (bool): Resume from the work dir's latest checkpoint. Defaults
            to True.
        launcher (str): ``'none'`` or ``'pytorch'``. Defaults to ``'none'``.
        num_threads (int, optional): Cap on the worker's CPU threads
            (``OMP_NUM_THREADS``, ``MKL_NUM_THREADS``, ``torch.set_num_threads``).
            Defaults to None (no cap).
        log_file (str, optional): File that receives the worker's stdout and
            stderr (appended). Defaults to None (this process's streams).
    """

    config_file: str
    fold: int
    num_folds: int
    experiment_name: str
    resume: bool = True
    launcher: str = "none"
    num_threads: Optional[int] = None
    log_file: Optional[str] = None

    @property
    def work_dir(self) -> str:
        """The run's work dir: the folder of its config."""
        return osp.dirname(osp.abspath(self.config_file))

    @property
    def result_file(self) -> str:
        """Where the run writes its result."""
        return osp.join(self.work_dir, RESULT_FILE)


def log(message: str, level: int = logging.INFO) -> None:
    """Log through mmengine's logger of experiments (``errkit.experiment``).

    Args:
        message (str): The message.
        level (int): A :mod:`logging` level. Defaults to ``logging.INFO``.
    """
    if not MMLogger.check_instance_created(_LOGGER):
        MMLogger.get_instance(_LOGGER, log_level="INFO")
    print_log(message, logger=_LOGGER, level=level)


def is_main_process() -> bool:
    """Whether this process writes an experiment's files (rank 0, or not distributed)."""
    if is_distributed():
        return get_rank() == 0
    return int(os.environ.get("RANK", "0")) == 0


def config_sha1(text: str) -> str:
    """SHA-1 of a derived config's text: tells whether a stored result came from it."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def finite_number(value: Any) -> Optional[float]:
    """A metric value as a float; None when it is missing, not a number or not finite.

    Examples:
        >>> finite_number(1), finite_number(float('nan')), finite_number(None)
        (1.0, None, None)
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _plain(value: Any) -> Any:
    """JSON-ready copy: tensors and arrays as lists, NaN/inf as None."""
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        value = value.tolist()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _close_log_files(logger: logging.Logger) -> None:
    for handler in list(logger.handlers):
        if isinstance(handler, logging.FileHandler):
            handler.close()
            logger.removeHandler(handler)


def run_fold(config_file: str, fold: int, num_folds: int, resume: bool = True,
             launcher: str = "none", experiment_name: Optional[str] = None) -> Dict[str, Any]:
    """Train and test one run in this process; write its ``fold_result.json``.

    The run resumes from the latest checkpoint of its work dir when ``resume``
    and one exists (an interrupted run); otherwise it starts from the
    config's ``load_from`` (if any). The model tested is the final one of
    training (the test split is the fold's held-out subjects, so no checkpoint
    is selected on it).

    Args:
        config_file (str): The run's config, as written by
            :func:`~errkit.apis.kfold.run_kfold` or
            :func:`~errkit.apis.ablation.run_ablation` (its ``work_dir`` is the
            run's work dir).
        fold (int): The fold number.
        num_folds (int): Number of folds.
        resume (bool): Resume from the work dir's latest checkpoint. Defaults to True.
        launcher (str): ``'none'`` or ``'pytorch'``. Defaults to ``'none'``.
        experiment_name (str, optional): Name of the run; a random suffix keeps
            mmengine's per-experiment global instances (logger, message hub,
            visualizer) apart. Defaults to None (``fold{fold}``).

    Returns:
        dict: ``fold``, ``num_folds``, ``metrics`` (the test metrics, NaN as
        None), ``classes``, ``num_test_samples``, ``resumed_from``,
        ``config_sha1``, ``work_dir``, ``wall_s`` and ``finished_at``.
    """
    with open(config_file, encoding="utf-8") as f:
        text = f.read()
    # Rebuilt without a file name, so the runner records its final config as
    # <timestamp>.py instead of overwriting fold_config.py.
    cfg = Config(Config.fromfile(config_file).to_dict())
    work_dir = cfg.get("work_dir") or osp.dirname(osp.abspath(config_file))
    cfg.work_dir = work_dir
    cfg.launcher = launcher
    latest, skipped = (find_resumable_checkpoint(work_dir) if resume and osp.isdir(work_dir)
                       else (None, []))
    for item in skipped:
        kind = "a refused" if item.refused else "an unreadable"
        log(f"fold {fold}: not resuming from {kind} checkpoint: {item.reason}", logging.WARNING)
    if latest:
        cfg.resume, cfg.load_from = True, latest
    else:
        cfg.resume = False
    name = experiment_name or f"fold{fold}"
    cfg.experiment_name = f"{name}_{uuid.uuid4().hex[:6]}"

    start = time.time()
    runner = build_runner(cfg)
    try:
        runner.train()
        metrics = runner.test()
        dataset = runner.test_dataloader.dataset
        classes = (getattr(dataset, "metainfo", None) or {}).get("classes")
        result = {
            "fold": int(fold),
            "num_folds": int(num_folds),
            "metrics": _plain(dict(metrics)),
            "classes": None if classes is None else [str(c) for c in classes],
            "num_test_samples": len(dataset),
            "resumed_from": latest,
            "config_sha1": config_sha1(text),
            "work_dir": work_dir,
            "wall_s": round(time.time() - start, 3),
            "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }
    finally:
        _close_log_files(runner.logger)
    if is_main_process():
        atomic_write_json(osp.join(work_dir, RESULT_FILE), result)
    return result


def worker_main(argv: Optional[List[str]] = None) -> None:
    """Run one run in a fresh interpreter: what :func:`run_in_subprocess` starts.

    Args:
        argv (list[str], optional): ``CONFIG_FILE --fold F --num-folds N ...``.
            Defaults to None (``sys.argv[1:]``).
    """
    parser = argparse.ArgumentParser(prog="errkit experiment worker")
    parser.add_argument("config_file")
    parser.add_argument("--fold", type=int, required=True)
    parser.add_argument("--num-folds", type=int, required=True)
    parser.add_argument("--launcher", default="none")
    parser.add_argument("--experiment-name")
    parser.add_argument("--no-resume", action="store_true")
    parser.add_argument("--num-threads", type=int)
    args = parser.parse_args(argv)
    if args.num_threads:
        torch.set_num_threads(max(1, args.num_threads))
    try:
        run_fold(args.config_file, args.fold, args.num_folds, resume=not args.no_resume,
                 launcher=args.launcher, experiment_name=args.experiment_name)
    except (DatasetNotFoundError, CheckpointError, OutputPathError) as exc:
        print(f"errkit: error: {exc}", file=sys.stderr)
        raise SystemExit(2)
    except FloatingPointError as exc:  # a non-finite loss, or weights that are no longer finite
        print(f"errkit: error: {exc}", file=sys.stderr)
        raise SystemExit(1)


def _failure_line(path: str) -> str:
    """The exception line of the last traceback in a log, else its last line."""
    try:
        with open(path, "rb") as f:
            f.seek(max(0, os.path.getsize(path) - 16384))
            lines = f.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return ""
    marks = [i for i, ln in enumerate(lines) if ln.startswith("Traceback (most recent call")]
    if marks:
        for line in lines[marks[-1] + 1:]:
            if line.strip() and not line[0].isspace():
                return line.strip()
    return next((ln.strip() for ln in reversed(lines) if ln.strip()), "")


def run_in_subprocess(spec: RunSpec) -> None:
    """Run :func:`run_fold` for ``spec`` in a fresh interpreter.

    Args:
        spec (RunSpec): The run.

    Raises:
        ExperimentError: The worker failed; the message gives its exit code,
            where its logs are and, with a ``log_file``, the exception it died of.
    """
    cmd = [sys.executable, "-c", _WORKER_CODE, spec.config_file, "--fold", str(spec.fold),
           "--num-folds", str(spec.num_folds), "--launcher", spec.launcher,
           "--experiment-name", spec.experiment_name]
    if not spec.resume:
        cmd.append("--no-resume")
    env = dict(os.environ)
    source_root = osp.dirname(osp.dirname(osp.abspath(errkit.__file__)))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (source_root, env.get("PYTHONPATH")) if p)
    if spec.num_threads:
        threads = str(max(1, int(spec.num_threads)))
        cmd += ["--num-threads", threads]
        env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = threads
    if spec.log_file:
        os.makedirs(osp.dirname(osp.abspath(spec.log_file)), exist_ok=True)
        with open(spec.log_file, "ab") as out:
            code = subprocess.run(cmd, env=env, check=False, stdout=out,
                                  stderr=subprocess.STDOUT).returncode
    else:
        code = subprocess.run(cmd, env=env, check=False).returncode
    if code != 0:
        where = osp.dirname(spec.config_file) + (f" and {spec.log_file}" if spec.log_file else "")
        last = _failure_line(spec.log_file) if spec.log_file else ""
        raise ExperimentError(f"fold {spec.fold} failed (exit code {code}); its logs are in "
                              f"{where}. Run again to resume it from its last checkpoint."
                              + (f" {last}" if last else ""))


def read_run_result(path: str, fold: int, num_folds: int) -> Dict[str, Any]:
    """Read and check a run's ``fold_result.json``.

    Args:
        path (str): The file.
        fold (int): The fold it must hold.
        num_folds (int): The number of folds it must hold.

    Returns:
        dict: The result (see :func:`run_fold`).

    Raises:
        ExperimentError: The file is unreadable, of another fold or number of
            folds, or has no ``metrics``.
    """
    try:
        with open(path, encoding="utf-8") as f:
            result = json.load(f)
    except (OSError, ValueError) as exc:
        raise ExperimentError(f"cannot read {path}: {exc}; delete it to run the fold "
                              "again") from exc
    if result.get("fold") != fold or result.get("num_folds") != num_folds:
        raise ExperimentError(f"{path} holds fold {result.get('fold')} of "
                              f"{result.get('num_folds')}, expected fold {fold} of {num_folds}; "
                              "use another work dir for another number of folds")
    if not isinstance(result.get("metrics"), dict):
        raise ExperimentError(f"{path} has no 'metrics' dict; delete it to run the fold again")
    return result


def load_completed_run(result_path: str, fold: int, num_folds: int, sha1: str,
                       label: str) -> Dict[str, Any]:
    """The result of a completed run, which a resumed experiment skips.

    It is kept even when its config has changed since; that is warned about.

    Args:
        result_path (str): The run's ``fold_result.json``.
        fold (int): Its fold.
        num_folds (int): Its number of folds.
        sha1 (str): :func:`config_sha1` of the config the run would have now.
        label (str): How log lines name the run (``'fold 3/10'``).

    Returns:
        dict: The result.

    Raises:
        ExperimentError: See :func:`read_run_result`.
    """
    result = read_run_result(result_path, fold, num_folds)
    if result.get("config_sha1") != sha1:
        log(f"{label}: {result_path} came from a different config; its result is kept "
            "(delete it, or pass resume=False, to rerun)", logging.WARNING)
    log(f"{label}: complete, skipped ({result_path})")
    return result
