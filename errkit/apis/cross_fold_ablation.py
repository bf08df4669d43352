"""Several configs cross-validated on the same folds and compared in one table.

What :func:`errkit.apis.run_ablation` does when given ``folds``: every config
runs every selected fold, laid out as :func:`~errkit.apis.kfold.run_kfold`
lays out its folds, so ``tools/kfold.py CONFIG --work-dir WORK_DIR/<name>``
and the study share (and resume) the same runs::

    <name>/fold_0/fold_config.py    the derived config of the config's fold 0
    <name>/fold_0/fold_result.json  its test metrics, once the run is complete
    <name>/fold_0/worker.log        the worker's output when several runs go at once
    <name>/kfold/summary.md ...     the config's own k-fold summary
    ablation/summary.json, summary.md, summary.rst, per_fold.csv

The runs go fold by fold (fold 0 of every config first), so an interrupted
study already has paired folds to compare. The table is described in
:mod:`errkit.apis.comparison_table`.
"""

from __future__ import annotations

import inspect
import os.path as osp
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from errkit.registry import DATASETS

from .ablation_configs import AblationError, StudyConfig
from .comparison_table import summarize_comparison, write_comparison_table
from .experiment import (RESULT_FILE, ExperimentError, RunSpec, config_sha1,
                         load_completed_run, log, read_run_result, run_in_subprocess)
from .kfold import SUMMARY_DIR as KFOLD_SUMMARY_DIR
from .kfold import derive_fold_config, load_fold_results, select_folds, write_summary
from .run_pool import run_pool, run_worker

__all__ = ["fold_settings", "run_cross_fold_ablation"]

SUMMARY_DIR = "ablation"
#: The settings that decide which subjects form each fold.
FOLD_KEYS = ("num_folds", "split_seed")
_LOADERS = ("train_dataloader", "val_dataloader", "test_dataloader")


def _leaves(dataset: Any):
    """The dataset configs a (wrapped) dataset config is made of."""
    if not isinstance(dataset, dict):
        return
    if "dataset" not in dataset and "datasets" not in dataset:
        yield dataset
    yield from _leaves(dataset.get("dataset"))
    for inner in dataset.get("datasets") or []:
        yield from _leaves(inner)


def _default_split_seed(dataset_type: Any) -> Any:
    """The ``split_seed`` a dataset class uses when its config gives none."""
    try:
        cls = DATASETS.get(dataset_type) if isinstance(dataset_type, str) else dataset_type
    except Exception:  # an unknown type fails later, when the run builds it
        cls = None
    for klass in inspect.getmro(cls) if inspect.isclass(cls) else ():
        param = inspect.signature(klass.__init__).parameters.get("split_seed")
        if param is not None and param.default is not inspect.Parameter.empty:
            return param.default
    return "default"


def fold_settings(cfg) -> Dict[str, Tuple[Any, ...]]:
    """The values of ``num_folds`` and ``split_seed`` a (fold) config uses.

    Read from the top-level variables and from every dataset of the train,
    val and test dataloaders; a dataset without ``split_seed`` has its class's
    default (``'default'`` when the class is unknown).

    Args:
        cfg (mmengine.config.Config): The config.

    Returns:
        dict[str, tuple]: Per key, the distinct values found, sorted.

    Examples:
        >>> from mmengine.config import Config
        >>> fold_settings(Config(dict(split_seed=1, test_dataloader=dict(
        ...     dataset=dict(type='X', num_folds=5, split_seed=1)))))
        {'num_folds': (5,), 'split_seed': (1,)}
    """
    found: Dict[str, set] = {key: set() for key in FOLD_KEYS}
    keys = set(cfg.keys())
    for key in FOLD_KEYS:
        if key in keys and isinstance(cfg.get(key), int):
            found[key].add(cfg.get(key))
    for loader in _LOADERS:
        node = cfg.get(loader) if loader in keys else None
        for leaf in _leaves(node.get("dataset") if isinstance(node, dict) else None):
            if "num_folds" in leaf:
                found["num_folds"].add(leaf["num_folds"])
            found["split_seed"].add(leaf["split_seed"] if "split_seed" in leaf
                                    else _default_split_seed(leaf.get("type")))
    return {key: tuple(sorted(values, key=str)) for key, values in found.items()}


def _check_same_folds(plan: List[Dict[str, Any]]) -> None:
    """Refuse configs whose fold settings differ from the reference's."""
    def show(settings: Dict[str, Tuple[Any, ...]]) -> str:
        return ", ".join(f"{k} {'/'.join(str(v) for v in values) or 'unset'}"
                         for k, values in settings.items())

    reference = plan[0]
    odd = [item for item in plan[1:] if item["folds"] != reference["folds"]]
    if odd:
        others = "; ".join(f"'{i['name']}' ({i['config']}) has {show(i['folds'])}" for i in odd)
        raise AblationError(
            f"configs would not use the same folds: the reference '{reference['name']}' has "
            f"{show(reference['folds'])}; {others}; give every config the same "
            f"{' and '.join(FOLD_KEYS)}")


def _plan(configs: Sequence[StudyConfig], root: str, folds: int,
          ids: List[int]) -> List[Dict[str, Any]]:
    """Derive every fold config of every config before anything trains."""
    plan = []
    for config in configs:
        work_dir = osp.join(root, config.name)
        runs = {}
        for fold in ids:
            fold_dir = osp.join(work_dir, f"fold_{fold}")
            try:
                fold_cfg = derive_fold_config(config.cfg, fold, folds, fold_dir)
            except ExperimentError as exc:
                raise AblationError(f"config '{config.name}' ({config.path}): {exc}") from exc
            text = fold_cfg.pretty_text
            runs[fold] = dict(name=config.name, config=config.path, fold=fold,
                              num_folds=folds, work_dir=fold_dir, text=text,
                              sha1=config_sha1(text))
        plan.append(dict(name=config.name, config=config.path, work_dir=work_dir, runs=runs,
                         folds=fold_settings(fold_cfg)))
    _check_same_folds(plan)
    return plan


def _label(run: Dict[str, Any]) -> str:
    return f"ablation: '{run['name']}' fold {run['fold']}/{run['num_folds']}"


def _run(run: Dict[str, Any], resume: bool, jobs: int,
         runner: Callable[[RunSpec], None]) -> Dict[str, Any]:
    """Train and test one fold of one config in a worker process; its result."""
    try:
        result_path = run_worker(run["work_dir"], run["text"], run["fold"], run["num_folds"],
                                 run["name"], resume, jobs, runner, _label(run))
    except ExperimentError as exc:
        raise AblationError(str(exc)) from exc
    return read_run_result(result_path, run["fold"], run["num_folds"])


def _collect(item: Dict[str, Any], folds: int) -> List[Dict[str, Any]]:
    """Every completed fold of a config (also those run before, or by ``tools/kfold.py``)."""
    try:
        results = load_fold_results(item["work_dir"], folds)
        if results:
            write_summary(results, osp.join(item["work_dir"], KFOLD_SUMMARY_DIR), folds,
                          title=item["name"])
    except ExperimentError as exc:
        raise AblationError(f"config '{item['name']}' ({item['config']}): {exc}") from exc
    return results


def run_cross_fold_ablation(configs: Sequence[StudyConfig], work_dir: str, folds: int,
                            fold_ids: Optional[Sequence[int]] = None, jobs: int = 1,
                            resume: bool = True,
                            runner: Callable[[RunSpec], None] = run_in_subprocess,
                            train: bool = True) -> Dict[str, Any]:
    """Cross-validate every config on the same folds and write the comparison table.

    Every fold config is derived, and the configs checked to use the same
    folds, before any training starts. A failed run does not stop the others:
    the table of the completed runs is written, then one error names every
    failed run and its work dir.

    Args:
        configs (Sequence[StudyConfig]): The loaded configs (see
            :func:`~errkit.apis.ablation_configs.load_study_configs`); the
            first is the reference.
        work_dir (str): Root of the configs' work dirs and of ``ablation/``.
        folds (int): Number of folds (at least 2).
        fold_ids (Sequence[int], optional): Run only these folds; the table
            covers every completed fold. Defaults to None (all).
        jobs (int): Fold runs at once, of any config and fold. With more than
            one, each worker gets ``max(1, os.cpu_count() // jobs)`` CPU
            threads and writes its output to its run's ``worker.log``.
            Defaults to 1.
        resume (bool): Skip runs that have a ``fold_result.json`` and resume an
            interrupted one from its last checkpoint. False reruns every
            selected run from the start. Defaults to True.
        runner (Callable): Starts one run and returns once it has ended.
            Defaults to :func:`~errkit.apis.experiment.run_in_subprocess`.
        train (bool): Start the selected runs that have no result. False
            starts none and writes the table of the runs already complete.
            Defaults to True.

    Returns:
        dict: The table (see :func:`~errkit.apis.comparison_table.summarize_comparison`)
        with ``work_dir``, ``fold_ids`` (the folds selected), ``not_run`` (the
        selected runs without a result that ``train=False`` left, as ``name``
        and ``fold``) and ``written_at``;
        ``failed`` lists ``name``, ``config``, ``fold``, ``work_dir`` and
        ``error`` of each failed run.

    Raises:
        AblationError: Bad arguments, a config whose folds cannot be derived,
            configs that would not use the same folds (different
            ``num_folds`` or ``split_seed``), an unreadable result, or, after
            the table is written, every run that failed.
    """
    try:
        ids = select_folds(folds, fold_ids)
    except ExperimentError as exc:
        raise AblationError(str(exc)) from exc
    folds, jobs = int(folds), int(jobs)
    if jobs < 1:
        raise AblationError(f"jobs must be at least 1, got {jobs}")
    if not train and not resume:
        raise AblationError("resume=False reruns runs, train=False starts none: pass one")
    root = osp.abspath(work_dir)
    plan = _plan(configs, root, folds, ids)

    pending, ran = [], {item["name"]: [] for item in plan}
    for fold in ids:  # fold by fold: every config's fold 0 first
        for item in plan:
            run = item["runs"][fold]
            result_path = osp.join(run["work_dir"], RESULT_FILE)
            if resume and osp.isfile(result_path):
                try:
                    load_completed_run(result_path, fold, run["num_folds"], run["sha1"],
                                       _label(run))
                except ExperimentError as exc:
                    raise AblationError(f"config '{run['name']}' ({run['config']}): {exc}") \
                        from exc
            else:
                pending.append(run)
    not_run = [] if train else [dict(name=run["name"], fold=run["fold"]) for run in pending]
    if not_run:
        log(f"ablation: {len(not_run)} selected runs have no result and are not started: "
            + ", ".join(f"'{r['name']}' fold {r['fold']}" for r in not_run))
        pending = []

    results, errors = run_pool(pending, lambda run: _run(run, resume, jobs, runner), jobs,
                               _label, name="errkit-ablation")
    for index in results:
        ran[pending[index]["name"]].append(pending[index]["fold"])
    failed = [dict(name=pending[i]["name"], config=pending[i]["config"],
                   fold=pending[i]["fold"], work_dir=pending[i]["work_dir"], error=message)
              for i, message in errors.items()]
    entries = [dict(name=item["name"], config=item["config"], work_dir=item["work_dir"],
                    results=_collect(item, folds), ran_folds=ran[item["name"]])
               for item in plan]
    table = summarize_comparison(entries, folds, failed)
    table.update(work_dir=root, fold_ids=ids, not_run=not_run, written_at=time.strftime("%Y-%m-%dT%H:%M:%S"))
    out_dir = osp.join(root, SUMMARY_DIR)
    write_comparison_table(table, out_dir)
    if failed:
        lines = "\n".join(f"  {f['name']} fold {f['fold']} ({f['config']}), work dir "
                          f"{f['work_dir']}: {f['error']}" for f in failed)
        raise AblationError(f"{len(failed)} of {len(pending)} fold runs failed (the table of "
                            f"the completed runs is in {out_dir}); run again to retry them:\n"
                            f"{lines}", table=table)
    return table
