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

Each fold is a run of :mod:`errkit.apis.experiment` (in a fresh process, or
inline), the same runs that an ablation study is made of; ``jobs`` folds can run
at once (:mod:`errkit.apis.run_pool`), each with its share of the CPU threads
and its output in ``WORK_DIR/fold_{i}/worker.log``.
"""

from __future__ import annotations

import copy
import os
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence

from errkit.config import load_config, make_smoke_config, set_data_root, work_dir_for
from errkit.utils.atomic_io import atomic_write_text
from errkit.utils.output_paths import OutputPathError, check_output_dir

from .experiment import (CONFIG_FILE, RESULT_FILE, ExperimentError, RunSpec, config_sha1,
                         is_main_process, load_completed_run, log, read_run_result, run_fold,
                         run_in_subprocess)
from .kfold_summary import (SUMMARY_METRICS, KFoldError, SummaryMetric,
                            format_summary_markdown, plot_confusion_matrix, summarize_folds,
                            write_summary)
from .run_pool import run_pool, threads_per_job, worker_log_file

__all__ = ["KFoldError", "SummaryMetric", "SUMMARY_METRICS", "FOLD_CONFIG", "FOLD_RESULT",
           "set_dataset_fold", "derive_fold_config", "select_folds", "run_fold", "run_kfold",
           "load_fold_results", "summarize_folds", "format_summary_markdown",
           "plot_confusion_matrix", "write_summary"]

#: A fold's derived config, in its work dir.
FOLD_CONFIG = CONFIG_FILE
#: A fold's test metrics, in its work dir, once the fold is complete.
FOLD_RESULT = RESULT_FILE
SUMMARY_DIR = "kfold"
#: Dataloader -> the split its datasets read in a fold.
_LOADER_SPLITS = (("train_dataloader", "train"), ("val_dataloader", "test"),
                  ("test_dataloader", "test"))


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


def select_folds(folds: int, fold_ids: Optional[Sequence[int]] = None) -> List[int]:
    """The folds to run: ``fold_ids`` sorted and deduplicated, or all of them.

    Args:
        folds (int): Number of folds (at least 2).
        fold_ids (Sequence[int], optional): A subset. Defaults to None (all).

    Returns:
        list[int]: The fold numbers.

    Raises:
        KFoldError: Fewer than 2 folds, or an id outside ``[0, folds)``.

    Examples:
        >>> select_folds(3), select_folds(10, [7, 2, 7])
        ([0, 1, 2], [2, 7])
    """
    folds = int(folds)
    if folds < 2:
        raise KFoldError(f"the number of folds must be at least 2, got {folds}")
    ids = list(range(folds)) if fold_ids is None else sorted({int(i) for i in fold_ids})
    bad = [i for i in ids if not 0 <= i < folds]
    if bad or not ids:
        raise KFoldError(f"fold ids must lie in [0, {folds - 1}], got {list(fold_ids or [])}")
    return ids


def load_fold_results(work_dir: str, num_folds: int) -> List[Dict[str, Any]]:
    """The ``fold_result.json`` of every completed fold of ``work_dir``, by fold.

    Args:
        work_dir (str): The cross-validation's work dir (holding ``fold_{i}``).
        num_folds (int): Number of folds.

    Returns:
        list[dict]: The results of the completed folds (see :func:`run_fold`).

    Raises:
        KFoldError: A result is unreadable or of another fold.
    """
    results = []
    for fold in range(int(num_folds)):
        path = osp.join(work_dir, f"fold_{fold}", FOLD_RESULT)
        if osp.isfile(path):
            try:
                results.append(read_run_result(path, fold, int(num_folds)))
            except ExperimentError as exc:
                raise KFoldError(str(exc)) from exc
    return results


def run_kfold(config_path: str, folds: int = 10, work_dir: Optional[str] = None,
              cfg_options: Optional[dict] = None, fold_ids: Optional[Sequence[int]] = None,
              isolate: str = "process", resume: bool = True,
              launcher: str = "none", data_root: Optional[str] = None,
              smoke: bool = False, jobs: int = 1) -> Dict[str, Any]:
    """Cross-validate a config: train and test each fold, then write the summary.

    With ``isolate='process'`` a fold that fails does not stop the others: the
    summary of the completed folds is written, then one error names every
    failed fold and its work dir.

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
        data_root (str, optional): Read every dataset from this folder (see
            :func:`errkit.config.set_data_root`). Defaults to None.
        smoke (bool): Run every fold as a smoke run (see
            :func:`errkit.config.make_smoke_config`); the default work dir
            gets the suffix ``_smoke``. Defaults to False.
        jobs (int): Folds run at once (``isolate='process'`` and
            ``launcher='none'`` only). With more than one, each worker gets
            ``max(1, os.cpu_count() // jobs)`` CPU threads and writes its output
            to ``WORK_DIR/fold_{i}/worker.log``. Defaults to 1.

    Returns:
        dict: The summary (see :func:`summarize_folds`).

    Raises:
        KFoldError: Bad arguments, a work dir that cannot be written, a config
            the folds cannot be derived from, unreadable fold results or, after
            the summary is written, the failed folds (its ``summary`` attribute
            holds that summary).
    """
    if isolate not in ("process", "inline"):
        raise KFoldError(f"isolate must be 'process' or 'inline', got {isolate!r}")
    jobs = int(jobs)
    if jobs < 1:
        raise KFoldError(f"jobs must be at least 1, got {jobs}")
    if jobs > 1 and (isolate != "process" or launcher != "none"):
        raise KFoldError("jobs > 1 runs folds in parallel processes: it needs "
                         "isolate='process' and launcher='none'")
    folds = int(folds)
    ids = select_folds(folds, fold_ids)
    cfg = load_config(config_path, cfg_options)
    try:
        if data_root:
            set_data_root(cfg, data_root)
        if smoke:
            log(make_smoke_config(cfg))
    except ValueError as exc:
        raise KFoldError(str(exc)) from exc
    root = osp.abspath(work_dir_for(cfg, work_dir, config_path)
                       + ("_smoke" if smoke and not work_dir else ""))
    try:
        check_output_dir(root, "work dir")
    except OutputPathError as exc:
        raise KFoldError(str(exc)) from None
    stem = osp.splitext(osp.basename(config_path))[0]

    pending = []
    for fold in ids:
        fold_dir = osp.join(root, f"fold_{fold}")
        result_path = osp.join(fold_dir, FOLD_RESULT)
        text = derive_fold_config(cfg, fold, folds, fold_dir).pretty_text
        if resume and osp.isfile(result_path):
            try:
                load_completed_run(result_path, fold, folds, config_sha1(text),
                                   f"fold {fold}/{folds}")
            except ExperimentError as exc:
                raise KFoldError(str(exc)) from exc
            continue
        pending.append((fold, fold_dir, text))

    def prepare(fold: int, fold_dir: str, text: str) -> str:
        result_path = osp.join(fold_dir, FOLD_RESULT)
        if is_main_process():
            if not resume and osp.isfile(result_path):
                os.remove(result_path)
            atomic_write_text(osp.join(fold_dir, FOLD_CONFIG), text)
        return osp.join(fold_dir, FOLD_CONFIG)

    def check(fold: int, fold_dir: str) -> None:
        result_path = osp.join(fold_dir, FOLD_RESULT)
        if is_main_process() and not osp.isfile(result_path):
            raise KFoldError(f"fold {fold} finished without writing {result_path}")

    def run_one(task) -> None:
        fold, fold_dir, text = task
        log_file = worker_log_file(fold_dir, jobs)
        config_file = prepare(fold, fold_dir, text)
        log(f"fold {fold}/{folds}: running ({isolate}) in {fold_dir}"
            + (f", output in {log_file}" if log_file else ""))
        run_in_subprocess(RunSpec(config_file, fold, folds, f"{stem}_fold{fold}",
                                  resume=resume, launcher=launcher,
                                  num_threads=threads_per_job(jobs), log_file=log_file))
        check(fold, fold_dir)

    errors: Dict[int, str] = {}
    if isolate == "inline":
        for fold, fold_dir, text in pending:
            log(f"fold {fold}/{folds}: running ({isolate}) in {fold_dir}")
            run_fold(prepare(fold, fold_dir, text), fold, folds, resume=resume,
                     launcher=launcher, experiment_name=f"{stem}_fold{fold}")
            check(fold, fold_dir)
    else:
        errors = run_pool(pending, run_one, jobs, lambda task: f"fold {task[0]}/{folds}",
                          name="errkit-kfold")[1]

    results = load_fold_results(root, folds)
    if not is_main_process():
        return summarize_folds(results, folds)
    summary = write_summary(results, osp.join(root, SUMMARY_DIR), folds, title=stem)
    if errors:
        lines = "\n".join(f"  fold {pending[i][0]}, work dir {pending[i][1]}: {message}"
                          for i, message in errors.items())
        raise KFoldError(f"{len(errors)} of {len(pending)} folds failed (the summary of the "
                         f"completed folds is in {osp.join(root, SUMMARY_DIR)}); run again to "
                         f"resume them:\n{lines}", summary=summary)
    return summary
