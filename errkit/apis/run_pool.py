"""Several experiment runs at once, with the CPU threads split between them.

k-fold cross-validation (:mod:`errkit.apis.kfold`) and ablation studies
(:mod:`errkit.apis.ablation`) start their runs through :func:`run_pool`: ``jobs``
runs at a time, each a worker process started from a thread of this one (the
threads only wait on their worker). With more than one job, each worker gets
:func:`threads_per_job` CPU threads and writes its output to the run's
:data:`WORKER_LOG`, so the outputs of parallel runs do not interleave. A run
that fails does not stop the others: its error is returned with the results.
"""

from __future__ import annotations

import logging
import os
import os.path as osp
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Dict, Optional, Sequence, Tuple, TypeVar

from errkit.utils.atomic_io import atomic_write_text

from .experiment import CONFIG_FILE, RESULT_FILE, ExperimentError, RunSpec, log

__all__ = ["WORKER_LOG", "threads_per_job", "worker_log_file", "run_worker", "run_pool"]

#: File in a run's work dir that receives its worker's output when runs share the CPU.
WORKER_LOG = "worker.log"

T = TypeVar("T")
R = TypeVar("R")


def threads_per_job(jobs: int) -> Optional[int]:
    """CPU threads of each worker when ``jobs`` runs share the machine.

    Args:
        jobs (int): Runs at once.

    Returns:
        int or None: ``max(1, os.cpu_count() // jobs)``; None (no cap) for one job.

    Examples:
        >>> threads_per_job(1) is None
        True
    """
    jobs = int(jobs)
    return max(1, (os.cpu_count() or 1) // jobs) if jobs > 1 else None


def worker_log_file(work_dir: str, jobs: int) -> Optional[str]:
    """Where a run's worker writes its output: ``WORK_DIR/worker.log`` when
    several runs go at once, else None (this process's streams).

    Args:
        work_dir (str): The run's work dir.
        jobs (int): Runs at once.

    Returns:
        str or None: The log file.
    """
    return osp.join(work_dir, WORKER_LOG) if int(jobs) > 1 else None


def run_worker(work_dir: str, text: str, fold: int, num_folds: int, name: str, resume: bool,
               jobs: int, runner: Callable[[RunSpec], None], label: str) -> str:
    """Write a run's config into its work dir, then train and test it in a worker.

    Args:
        work_dir (str): The run's work dir (it receives the config, the result
            and, with several jobs, the worker's log).
        text (str): The run's config, as text.
        fold (int): Its test fold.
        num_folds (int): Folds of its split.
        name (str): Its name; the experiment is ``<name>_fold<fold>``.
        resume (bool): Resume an interrupted run; False removes an old result
            first and starts again.
        jobs (int): Runs at once (see :func:`threads_per_job`).
        runner (callable): Starts the worker, e.g.
            :func:`~errkit.apis.experiment.run_in_subprocess`.
        label (str): How the log names the run.

    Returns:
        str: The run's result file.

    Raises:
        ExperimentError: The worker failed, or ended without writing its result.
    """
    result_path = osp.join(work_dir, RESULT_FILE)
    if not resume and osp.isfile(result_path):
        os.remove(result_path)
    config_file = osp.join(work_dir, CONFIG_FILE)
    atomic_write_text(config_file, text)
    log_file = worker_log_file(work_dir, jobs)
    log(f"{label}: running in {work_dir}" + (f", output in {log_file}" if log_file else ""))
    runner(RunSpec(config_file, fold, num_folds, f"{name}_fold{fold}", resume=resume,
                   num_threads=threads_per_job(jobs), log_file=log_file))
    if not osp.isfile(result_path):
        raise ExperimentError(f"the run finished without writing {result_path}")
    return result_path


def run_pool(tasks: Sequence[T], work: Callable[[T], R], jobs: int,
             label: Callable[[T], str],
             name: str = "errkit-runs") -> Tuple[Dict[int, R], Dict[int, str]]:
    """Call ``work(task)`` for every task, ``jobs`` at a time, and collect the outcomes.

    An exception of one task is logged and recorded; the other tasks still run.
    With one job the tasks run one after another in this thread, in order. An
    interrupt (Ctrl-C) starts no further task.

    Args:
        tasks (Sequence): The tasks, in the order they are started.
        work (Callable): Runs one task (typically writes its config and calls
            :func:`~errkit.apis.experiment.run_in_subprocess`) and returns its
            result.
        jobs (int): Tasks at once (at least 1).
        label (Callable): Names a task in log lines (``"fold 3/10"``).
        name (str): Prefix of the pool's thread names. Defaults to ``'errkit-runs'``.

    Returns:
        tuple[dict, dict]: The results and the error messages of the failed
        tasks, both keyed by the task's index in ``tasks``.

    Raises:
        ExperimentError: ``jobs`` is less than 1.

    Examples:
        >>> run_pool([1, 2, 3], lambda x: 6 // x, jobs=2, label=str)
        ({0: 6, 1: 3, 2: 2}, {})
    """
    jobs = int(jobs)
    if jobs < 1:
        raise ExperimentError(f"jobs must be at least 1, got {jobs}")
    results: Dict[int, R] = {}
    errors: Dict[int, str] = {}
    lock = threading.Lock()

    def run(index: int) -> None:
        task = tasks[index]
        try:
            result = work(task)
        except Exception as exc:  # one failed run must not stop the others
            message = str(exc) if isinstance(exc, ExperimentError) \
                else f"{type(exc).__name__}: {exc}"
            log(f"{label(task)} failed: {message}", logging.ERROR)
            with lock:
                errors[index] = message
            return
        with lock:
            results[index] = result

    if jobs == 1 or len(tasks) <= 1:
        for index in range(len(tasks)):
            run(index)
    else:
        pool = ThreadPoolExecutor(max_workers=min(jobs, len(tasks)), thread_name_prefix=name)
        try:
            for future in [pool.submit(run, index) for index in range(len(tasks))]:
                future.result()
        finally:  # on Ctrl-C, start no further task; the running ones end with their workers
            pool.shutdown(wait=True, cancel_futures=True)
    return dict(sorted(results.items())), dict(sorted(errors.items()))
