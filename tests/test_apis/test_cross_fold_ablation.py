"""Ablation studies across folds: every config on the same folds, one table, resumable."""

from __future__ import annotations

import hashlib
import json
import os
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from mmengine.config import Config

from errkit.apis import AblationError, run_ablation, run_kfold
from errkit.apis import ablation as ablation_module
from errkit.apis import experiment as experiment_module
from errkit.apis import kfold as kfold_module
from errkit.apis.cross_fold_ablation import fold_settings
from errkit.apis.experiment import ExperimentError
from errkit.apis.kfold import FOLD_RESULT
from tests.helpers import write_bar_ckplus

REPO = Path(__file__).resolve().parents[2]

# ---------------------------------------------------------------- bookkeeping (no training)

BARE = ("train_dataloader = dict(dataset=dict(type='CKPlusDataset'{seed}))\n"
        "test_dataloader = dict(dataset=dict(type='CKPlusDataset'{seed}))\n")


def _bare(folder: Path, name: str, seed: str = "", extra: str = "") -> str:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.py"
    path.write_text(extra + BARE.format(seed=seed))
    return str(path)


def _accuracy(name: str, fold: int) -> float:
    """A made-up accuracy of each config on each fold."""
    return {"base": 0.5, "errnet": 0.6, "bad": 0.4}.get(name, 0.3) + 0.125 * fold


class FoldWorker:
    """Stands in for the worker process: writes the ``fold_result.json`` a run would.

    ``run_in_subprocess`` is replaced only in tests about bookkeeping (what runs,
    where, how often, with how many threads); the slow test runs the real workers.
    """

    def __init__(self, fail=(), delay=0.0, extra=None):
        self.fail, self.delay, self.extra = set(fail), delay, extra or {}
        self.calls, self.active, self.max_active = [], 0, 0
        self.lock = threading.Lock()

    def __call__(self, spec):
        work_dir = os.path.dirname(spec.config_file)
        name = os.path.basename(os.path.dirname(work_dir))
        with self.lock:
            self.calls.append(dict(name=name, fold=spec.fold, num_folds=spec.num_folds,
                                   resume=spec.resume, num_threads=spec.num_threads,
                                   log_file=spec.log_file, experiment=spec.experiment_name))
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            time.sleep(self.delay)
            if (name, spec.fold) in self.fail or name in self.fail:
                raise ExperimentError(f"fold {spec.fold} failed (exit code 1)")
            metrics = {"expr/accuracy": _accuracy(name, spec.fold), "expr/macro_f1": 0.5}
            metrics.update(self.extra.get(name, {}))
            text = Path(spec.config_file).read_text()
            with open(os.path.join(work_dir, FOLD_RESULT), "w") as f:
                json.dump({"fold": spec.fold, "num_folds": spec.num_folds, "metrics": metrics,
                           "config_sha1": hashlib.sha1(text.encode()).hexdigest(),
                           "wall_s": 2.0, "work_dir": work_dir}, f)
        finally:
            with self.lock:
                self.active -= 1


@pytest.fixture
def fake(monkeypatch):
    def install(*args, module=ablation_module, **kwargs):
        worker = FoldWorker(*args, **kwargs)
        monkeypatch.setattr(module, "run_in_subprocess", worker)
        return worker
    return install


@pytest.fixture
def logged(monkeypatch):
    lines = []
    original = experiment_module.log

    def record(message, *args, **kwargs):
        lines.append(message)
        original(message, *args, **kwargs)

    monkeypatch.setattr(experiment_module, "log", record)
    return lines


def _runs(worker):
    return [(c["name"], c["fold"]) for c in worker.calls]


def test_every_config_runs_every_fold_then_resumes(tmp_path, fake):
    gains = {"removal/psnr_gain_db": 1.5, "removal/ssim_gain": 0.02,
             "expr/rated/accuracy": 0.7}
    worker = fake(extra={"errnet": gains})
    configs = [_bare(tmp_path / "c", "base"), _bare(tmp_path / "c", "errnet")]
    work = tmp_path / "work"
    table = run_ablation(configs, str(work), folds=3)

    # fold by fold, the reference first; one process each, no thread cap, no log file
    assert _runs(worker) == [("base", 0), ("errnet", 0), ("base", 1), ("errnet", 1),
                             ("base", 2), ("errnet", 2)]
    assert all(c["num_folds"] == 3 and c["resume"] and c["num_threads"] is None
               and c["log_file"] is None for c in worker.calls)
    assert worker.calls[3]["experiment"] == "errnet_fold1"  # as run_kfold names it
    fold_cfg = Config.fromfile(str(work / "errnet" / "fold_2" / "fold_config.py"))
    assert (fold_cfg.test_dataloader.dataset.fold, fold_cfg.test_dataloader.dataset.split,
            fold_cfg.train_dataloader.dataset.split) == (2, "test", "train")
    assert fold_cfg.work_dir == str(work / "errnet" / "fold_2")

    base, errnet = table["rows"]
    assert table["reference"] == "base" and table["fold_ids"] == [0, 1, 2]
    for row in (base, errnet):
        accs = [_accuracy(row["name"], i) for i in range(3)]
        assert row["completed_folds"] == [0, 1, 2] and row["ran_folds"] == [0, 1, 2]
        assert row["metrics"]["expr/accuracy"]["mean"] == pytest.approx(np.mean(accs))
        assert row["metrics"]["expr/accuracy"]["std"] == pytest.approx(np.std(accs))
    assert errnet["delta_accuracy"]["mean"] == pytest.approx(0.1)
    assert errnet["delta_accuracy"]["std"] == pytest.approx(0.0, abs=1e-12)
    assert errnet["delta_accuracy"]["wins"] == 3
    psnr = errnet["metrics"]["removal/psnr_gain_db"]
    assert (psnr["mean"], psnr["min"], psnr["positive_folds"]) == (1.5, 1.5, 3)
    assert errnet["metrics"]["expr/rated/accuracy"]["mean"] == pytest.approx(0.7)
    out = work / "ablation"
    assert json.loads((out / "summary.json").read_text()) == json.loads(json.dumps(table))
    md = (out / "summary.md").read_text()
    assert "| errnet | 3/3 | 72.50 ± 10.21 | 50.00 ± 0.00 | 70.00 ± 0.00 | +10.00 ± 0.00 " \
        "| 3/3 | 1.50 ± 0.00 | 1.50 | 3/3 |" in md
    assert len((out / "per_fold.csv").read_text().splitlines()) == 7
    assert (out / "summary.rst").is_file()
    # each config also has its own k-fold summary, as tools/kfold.py writes it
    own = json.loads((work / "errnet" / "kfold" / "summary.json").read_text())
    assert own["completed_folds"] == [0, 1, 2]
    assert own["metrics"]["accuracy"]["mean"] == errnet["metrics"]["expr/accuracy"]["mean"]

    # a second call runs nothing and changes no result
    stamps = {p: p.stat().st_mtime_ns for p in work.glob("*/fold_*/" + FOLD_RESULT)}
    again = run_ablation(configs, str(work), folds=3, jobs=2)
    assert len(worker.calls) == 6 and all(r["ran_folds"] == [] for r in again["rows"])
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps
    assert again["rows"][1]["metrics"] == errnet["metrics"]

    # a lost result: only that run goes again; fold_ids selects, the table covers all
    os.remove(work / "errnet" / "fold_1" / FOLD_RESULT)
    partial = run_ablation(configs, str(work), folds=3, fold_ids=[1, 2])
    assert _runs(worker)[6:] == [("errnet", 1)]
    assert partial["fold_ids"] == [1, 2] and partial["rows"][1]["completed_folds"] == [0, 1, 2]
    run_ablation(configs, str(work), folds=3, fold_ids=[0], resume=False)
    assert [(c["name"], c["fold"], c["resume"]) for c in worker.calls[7:]] == \
        [("base", 0, False), ("errnet", 0, False)]


def test_runs_are_shared_with_kfold(tmp_path, fake, logged):
    configs = [_bare(tmp_path, "base"), _bare(tmp_path, "errnet")]
    work = tmp_path / "work"
    by_kfold = fake(module=kfold_module)
    run_kfold(configs[0], folds=2, work_dir=str(work / "base"))
    assert _runs(by_kfold) == [("base", 0), ("base", 1)]

    worker = fake()
    table = run_ablation(configs, str(work), folds=2)
    assert _runs(worker) == [("errnet", 0), ("errnet", 1)]  # base's folds are kfold's
    assert table["rows"][0]["completed_folds"] == [0, 1] and table["rows"][0]["ran_folds"] == []
    assert not [line for line in logged if "different config" in line]

    summary = run_kfold(configs[1], folds=2, work_dir=str(work / "errnet"))
    assert len(by_kfold.calls) == 2  # the ablation's runs of errnet are complete
    assert summary["metrics"]["accuracy"]["mean"] == \
        table["rows"][1]["metrics"]["expr/accuracy"]["mean"]
    assert not [line for line in logged if "different config" in line]


def test_table_of_kfold_runs_on_different_folds(tmp_path, fake, logged, capsys):
    """Configs cross-validated by tools/kfold.py on different shares of the folds:
    the comparison reads their runs as complete and trains nothing."""
    configs = [_bare(tmp_path, n) for n in ("base", "errnet", "given")]
    work = tmp_path / "work"
    by_kfold = fake(module=kfold_module, extra={
        "errnet": {"expr/rated/accuracy": 0.7},
        "given": {"expr/given_neutral/accuracy": 0.8, "expr/rated/accuracy": 0.6}})
    for config, ids in zip(configs, ([0, 1, 2, 3], [0, 1, 2, 3], [1, 2])):
        run_kfold(config, folds=4, fold_ids=ids, work_dir=str(work / Path(config).stem))
    assert len(by_kfold.calls) == 10

    worker = fake()
    table = run_ablation(configs, str(work), folds=4, train=False)
    assert worker.calls == [] and not [line for line in logged if "different config" in line]
    assert table["not_run"] == [dict(name="given", fold=0), dict(name="given", fold=3)]
    base, errnet, given = table["rows"]
    assert given["completed_folds"] == [1, 2] and given["missing_folds"] == [0, 3]
    assert given["delta_accuracy"]["num_folds"] == 2  # paired over the common folds
    assert given["delta_accuracy"]["mean"] == pytest.approx(-0.2)
    assert errnet["delta_accuracy"]["num_folds"] == 4
    assert given["metrics"]["expr/given_neutral/accuracy"]["mean"] == pytest.approx(0.8)
    md = (work / "ablation" / "summary.md").read_text()
    assert "| Macro F1 (%) | given_neutral accuracy (%) | rated accuracy (%) |" in md
    assert "| given | 2/4 | 48.75 ± 6.25 | 50.00 ± 0.00 | 80.00 ± 0.00 | 60.00 ± 0.00 " \
        "| -20.00 ± 0.00 | 0/2 |" in md
    assert "Missing folds: given: 0, 3." in md

    # folds every config completed: nothing to train either
    run_ablation(configs, str(work), folds=4, fold_ids=[1, 2])
    assert worker.calls == []
    # the command: the same table, no run; --table-only cannot rerun
    from errkit.cli.ablation import main as ablation_main
    ablation_main([*configs, "--folds", "4", "--table-only", "--work-dir", str(work)])
    assert worker.calls == [] and "Missing folds: given: 0, 3." in capsys.readouterr().out
    with pytest.raises(AblationError, match="train=False starts none"):
        run_ablation(configs, str(work), folds=4, train=False, resume=False)
    # a one-fold study's table of what is complete
    one = run_ablation(configs[:2], str(tmp_path / "one"), fold=0, num_folds=4, train=False)
    assert worker.calls == [] and one["rows"] == []


def test_parallel_runs_failures_are_named(tmp_path, fake, monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    worker = fake(fail={("bad", 1)}, delay=0.2)
    configs = [_bare(tmp_path, n) for n in ("base", "bad", "errnet")]
    work = tmp_path / "work"
    with pytest.raises(AblationError, match=r"1 of 6 fold runs failed") as info:
        run_ablation(configs, str(work), folds=2, jobs=4)
    message = str(info.value)
    assert f"bad fold 1 ({configs[1]}), work dir {work / 'bad' / 'fold_1'}" in message
    assert "exit code 1" in message and len(message.splitlines()) == 2
    assert worker.max_active >= 2 and len(worker.calls) == 6
    assert {c["num_threads"] for c in worker.calls} == {2}  # 8 cpus // 4 jobs
    for call in worker.calls:
        assert call["log_file"] == str(work / call["name"] / f"fold_{call['fold']}" /
                                       "worker.log")

    summary = json.loads((work / "ablation" / "summary.json").read_text())
    assert summary == json.loads(json.dumps(info.value.table))
    rows = {r["name"]: r for r in summary["rows"]}
    assert rows["bad"]["completed_folds"] == [0] and rows["bad"]["missing_folds"] == [1]
    assert rows["bad"]["delta_accuracy"]["num_folds"] == 1
    assert rows["errnet"]["completed_folds"] == [0, 1]
    assert [(f["name"], f["fold"], f["work_dir"]) for f in summary["failed"]] == \
        [("bad", 1, str(work / "bad" / "fold_1"))]
    md = (work / "ablation" / "summary.md").read_text()
    assert "| bad | 1/2 |" in md and f"- bad fold 1: see {work / 'bad' / 'fold_1'}" in md

    worker.fail = set()
    table = run_ablation(configs, str(work), folds=2, jobs=4)
    assert _runs(worker)[6:] == [("bad", 1)] and table["failed"] == []
    assert not (work / "ablation" / "summary.md").read_text().count("Failed runs")


def test_configs_on_other_folds_are_refused(tmp_path, fake):
    worker = fake()
    base = _bare(tmp_path, "base")
    zero = _bare(tmp_path, "zero", seed=", split_seed=0")
    odd = _bare(tmp_path, "odd", seed=", split_seed=split_seed", extra="split_seed = 1\n")
    unused = _bare(tmp_path, "unused", extra="split_seed = 2\n")
    work = tmp_path / "work"
    with pytest.raises(AblationError) as info:
        run_ablation([base, zero, odd, unused], str(work), folds=5)
    message = str(info.value)
    assert len(message.splitlines()) == 1
    assert "would not use the same folds" in message and "'base'" in message
    assert f"'odd' ({odd}) has num_folds 5, split_seed 1" in message
    assert f"'unused' ({unused}) has num_folds 5, split_seed 0/2" in message
    assert "'zero'" not in message  # split_seed=0 is the datasets' default
    assert worker.calls == [] and not work.exists()

    cfg = Config(dict(num_folds=4, test_dataloader=dict(dataset=dict(
        type="ConcatDataset", datasets=[dict(type="CKPlusDataset", num_folds=4),
                                        dict(type="Nope", num_folds=4, split_seed=3)]))))
    assert fold_settings(cfg) == {"num_folds": (4,), "split_seed": (0, 3)}


def test_bad_arguments_fail_before_anything_runs(tmp_path, fake):
    worker = fake()
    configs = [_bare(tmp_path, "base"), _bare(tmp_path, "errnet")]
    work = str(tmp_path / "work")
    with pytest.raises(AblationError, match="with folds, choose folds with fold_ids"):
        run_ablation(configs, work, folds=3, fold=1)
    with pytest.raises(AblationError, match="pass folds too"):
        run_ablation(configs, work, fold_ids=[1])
    with pytest.raises(AblationError, match=r"fold ids must lie in \[0, 2\]"):
        run_ablation(configs, work, folds=3, fold_ids=[3])
    with pytest.raises(AblationError, match="at least 2"):
        run_ablation(configs, work, folds=1)
    with pytest.raises(AblationError, match="share the name 'base'"):
        run_ablation([configs[0], configs[0]], work, folds=3)
    broken = tmp_path / "broken.py"
    broken.write_text("test_dataloader = dict(dataset=dict(type='Nope'))\n")
    with pytest.raises(AblationError, match=r"config 'broken' .*train_dataloader"):
        run_ablation([configs[0], str(broken)], work, folds=3)
    assert worker.calls == [] and not (tmp_path / "work").exists()


def test_data_root_and_smoke_reach_every_fold(tmp_path, fake):
    worker = fake()
    configs = [_bare(tmp_path, "base"), _bare(tmp_path, "errnet")]
    work = tmp_path / "work"
    run_ablation(configs, str(work), folds=2, data_root=str(tmp_path / "faces"), smoke=True)
    assert len(worker.calls) == 4
    for name in ("base", "errnet"):
        for fold in range(2):
            cfg = Config.fromfile(str(work / name / f"fold_{fold}" / "fold_config.py"))
            for loader, samples in (("train_dataloader", 32), ("test_dataloader", 16)):
                dataset = cfg[loader].dataset
                assert dataset.data_root == str(tmp_path / "faces")
                assert (dataset.fold, dataset.indices) == (fold, samples)  # a smoke run


def test_cli(tmp_path, fake, capsys):
    from errkit.cli import main as errkit_main
    from errkit.cli.ablation import parse_args
    from errkit.cli.kfold import parse_args as kfold_args

    args = parse_args(["a.py", "b.py", "--folds", "10", "--fold-ids", "0", "3", "--jobs", "4"])
    assert (args.folds, args.fold_ids, args.jobs, args.fold) == (10, [0, 3], 4, None)
    assert kfold_args(["a.py", "--jobs", "3"]).jobs == 3

    worker = fake(fail={"bad"})
    configs = [_bare(tmp_path, "base"), _bare(tmp_path, "bad")]
    with pytest.raises(SystemExit) as info:
        errkit_main(["ablation", *configs, "--folds", "2", "--jobs", "2",
                     "--work-dir", str(tmp_path / "w")])
    assert info.value.code == 2 and len(worker.calls) == 4
    out, err = capsys.readouterr()
    assert "# Comparison over 2 folds" in out and "| base | 2/2 | 56.25 ± 6.25 |" in out
    assert "errkit: error: 2 of 4 fold runs failed" in err
    worker.fail = set()
    errkit_main(["ablation", *configs, "--folds", "2", "--work-dir", str(tmp_path / "w")])
    assert "| bad | 2/2 |" in capsys.readouterr().out


# ---------------------------------------------------------------- end to end


def _tiny_config(folder: Path, name: str, data_root: Path, lr: float) -> str:
    path = folder / f"{name}.py"
    path.write_text(textwrap.dedent(f"""
        _base_ = [
            '{REPO}/configs/_base_/models/timm_classifier.py',
            '{REPO}/configs/_base_/schedules/adam_cls.py',
            '{REPO}/configs/_base_/default_runtime.py',
        ]
        model = dict(model_name='resnet10t', num_classes=7, in_channels=1)
        optim_wrapper = dict(optimizer=dict(lr={lr}))
        pipeline = [dict(type='LoadFaceImages', color_type='grey'), dict(type='PackFERInputs')]
        dataset = dict(type='CKPlusDataset', data_root='{data_root}', num_peak_frames=1,
                       serialize_data=False, pipeline=pipeline)
        train_dataloader = dict(batch_size=16, num_workers=0,
                                sampler=dict(type='DefaultSampler', shuffle=True),
                                collate_fn=dict(type='pseudo_collate'), dataset=dataset)
        test_dataloader = dict(batch_size=32, num_workers=0,
                               sampler=dict(type='DefaultSampler', shuffle=False),
                               collate_fn=dict(type='pseudo_collate'), dataset=dataset)
        test_evaluator = [dict(type='ExpressionMetric')]
        val_dataloader = None
        val_cfg = None
        val_evaluator = None
        custom_hooks = []
        vis_backends = [dict(type='LocalVisBackend')]
        visualizer = dict(type='Visualizer', vis_backends=vis_backends)
        train_cfg = dict(max_epochs=1, val_interval=1)
        default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=1))
        randomness = dict(seed=3, deterministic=True)
        """))
    return str(path)


@pytest.mark.slow
def test_cross_fold_ablation_end_to_end(tmp_path):
    data_root = tmp_path / "ckplus"
    write_bar_ckplus(data_root, subjects=4, size=24)
    names = ("slow_lr", "fast_lr")
    configs = [_tiny_config(tmp_path, "slow_lr", data_root, 1e-4),
               _tiny_config(tmp_path, "fast_lr", data_root, 1e-2)]
    work = tmp_path / "work"
    table = run_ablation(configs, str(work), folds=2, jobs=2)

    results = {(n, i): json.loads((work / n / f"fold_{i}" / FOLD_RESULT).read_text())
               for n in names for i in range(2)}
    for (name, fold), result in results.items():
        assert (result["fold"], result["num_folds"]) == (fold, 2)
        assert (work / name / f"fold_{fold}" / "worker.log").stat().st_size > 0
    # 4 subjects x 3 sequences, each tested once over the two folds
    assert sum(results[("slow_lr", i)]["num_test_samples"] for i in range(2)) == 12
    for row in table["rows"]:
        accs = [results[(row["name"], i)]["metrics"]["expr/accuracy"] for i in range(2)]
        assert row["metrics"]["expr/accuracy"]["mean"] == pytest.approx(np.mean(accs))
        assert row["metrics"]["expr/accuracy"]["std"] == pytest.approx(np.std(accs))
    diffs = [results[("fast_lr", i)]["metrics"]["expr/accuracy"]
             - results[("slow_lr", i)]["metrics"]["expr/accuracy"] for i in range(2)]
    delta = table["rows"][1]["delta_accuracy"]
    assert delta["mean"] == pytest.approx(np.mean(diffs))
    assert delta["wins"] == sum(d > 0 for d in diffs)
    assert table["failed"] == [] and (work / "ablation" / "per_fold.csv").is_file()

    # complete runs are neither rerun by the ablation nor by tools/kfold.py
    listing = {n: sorted(str(p) for p in (work / n).rglob("*")) for n in names}
    stamps = {k: (work / k[0] / f"fold_{k[1]}" / FOLD_RESULT).stat().st_mtime_ns
              for k in results}
    again = run_ablation(configs, str(work), folds=2, jobs=2)
    summary = run_kfold(configs[1], folds=2, work_dir=str(work / "fast_lr"))
    assert all(r["ran_folds"] == [] for r in again["rows"])
    assert {n: sorted(str(p) for p in (work / n).rglob("*")) for n in names} == listing
    assert {k: (work / k[0] / f"fold_{k[1]}" / FOLD_RESULT).stat().st_mtime_ns
            for k in results} == stamps
    assert summary["metrics"]["accuracy"]["mean"] == \
        pytest.approx(table["rows"][1]["metrics"]["expr/accuracy"]["mean"])
