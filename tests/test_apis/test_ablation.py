"""Ablation studies: one row per config, resumable, failures reported by name."""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from pathlib import Path

import pytest
from mmengine.config import Config

from errkit.apis import AblationError, format_ablation_markdown, run_ablation
from errkit.apis import ablation as ablation_module
from errkit.apis.experiment import ExperimentError
from errkit.apis.kfold import FOLD_RESULT


# ---------------------------------------------------------------- table logic (no training)

BARE = ("train_dataloader = dict(dataset=dict(type='Nope'))\n"
        "test_dataloader = dict(dataset=dict(type='Nope'))\n")


def _bare(folder: Path, name: str, extra: str = "fold = 1\nnum_folds = 4\n") -> str:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.py"
    path.write_text(BARE + extra)
    return str(path)


class FakeWorker:
    """Stands in for the worker process: writes the ``fold_result.json`` a run would."""

    def __init__(self, metrics, fail=(), delay=0.0):
        self.metrics, self.fail, self.delay = metrics, set(fail), delay
        self.calls, self.active, self.max_active = [], 0, 0
        self.lock = threading.Lock()

    def __call__(self, spec):
        config_file, fold, num_folds = spec.config_file, spec.fold, spec.num_folds
        resume, num_threads, log_file = spec.resume, spec.num_threads, spec.log_file
        work_dir = os.path.dirname(config_file)
        name = os.path.basename(work_dir)
        with self.lock:
            self.calls.append(dict(name=name, fold=fold, num_folds=num_folds, resume=resume,
                                   num_threads=num_threads, log_file=log_file))
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            time.sleep(self.delay)
            if name in self.fail:
                raise ExperimentError(f"fold {fold} failed (exit code 1)")
            text = Path(config_file).read_text()
            with open(os.path.join(work_dir, FOLD_RESULT), "w") as f:
                json.dump({"fold": fold, "num_folds": num_folds, "metrics": self.metrics[name],
                           "config_sha1": hashlib.sha1(text.encode()).hexdigest(),
                           "wall_s": 2.5}, f)
        finally:
            with self.lock:
                self.active -= 1


@pytest.fixture
def fake(monkeypatch):
    def install(*args, **kwargs):
        worker = FakeWorker(*args, **kwargs)
        monkeypatch.setattr(ablation_module, "run_in_subprocess", worker)
        return worker
    return install


def test_rows_in_order_with_delta_and_resume(tmp_path, fake):
    worker = fake({"base": {"expr/accuracy": 0.5, "expr/macro_f1": 0.4},
                   "full": {"expr/accuracy": 0.625, "expr/macro_f1": 0.6,
                            "removal/psnr_gain_db": 1.5, "removal/ssim_gain": 0.125},
                   "plain": {"expr/accuracy": 0.25, "expr/macro_f1": float("nan")}})
    configs = [_bare(tmp_path / "c", "base"), _bare(tmp_path / "c" / "x", "full"),
               _bare(tmp_path / "c", "plain")]
    work = tmp_path / "work"
    table = run_ablation(configs, str(work))
    assert [r["name"] for r in table["rows"]] == ["base", "full", "plain"]
    assert [c["name"] for c in worker.calls] == ["base", "full", "plain"]
    assert all(c["num_threads"] is None and c["log_file"] is None for c in worker.calls)
    base, full, plain = table["rows"]
    assert (base["config"], base["fold"], base["num_folds"]) == (configs[0], 1, 4)
    assert base["delta_accuracy"] == 0.0 and base["psnr_gain_db"] is None
    assert full["delta_accuracy"] == pytest.approx(0.125)
    assert (full["psnr_gain_db"], full["ssim_gain"]) == (1.5, 0.125)
    assert plain["delta_accuracy"] == pytest.approx(-0.25) and plain["macro_f1"] is None
    assert base["wall_s"] == 2.5 and not base["skipped"] and table["failed"] == []
    fold_cfg = Config.fromfile(str(work / "full" / "fold_config.py"))
    assert fold_cfg.test_dataloader.dataset.split == "test"
    assert fold_cfg.work_dir == str(work / "full")
    out = work / "ablation"
    assert json.loads((out / "summary.json").read_text())["rows"] == \
        json.loads(json.dumps(table["rows"]))
    text = (out / "summary.md").read_text()
    assert text == format_ablation_markdown(table)
    assert "# Ablation: fold 1 of 4" in text
    assert "| base | 50.0 | 40.0 | +0.0 | - | - | 2 |" in text
    assert "| full | 62.5 | 60.0 | +12.5 | 1.50 | 0.125 | 2 |" in text
    assert "| plain | 25.0 | - | -25.0 | - | - | 2 |" in text

    # a second call trains nothing; a changed config is warned about, its result kept
    stamp = (work / "full" / FOLD_RESULT).stat().st_mtime_ns
    Path(configs[1]).write_text(BARE + "fold = 1\nnum_folds = 4\nlr = 3\n")
    again = run_ablation(configs, str(work))
    assert len(worker.calls) == 3 and all(r["skipped"] for r in again["rows"])
    assert (work / "full" / FOLD_RESULT).stat().st_mtime_ns == stamp
    assert [r["accuracy"] for r in again["rows"]] == [0.5, 0.625, 0.25]

    # resume=False reruns everything from scratch
    run_ablation(configs[:1], str(work), resume=False)
    assert worker.calls[-1] == dict(name="base", fold=1, num_folds=4, resume=False,
                                    num_threads=None, log_file=None)


def test_parallel_jobs_share_threads_and_failures_are_named(tmp_path, fake, monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    worker = fake({"a": {"expr/accuracy": 0.5}, "c": {"expr/accuracy": 0.75}},
                  fail={"b"}, delay=0.3)
    configs = [_bare(tmp_path, n) for n in ("a", "b", "c")]
    work = tmp_path / "work"
    with pytest.raises(AblationError, match=r"1 of 3 configs failed") as info:
        run_ablation(configs, str(work), fold=0, num_folds=2, jobs=3)
    message = str(info.value)
    assert f"b ({configs[1]}), work dir {work / 'b'}" in message and "exit code 1" in message
    assert worker.max_active == 3
    assert {c["num_threads"] for c in worker.calls} == {2}  # 8 cpus // 3 jobs
    assert all(c["log_file"].endswith(os.path.join(c["name"], "worker.log"))
               for c in worker.calls)
    assert {(c["fold"], c["num_folds"]) for c in worker.calls} == {(0, 2)}
    summary = json.loads((work / "ablation" / "summary.json").read_text())
    assert [r["name"] for r in summary["rows"]] == ["a", "c"]
    assert summary["rows"][1]["delta_accuracy"] == pytest.approx(0.25)
    assert [(f["name"], f["work_dir"]) for f in summary["failed"]] == [("b", str(work / "b"))]
    assert info.value.table["rows"] == summary["rows"]
    assert "- b (" in (work / "ablation" / "summary.md").read_text()

    # the reference failed: no deltas
    worker.fail = {"a"}
    with pytest.raises(AblationError, match="configs failed"):
        run_ablation(configs, str(work), fold=0, num_folds=2, resume=False)
    summary = json.loads((work / "ablation" / "summary.json").read_text())
    assert summary["reference"] == "a"
    assert [(r["name"], r["delta_accuracy"]) for r in summary["rows"]] == [("c", None)]


def test_configuration_errors_name_the_config(tmp_path, fake):
    worker = fake({})
    one, two = _bare(tmp_path / "one", "same"), _bare(tmp_path / "two", "same")
    with pytest.raises(AblationError, match=f"{one} and {two} share the name 'same'"):
        run_ablation([one, two], str(tmp_path / "work"))
    nofold = _bare(tmp_path, "nofold", extra="num_folds = 5\n")
    with pytest.raises(AblationError, match=r"'nofold' .* no top-level 'fold'.*--fold"):
        run_ablation([_bare(tmp_path, "ok"), nofold], str(tmp_path / "work"))
    with pytest.raises(AblationError, match=r"'nofold'.*outside"):
        run_ablation([nofold], str(tmp_path / "work"), fold=7)
    with pytest.raises(AblationError, match="'missing'"):
        run_ablation([str(tmp_path / "missing.py")], str(tmp_path / "work"))
    with pytest.raises(AblationError, match="jobs"):
        run_ablation([one], str(tmp_path / "work"), jobs=0)
    with pytest.raises(AblationError, match="no configs"):
        run_ablation([], str(tmp_path / "work"))
    assert worker.calls == [] and not (tmp_path / "work").exists()


def test_format_marks_missing_values_and_mixed_folds():
    table = {"reference": "a", "rows": [
        {"name": "a", "config": "a.py", "fold": 0, "num_folds": 5, "accuracy": 0.8,
         "delta_accuracy": 0.0},
        {"name": "b", "config": "b.py", "fold": 1, "num_folds": 5, "accuracy": 0.79949,
         "delta_accuracy": -0.00051, "psnr_gain_db": -0.126, "wall_s": 61.4}]}
    text = format_ablation_markdown(table)
    assert text.startswith("# Ablation\n")
    assert "| a (fold 0 of 5) | 80.0 | - | +0.0 | - | - | - | a.py |" in text
    assert "| b (fold 1 of 5) | 79.9 | - | -0.1 | -0.13 | - | 61 | b.py |" in text


def test_cli(tmp_path, fake, capsys):
    from errkit.cli import SUBCOMMANDS
    from errkit.cli import main as errkit_main
    from errkit.cli.ablation import parse_args

    args = parse_args(["a.py", "b.py", "--fold", "2", "--num-folds", "5", "--jobs", "2",
                       "--no-resume", "--cfg-options", "train_cfg.max_epochs=1"])
    assert (args.configs, args.fold, args.num_folds, args.jobs, args.no_resume) == \
        (["a.py", "b.py"], 2, 5, 2, True)
    assert args.work_dir == "work_dirs/ablation" and args.cfg_options == {
        "train_cfg.max_epochs": 1}
    assert SUBCOMMANDS["ablation"] == "errkit.cli.ablation"

    fake({"a": {"expr/accuracy": 0.5}}, fail={"b"})
    configs = [_bare(tmp_path, "a"), _bare(tmp_path, "b")]
    with pytest.raises(SystemExit) as info:
        errkit_main(["ablation", *configs, "--work-dir", str(tmp_path / "w")])
    assert info.value.code == 2
    out, err = capsys.readouterr()
    assert "| a | 50.0 |" in out and "errkit: error: 1 of 2 configs failed" in err
    with pytest.raises(SystemExit):
        errkit_main(["ablation", configs[0], configs[0]])
    assert "share the name 'a'" in capsys.readouterr().err


# ---------------------------------------------------------------- end to end


def _tiny_config(run_config, data_root, name: str, model: str = "TimmClassifier",
                 lr: float = 1e-3) -> str:
    """A classifier run on fold 0 of 2, its learning rate ``lr``."""
    return str(run_config(data_root, name=f"{name}.py", folds=None, num_peak_frames=1,
                          model_options=dict(type=model), batch_size=16, val_batch_size=32,
                          local_vis=True, seed=3, deterministic=True, fold=0, num_folds=2,
                          optim_wrapper=dict(optimizer=dict(lr=lr))))


@pytest.mark.slow
def test_ablation_end_to_end(tmp_path, bar_ckplus, run_config):
    data_root = bar_ckplus(subjects=4)
    configs = [_tiny_config(run_config, data_root, "slow_lr", lr=1e-4),
               _tiny_config(run_config, data_root, "broken", model="NoSuchModel"),
               _tiny_config(run_config, data_root, "fast_lr", lr=1e-2)]
    work = tmp_path / "work"
    with pytest.raises(AblationError, match=r"1 of 3 configs failed") as info:
        run_ablation(configs, str(work), jobs=3)
    assert f"broken ({configs[1]}), work dir {work / 'broken'}" in str(info.value)
    assert "NoSuchModel" in str(info.value)  # the exception line of its output
    assert "NoSuchModel" in (work / "broken" / "worker.log").read_text()
    assert not (work / "broken" / FOLD_RESULT).exists()

    summary = json.loads((work / "ablation" / "summary.json").read_text())
    rows = summary["rows"]
    assert [r["name"] for r in rows] == ["slow_lr", "fast_lr"]
    results = [json.loads((work / n / FOLD_RESULT).read_text()) for n in ("slow_lr", "fast_lr")]
    for row, result in zip(rows, results):
        assert (result["fold"], result["num_folds"]) == (0, 2)
        assert row["accuracy"] == result["metrics"]["expr/accuracy"]
        assert row["macro_f1"] == result["metrics"]["expr/macro_f1"]
        assert row["psnr_gain_db"] is None and row["ssim_gain"] is None
    assert rows[0]["delta_accuracy"] == 0.0
    assert rows[1]["delta_accuracy"] == pytest.approx(rows[1]["accuracy"] - rows[0]["accuracy"])
    assert "- broken (" in (work / "ablation" / "summary.md").read_text()

    # completed configs are skipped: nothing is retrained or rewritten
    stamps = {n: (work / n / FOLD_RESULT).stat().st_mtime_ns for n in ("slow_lr", "fast_lr")}
    listing = {n: sorted(os.listdir(work / n)) for n in stamps}
    table = run_ablation([configs[0], configs[2]], str(work), jobs=2)
    assert all(r["skipped"] for r in table["rows"]) and table["failed"] == []
    for name, stamp in stamps.items():
        assert (work / name / FOLD_RESULT).stat().st_mtime_ns == stamp
        assert sorted(os.listdir(work / name)) == listing[name]
    assert [r["accuracy"] for r in table["rows"]] == [r["accuracy"] for r in rows]
