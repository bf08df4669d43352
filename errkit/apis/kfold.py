"""K-fold cross-validation: train and test every fold of a config, then summarise.

FER protocols (CK+, MMI) report the mean accuracy of a 10-fold subject-independent
cross-validation. :func:`run_kfold` derives one config per fold (every dataset of
the train, val and test dataloaders gets ``fold``, ``num_folds`` and its split),
trains it with mmengine's :class:`~mmengine.runner.Runner` in ``WORK_DIR/fold_{i}``,
tests the final model on the fold's test split and records the metrics in
``WORK_DIR/fold_{i}/fold_result.json``, written only once the fold is complete.
Folds with a result are skipped and an interrupted fold resumes from its last
checkpoint, so rerunning the same command finishes an interrupted
cross-validation. The summary (``WORK_DIR/kfold/summary.json``, ``summary.md``
and ``confusion_matrix.png``) gives per-fold and mean ± std figures and the
confusion matrix summed over folds.

Layout of ``WORK_DIR``::

    fold_0/fold_config.py    the derived config (``tools/train.py`` can run it)
    fold_0/fold_result.json  the fold's test metrics, once it is complete
    fold_0/...               mmengine's checkpoints and logs
    kfold/summary.json, kfold/summary.md, kfold/confusion_matrix.png
"""

from __future__ import annotations

import argparse
import copy
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
from typing import Any, Dict, List, Optional, Sequence

from errkit.utils.atomic_io import atomic_write_json, atomic_write_text

from .kfold_summary import (SUMMARY_METRICS, KFoldError, SummaryMetric,
                            format_summary_markdown, plot_confusion_matrix, summarize_folds,
                            write_summary)

__all__ = ["KFoldError", "SummaryMetric", "SUMMARY_METRICS", "set_dataset_fold",
           "derive_fold_config", "run_fold", "run_kfold", "load_fold_results",
           "summarize_folds", "format_summary_markdown", "plot_confusion_matrix",
           "write_summary"]

FOLD_RESULT = "fold_result.json"
FOLD_CONFIG = "fold_config.py"
SUMMARY_DIR = "kfold"
_LOGGER = "errkit.kfold"
#: Dataloader -> the split its datasets read in a fold.
_LOADER_SPLITS = (("train_dataloader", "train"), ("val_dataloader", "test"),
                  ("test_dataloader", "test"))
_WORKER_CODE = "from errkit.apis.kfold import _worker_main; _worker_main()"


def _log(message: str, level: int = logging.INFO) -> None:
    from mmengine.logging import MMLogger, print_log

    if not MMLogger.check_instance_created(_LOGGER):
        MMLogger.get_instance(_LOGGER, log_level="INFO")
    print_log(message, logger=_LOGGER, level=level)


def _is_main_process() -> bool:
    from mmengine.dist import get_rank, is_distributed

    if is_distributed():
        return get_rank() == 0
    return int(os.environ.get("RANK", "0")) == 0


def set_dataset_fold(dataset: Any, fold: int, num_folds: int, split: str,
                     where: str = "dataset") -> int:
    """Set ``fold``, ``num_folds`` and ``split`` on a dataset config, in place.

    Wrappers (a dict with a ``dataset`` or ``datasets`` key, e.g.
    ``RepeatDataset``, ``ConcatDataset``) are entered recursively and every
    dataset they wrap is set; the wrapper itself is left alone.

    Args:
        dataset (dict): A dataset config.
        fold (int): The fold whose subjects form the test split.
        num_folds (int): Number of folds.
        split (str): ``'train'`` or ``'test'``.
        where (str): Where ``dataset`` sits in the config, for error messages.
            Defaults to ``'dataset'``.

    Returns:
        int: Number of dataset configs set.

    Raises:
        KFoldError: ``dataset`` (or something it wraps) is not a dict.

    Examples:
        >>> cfg = dict(type='RepeatDataset', times=2, dataset=dict(type='CKPlusDataset'))
        >>> set_dataset_fold(cfg, 3, 10, 'train')
        1
        >>> cfg['dataset']['fold'], cfg['dataset']['split'], 'fold' in cfg
        (3, 'train', False)
    """
    if not isinstance(dataset, dict):
        raise KFoldError(f"{where} must be a dataset config (a dict), got "
                         f"{type(dataset).__name__}")
    if "dataset" not in dataset and "datasets" not in dataset:
        dataset.update(fold=int(fold), num_folds=int(num_folds), split=split)
        return 1
    count = 0
    if "dataset" in dataset:
        count += set_dataset_fold(dataset["dataset"], fold, num_folds, split, f"{where}.dataset")
    if "datasets" in dataset:
        inner = dataset["datasets"]
        if not isinstance(inner, (list, tuple)):
            raise KFoldError(f"{where}.datasets must be a list of dataset configs, got "
                             f"{type(inner).__name__}")
        for index, item in enumerate(inner):
            count += set_dataset_fold(item, fold, num_folds, split,
                                      f"{where}.datasets[{index}]")
    return count


def derive_fold_config(cfg, fold: int, num_folds: int, work_dir: str):
    """A copy of ``cfg`` that trains on the other folds of ``fold`` and tests on it.

    Every dataset of ``train_dataloader`` gets ``split='train'``, those of
    ``val_dataloader`` and ``test_dataloader`` ``split='test'``, all with
    ``fold`` and ``num_folds``; top-level ``fold`` / ``num_folds`` variables
    are updated too, and ``work_dir`` is set.

    Args:
        cfg (mmengine.config.Config): The loaded config (left unchanged).
        fold (int): The test fold, in ``[0, num_folds)``.
        num_folds (int): Number of folds (at least 2).
        work_dir (str): The fold's work dir.

    Returns:
        mmengine.config.Config: The fold's config.

    Raises:
        KFoldError: Bad fold numbers, or the config lacks ``train_dataloader`` /
            ``test_dataloader`` or a dataloader lacks ``dataset``.
    """
    if int(num_folds) < 2:
        raise KFoldError(f"the number of folds must be at least 2, got {num_folds}")
    if not 0 <= int(fold) < int(num_folds):
        raise KFoldError(f"fold {fold} is outside [0, {int(num_folds) - 1}]")
    fold_cfg = copy.deepcopy(cfg)
    for key, split in _LOADER_SPLITS:
        loader = fold_cfg.get(key)
        if loader is None:
            if key == "val_dataloader":
                continue
            raise KFoldError(f"the config has no '{key}'; k-fold cross-validation trains "
                             "on train_dataloader and tests on test_dataloader")
        if not isinstance(loader, dict) or "dataset" not in loader:
            raise KFoldError(f"'{key}' of the config has no 'dataset'")
        set_dataset_fold(loader["dataset"], fold, num_folds, split, f"{key}.dataset")
    keys = set(fold_cfg.keys())
    for name, value in (("fold", fold), ("num_folds", num_folds)):
        if name in keys and isinstance(fold_cfg.get(name), int):
            fold_cfg[name] = int(value)
    fold_cfg.work_dir = work_dir
    return fold_cfg


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
    """Train and test one fold in this process; write its ``fold_result.json``.

    The fold resumes from the latest checkpoint of its work dir when ``resume``
    and one exists (an interrupted fold); otherwise it starts from the
    config's ``load_from`` (if any). The model tested is the final one of
    training (the test split is the fold's held-out subjects, so no checkpoint
    is selected on it).

    Args:
        config_file (str): The fold's config, as written by :func:`run_kfold`
            (its ``work_dir`` is the fold's work dir).
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
    import errkit.engine  # noqa: F401  (allow-lists the globals of mmengine checkpoints)
    from mmengine.config import Config
    from mmengine.runner import Runner

    from errkit.engine.checkpoint import find_resumable_checkpoint

    with open(config_file, encoding="utf-8") as f:
        text = f.read()
    # Rebuilt without a file name, so the runner records its final config as
    # <timestamp>.py instead of overwriting fold_config.py.
    cfg = Config(Config.fromfile(config_file).to_dict())
    work_dir = cfg.get("work_dir") or osp.dirname(osp.abspath(config_file))
    cfg.work_dir = work_dir
    cfg.launcher = launcher
    latest = find_resumable_checkpoint(work_dir)[0] if resume and osp.isdir(work_dir) else None
    if latest:
        cfg.resume, cfg.load_from = True, latest
    else:
        cfg.resume = False
    name = experiment_name or f"fold{fold}"
    cfg.experiment_name = f"{name}_{uuid.uuid4().hex[:6]}"

    start = time.time()
    runner = Runner.from_cfg(cfg)
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
            "config_sha1": hashlib.sha1(text.encode("utf-8")).hexdigest(),
            "work_dir": work_dir,
            "wall_s": round(time.time() - start, 3),
            "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }
    finally:
        _close_log_files(runner.logger)
    if _is_main_process():
        atomic_write_json(osp.join(work_dir, FOLD_RESULT), result)
    return result


def _worker_main(argv: Optional[List[str]] = None) -> None:
    """Run one fold in a fresh interpreter (what ``isolate='process'`` starts)."""
    parser = argparse.ArgumentParser(prog="errkit k-fold worker")
    parser.add_argument("config_file")
    parser.add_argument("--fold", type=int, required=True)
    parser.add_argument("--num-folds", type=int, required=True)
    parser.add_argument("--launcher", default="none")
    parser.add_argument("--experiment-name")
    parser.add_argument("--no-resume", action="store_true")
    parser.add_argument("--num-threads", type=int)
    args = parser.parse_args(argv)
    from errkit.datasets.errors import DatasetNotFoundError

    if args.num_threads:
        import torch

        torch.set_num_threads(max(1, args.num_threads))

    try:
        run_fold(args.config_file, args.fold, args.num_folds, resume=not args.no_resume,
                 launcher=args.launcher, experiment_name=args.experiment_name)
    except DatasetNotFoundError as exc:
        print(f"errkit: error: {exc}", file=sys.stderr)
        raise SystemExit(2)


def _run_fold_process(config_file: str, fold: int, num_folds: int, resume: bool,
                      launcher: str, experiment_name: str, num_threads: Optional[int] = None,
                      log_file: Optional[str] = None) -> None:
    """Run :func:`run_fold` in a fresh interpreter; raise :class:`KFoldError` if it fails.

    ``num_threads`` caps the worker's CPU threads (``OMP_NUM_THREADS``,
    ``MKL_NUM_THREADS`` and ``torch.set_num_threads``); ``log_file`` receives
    its stdout and stderr (appended) instead of this process's streams.
    """
    import errkit

    cmd = [sys.executable, "-c", _WORKER_CODE, config_file, "--fold", str(fold),
           "--num-folds", str(num_folds), "--launcher", launcher,
           "--experiment-name", experiment_name]
    if not resume:
        cmd.append("--no-resume")
    env = dict(os.environ)
    source_root = osp.dirname(osp.dirname(osp.abspath(errkit.__file__)))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (source_root, env.get("PYTHONPATH")) if p)
    if num_threads:
        threads = str(max(1, int(num_threads)))
        cmd += ["--num-threads", threads]
        env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = threads
    if log_file:
        os.makedirs(osp.dirname(osp.abspath(log_file)), exist_ok=True)
        with open(log_file, "ab") as log:
            code = subprocess.run(cmd, env=env, check=False, stdout=log,
                                  stderr=subprocess.STDOUT).returncode
    else:
        code = subprocess.run(cmd, env=env, check=False).returncode
    if code != 0:
        where = osp.dirname(config_file) + (f" and {log_file}" if log_file else "")
        raise KFoldError(f"fold {fold} failed (exit code {code}); its logs are in "
                         f"{where}. Run again to resume it from its last checkpoint.")


def _read_fold_result(path: str, fold: int, num_folds: int) -> Dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as f:
            result = json.load(f)
    except (OSError, ValueError) as exc:
        raise KFoldError(f"cannot read {path}: {exc}; delete it to run the fold again") from exc
    if result.get("fold") != fold or result.get("num_folds") != num_folds:
        raise KFoldError(f"{path} holds fold {result.get('fold')} of "
                         f"{result.get('num_folds')}, expected fold {fold} of {num_folds}; "
                         "use another work dir for another number of folds")
    if not isinstance(result.get("metrics"), dict):
        raise KFoldError(f"{path} has no 'metrics' dict; delete it to run the fold again")
    return result


def _load_completed(result_path: str, fold: int, num_folds: int, config_sha1: str,
                    label: str) -> Dict[str, Any]:
    """The result of a completed run, which a resumed run skips.

    It is kept even when its config has changed since; that is warned about.
    """
    result = _read_fold_result(result_path, fold, num_folds)
    if result.get("config_sha1") != config_sha1:
        _log(f"{label}: {result_path} came from a different config; its result is kept "
             "(delete it, or pass resume=False, to rerun)", logging.WARNING)
    _log(f"{label}: complete, skipped ({result_path})")
    return result


def load_fold_results(work_dir: str, num_folds: int) -> List[Dict[str, Any]]:
    """The ``fold_result.json`` of every completed fold of ``work_dir``, by fold."""
    results = []
    for fold in range(int(num_folds)):
        path = osp.join(work_dir, f"fold_{fold}", FOLD_RESULT)
        if osp.isfile(path):
            results.append(_read_fold_result(path, fold, int(num_folds)))
    return results


def run_kfold(config_path: str, folds: int = 10, work_dir: Optional[str] = None,
              cfg_options: Optional[dict] = None, fold_ids: Optional[Sequence[int]] = None,
              isolate: str = "process", resume: bool = True,
              launcher: str = "none") -> Dict[str, Any]:
    """Cross-validate a config: train and test each fold, then write the summary.

    Args:
        config_path (str): Config file (path, or name in a plugin's config folder).
        folds (int): Number of folds. Defaults to 10.
        work_dir (str, optional): Root of the fold work dirs. Defaults to None
            (the config's ``work_dir``, else ``work_dirs/<config name>``).
        cfg_options (dict, optional): Overrides merged into the config before
            the folds are derived. Defaults to None.
        fold_ids (Sequence[int], optional): Run only these folds (e.g. to share
            them among machines); the summary covers every completed fold of
            the work dir. Defaults to None (all).
        isolate (str): ``'process'`` runs each fold in a fresh interpreter;
            ``'inline'`` runs them one after another in this process. Defaults
            to ``'process'``.
        resume (bool): Skip folds that have a ``fold_result.json`` and resume an
            interrupted fold from its last checkpoint. False reruns every
            selected fold from the start. Defaults to True.
        launcher (str): ``'none'`` or ``'pytorch'`` (every rank runs this
            function; rank 0 writes the results). Defaults to ``'none'``.

    Returns:
        dict: The summary (see :func:`summarize_folds`).

    Raises:
        KFoldError: Bad arguments, a config the folds cannot be derived from,
            a failed fold subprocess or unreadable fold results.
    """
    from errkit.config import load_config, work_dir_for

    if isolate not in ("process", "inline"):
        raise KFoldError(f"isolate must be 'process' or 'inline', got {isolate!r}")
    folds = int(folds)
    if folds < 2:
        raise KFoldError(f"the number of folds must be at least 2, got {folds}")
    ids = list(range(folds)) if fold_ids is None else sorted({int(i) for i in fold_ids})
    bad = [i for i in ids if not 0 <= i < folds]
    if bad or not ids:
        raise KFoldError(f"fold ids must lie in [0, {folds - 1}], got {list(fold_ids or [])}")
    cfg = load_config(config_path, cfg_options)
    root = osp.abspath(work_dir_for(cfg, work_dir, config_path))
    stem = osp.splitext(osp.basename(config_path))[0]

    for fold in ids:
        fold_dir = osp.join(root, f"fold_{fold}")
        result_path = osp.join(fold_dir, FOLD_RESULT)
        text = derive_fold_config(cfg, fold, folds, fold_dir).pretty_text
        if resume and osp.isfile(result_path):
            _load_completed(result_path, fold, folds,
                            hashlib.sha1(text.encode("utf-8")).hexdigest(),
                            f"fold {fold}/{folds}")
            continue
        if _is_main_process():
            if not resume and osp.isfile(result_path):
                os.remove(result_path)
            atomic_write_text(osp.join(fold_dir, FOLD_CONFIG), text)
        _log(f"fold {fold}/{folds}: running ({isolate}) in {fold_dir}")
        config_file = osp.join(fold_dir, FOLD_CONFIG)
        if isolate == "inline":
            run_fold(config_file, fold, folds, resume=resume, launcher=launcher,
                     experiment_name=f"{stem}_fold{fold}")
        else:
            _run_fold_process(config_file, fold, folds, resume, launcher, f"{stem}_fold{fold}")
        if _is_main_process() and not osp.isfile(result_path):
            raise KFoldError(f"fold {fold} finished without writing {result_path}")

    if not _is_main_process():
        return summarize_folds(load_fold_results(root, folds), folds)
    return write_summary(load_fold_results(root, folds), osp.join(root, SUMMARY_DIR), folds,
                         title=stem)
