"""Several runs at once: the pool, and k-fold cross-validation with ``jobs``."""

from __future__ import annotations

import json
import os
import threading
import time

import pytest

from errkit.apis import KFoldError, run_kfold
from errkit.apis import kfold as kfold_module
from errkit.apis.experiment import ExperimentError
from errkit.apis.kfold import FOLD_RESULT
from errkit.apis.run_pool import run_pool, threads_per_job, worker_log_file


def test_threads_are_split_between_jobs(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 16)
    assert [threads_per_job(j) for j in (1, 2, 3, 16, 40)] == [None, 8, 5, 1, 1]
    monkeypatch.setattr(os, "cpu_count", lambda: None)
    assert threads_per_job(2) == 1
    assert worker_log_file("/w/a/fold_0", 1) is None
    assert worker_log_file("/w/a/fold_0", 2) == os.path.join("/w/a/fold_0", "worker.log")


def test_pool_runs_jobs_at_once_and_keeps_going_after_failures():
    lock, active, peak, order = threading.Lock(), [0], [0], []

    def work(task):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
            order.append(task)
        time.sleep(0.15)
        with lock:
            active[0] -= 1
        if task == "b":
            raise ExperimentError("b broke")
        if task == "d":
            raise RuntimeError("d broke")
        return task.upper()

    results, errors = run_pool(list("abcde"), work, jobs=3, label=str)
    assert results == {0: "A", 2: "C", 4: "E"}
    assert errors == {1: "b broke", 3: "RuntimeError: d broke"}
    assert peak[0] == 3

    order.clear()
    peak[0] = 0
    results, errors = run_pool(list("abc"), work, jobs=1, label=str)
    assert order == ["a", "b", "c"] and peak[0] == 1 and list(errors) == [1]
    assert run_pool([], work, jobs=4, label=str) == ({}, {})
    with pytest.raises(ExperimentError, match="jobs must be at least 1"):
        run_pool(["a"], work, jobs=0, label=str)


def test_an_interrupt_starts_no_further_task():
    started = []

    def work(task):
        started.append(task)
        if task == "a":
            raise KeyboardInterrupt
        time.sleep(0.3)

    with pytest.raises(KeyboardInterrupt):
        run_pool(list("abcdef"), work, jobs=2, label=str)
    assert started[:2] in (["a", "b"], ["b", "a"]) and len(started) <= 3


class KFoldWorker:
    """Stands in for the worker process of a fold (bookkeeping only): writes its result."""

    def __init__(self, fail=()):
        self.fail, self.calls = set(fail), []
        self.lock = threading.Lock()

    def __call__(self, spec):
        with self.lock:
            self.calls.append(spec)
        time.sleep(0.1)
        if spec.fold in self.fail:
            raise ExperimentError(f"fold {spec.fold} failed (exit code 3)")
        with open(os.path.join(os.path.dirname(spec.config_file), FOLD_RESULT), "w") as f:
            json.dump({"fold": spec.fold, "num_folds": spec.num_folds,
                       "metrics": {"expr/accuracy": 0.5 + spec.fold / 10}}, f)


def _config(tmp_path):
    path = tmp_path / "tiny.py"
    path.write_text("train_dataloader = dict(dataset=dict(type='Nope'))\n"
                    "test_dataloader = dict(dataset=dict(type='Nope'))\n")
    return str(path)


def test_kfold_jobs_split_threads_and_name_failed_folds(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(os, "cpu_count", lambda: 6)
    worker = KFoldWorker(fail={2})
    monkeypatch.setattr(kfold_module, "run_in_subprocess", worker)
    work = tmp_path / "work"
    with pytest.raises(KFoldError, match=r"1 of 4 folds failed") as info:
        run_kfold(_config(tmp_path), folds=4, work_dir=str(work), jobs=3)
    assert f"fold 2, work dir {work / 'fold_2'}: fold 2 failed (exit code 3)" in str(info.value)
    assert sorted(s.fold for s in worker.calls) == [0, 1, 2, 3]
    assert {s.num_threads for s in worker.calls} == {2}
    assert all(s.log_file == str(work / f"fold_{s.fold}" / "worker.log") for s in worker.calls)
    summary = json.loads((work / "kfold" / "summary.json").read_text())
    assert summary["completed_folds"] == [0, 1, 3] and summary["missing_folds"] == [2]
    assert info.value.summary == summary

    # the rerun runs the failed fold only; one job: no cap, no log file
    worker.fail = set()
    summary = run_kfold(_config(tmp_path), folds=4, work_dir=str(work))
    assert [s.fold for s in worker.calls[4:]] == [2]
    assert worker.calls[4].num_threads is None and worker.calls[4].log_file is None
    assert summary["completed_folds"] == [0, 1, 2, 3]

    # the command prints the summary of the completed folds before the error
    from errkit.cli.kfold import main
    worker.fail = {0}
    with pytest.raises(SystemExit):
        main([_config(tmp_path), "--folds", "4", "--work-dir", str(work), "--jobs", "2",
              "--no-resume", "--fold-ids", "0", "1"])
    out, err = capsys.readouterr()
    assert "| **mean ± std** |" in out and "1 of 2 folds failed" in err


def test_kfold_jobs_need_processes(tmp_path):
    with pytest.raises(KFoldError, match="isolate='process'"):
        run_kfold(_config(tmp_path), folds=2, isolate="inline", jobs=2)
    with pytest.raises(KFoldError, match="launcher='none'"):
        run_kfold(_config(tmp_path), folds=2, launcher="pytorch", jobs=2)
    with pytest.raises(KFoldError, match="jobs must be at least 1"):
        run_kfold(_config(tmp_path), folds=2, jobs=0)
