"""K-fold cross-validation: fold configs, summaries, and an end-to-end resumable run."""

from __future__ import annotations

import json
import os
import time

import numpy as np
import pytest
from mmengine.config import Config
from PIL import Image

from errkit.apis.kfold import (FOLD_RESULT, KFoldError, derive_fold_config, format_summary_markdown,
                               load_fold_results, run_kfold, set_dataset_fold, summarize_folds,
                               write_summary)
from tests.helpers import REPO_ROOT

CLASSES = ["anger", "contempt", "disgust", "fear", "happy", "sadness", "surprise"]


def _leaves(dataset):
    if "dataset" in dataset:
        yield from _leaves(dataset["dataset"])
    for item in dataset.get("datasets", []):
        yield from _leaves(item)
    if "dataset" not in dataset and "datasets" not in dataset:
        yield dataset


# ---------------------------------------------------------------- fold configs


def test_derive_fold_config_sets_every_dataloader():
    cfg = Config.fromfile(str(REPO_ROOT / "configs/_base_/datasets/ckplus.py"))
    fold_cfg = derive_fold_config(cfg, 3, 7, "/tmp/wd/fold_3")
    expected = {"train_dataloader": "train", "val_dataloader": "test", "test_dataloader": "test"}
    for key, split in expected.items():
        ds = fold_cfg[key]["dataset"]
        assert (ds["fold"], ds["num_folds"], ds["split"]) == (3, 7, split), key
    assert fold_cfg.fold == 3 and fold_cfg.num_folds == 7
    assert fold_cfg.work_dir == "/tmp/wd/fold_3"
    # the loaded config is untouched
    assert cfg.train_dataloader.dataset.fold == 0 and cfg.num_folds == 10
    assert "work_dir" not in cfg.keys()


def test_derive_fold_config_enters_dataset_wrappers():
    leaf = dict(type="CKPlusDataset", data_root="a", fold=0, num_folds=10, split="all")
    cfg = Config(dict(
        train_dataloader=dict(dataset=dict(type="RepeatDataset", times=3, dataset=dict(
            type="ConcatDataset", datasets=[dict(leaf), dict(leaf, data_root="b")]))),
        val_dataloader=dict(dataset=dict(type="ConcatDataset",
                                         datasets=[dict(leaf), dict(leaf, type="MMIDataset")])),
        test_dataloader=dict(dataset=dict(leaf))))
    fold_cfg = derive_fold_config(cfg, 4, 5, "wd")
    train = fold_cfg.train_dataloader.dataset
    assert "fold" not in train and "fold" not in train.dataset  # wrappers untouched
    for key, split, count in (("train_dataloader", "train", 2), ("val_dataloader", "test", 2),
                              ("test_dataloader", "test", 1)):
        leaves = list(_leaves(fold_cfg[key]["dataset"]))
        assert len(leaves) == count
        assert all((d["fold"], d["num_folds"], d["split"]) == (4, 5, split) for d in leaves)
    assert [d["data_root"] for d in _leaves(train)] == ["a", "b"]


def test_derive_fold_config_errors():
    good = dict(train_dataloader=dict(dataset=dict(type="X")),
                test_dataloader=dict(dataset=dict(type="X")))
    derive_fold_config(Config(good), 0, 2, "wd")  # no val_dataloader is fine
    with pytest.raises(KFoldError, match="test_dataloader"):
        derive_fold_config(Config(dict(train_dataloader=good["train_dataloader"])), 0, 2, "wd")
    with pytest.raises(KFoldError, match="outside"):
        derive_fold_config(Config(good), 2, 2, "wd")
    with pytest.raises(KFoldError, match="at least 2"):
        derive_fold_config(Config(good), 0, 1, "wd")
    with pytest.raises(KFoldError, match=r"dataset\.datasets\[1\]"):
        set_dataset_fold(dict(type="ConcatDataset", datasets=[dict(type="X"), "oops"]),
                         0, 2, "train")


def test_run_kfold_rejects_bad_arguments():
    with pytest.raises(KFoldError, match="isolate"):
        run_kfold("missing.py", isolate="thread")
    with pytest.raises(KFoldError, match="fold ids"):
        run_kfold("missing.py", folds=3, fold_ids=[1, 3])


# ---------------------------------------------------------------- summaries


def _result(fold, acc, f1, cm, psnr=None, ssim=None, classes=("a", "b")):
    metrics = {"expr/accuracy": acc, "expr/macro_f1": f1, "expr/confusion_matrix": cm}
    if psnr is not None:
        metrics["removal/psnr_gain_db"] = psnr
    if ssim is not None:
        metrics["removal/ssim_gain"] = ssim
    return {"fold": fold, "num_folds": 4, "metrics": metrics, "classes": list(classes)}


def test_summarize_folds_mean_std_and_confusion():
    results = [_result(2, 0.5, 0.4, [[1, 1], [1, 1]], psnr=2.0),
               _result(0, 1.0, 1.0, [[3, 0], [0, 1]], psnr=4.0),
               _result(1, 0.75, 0.7, [[2, 1], [0, 1]])]
    s = summarize_folds(results, num_folds=4)
    assert s["completed_folds"] == [0, 1, 2] and s["missing_folds"] == [3]
    assert [row["fold"] for row in s["per_fold"]] == [0, 1, 2]
    acc = s["metrics"]["accuracy"]
    assert acc["mean"] == pytest.approx(0.75)
    assert acc["std"] == pytest.approx(np.std([1.0, 0.75, 0.5]))
    assert acc["num_folds"] == 3
    psnr = s["metrics"]["psnr_gain_db"]  # only two folds have it
    assert (psnr["mean"], psnr["std"], psnr["num_folds"]) == (3.0, 1.0, 2)
    assert s["per_fold"][1]["psnr_gain_db"] is None
    assert s["metrics"]["ssim_gain"] == {"key": "removal/ssim_gain", "mean": None, "std": None,
                                         "num_folds": 0}
    assert s["confusion_matrix"] == [[6, 2], [1, 3]]
    assert s["classes"] == ["a", "b"] and s["num_samples"] == 12
    assert s["pooled_accuracy"] == pytest.approx(9 / 12)


def test_summarize_folds_without_expression_metrics():
    s = summarize_folds([{"fold": 0, "metrics": {"removal/psnr_gain_db": 1.5}}], num_folds=2)
    assert s["metrics"]["accuracy"]["mean"] is None
    assert s["confusion_matrix"] is None and s["pooled_accuracy"] is None
    text = format_summary_markdown(s, "plain")
    assert "| 0 | n/a | n/a | 1.50 | n/a |" in text
    assert "missing: 1" in text and "Pooled accuracy: n/a" in text


def test_summarize_folds_rejects_inconsistent_folds():
    with pytest.raises(KFoldError, match="fold 1"):
        summarize_folds([_result(0, 1, 1, [[1, 0], [0, 1]]),
                         _result(1, 1, 1, [[1, 0, 0], [0, 1, 0], [0, 0, 1]])])
    with pytest.raises(KFoldError, match="classes"):
        summarize_folds([_result(0, 1, 1, [[1, 0], [0, 1]]),
                         _result(1, 1, 1, [[1, 0], [0, 1]], classes=("a", "c"))])


def test_write_summary_files(tmp_path):
    results = [_result(0, 1.0, 1.0, [[3, 0], [0, 1]], psnr=4.0),
               _result(1, 0.5, 0.4, [[1, 1], [1, 1]], psnr=2.0)]
    out = tmp_path / "kfold"
    summary = write_summary(results, str(out), num_folds=2, title="tiny")
    assert json.loads((out / "summary.json").read_text()) == json.loads(json.dumps(summary))
    text = (out / "summary.md").read_text()
    assert "# 2-fold cross-validation: tiny" in text
    assert "| **mean ± std** | 75.00 ± 25.00 | 70.00 ± 30.00 | 3.00 ± 1.00 | n/a |" in text
    assert "| a | 4 | 1 |" in text and "![confusion matrix](confusion_matrix.png)" in text
    with Image.open(out / "confusion_matrix.png") as png:
        assert png.format == "PNG" and min(png.size) > 200
        pixels = np.asarray(png.convert("RGB"))
    assert pixels.std() > 10  # something was drawn
    assert not [p for p in os.listdir(out) if p.endswith(".tmp")]

    bare = tmp_path / "bare"
    write_summary([{"fold": 0, "num_folds": 2, "metrics": {}}], str(bare), num_folds=2)
    assert not (bare / "confusion_matrix.png").exists()
    assert "n/a" in (bare / "summary.md").read_text()


def test_load_fold_results_checks_fold_numbers(tmp_path):
    (tmp_path / "fold_1").mkdir()
    (tmp_path / "fold_1" / FOLD_RESULT).write_text(json.dumps(
        {"fold": 1, "num_folds": 5, "metrics": {}}))
    with pytest.raises(KFoldError, match="fold 1 of 5, expected fold 1 of 3"):
        load_fold_results(str(tmp_path), 3)
    assert [r["fold"] for r in load_fold_results(str(tmp_path), 5)] == [1]


def test_run_kfold_skips_completed_folds(tmp_path):
    cfg = tmp_path / "never_built.py"
    cfg.write_text("train_dataloader = dict(dataset=dict(type='Nope'))\n"
                   "test_dataloader = dict(dataset=dict(type='Nope'))\n")
    for fold in range(2):
        (tmp_path / "wd" / f"fold_{fold}").mkdir(parents=True)
        (tmp_path / "wd" / f"fold_{fold}" / FOLD_RESULT).write_text(json.dumps(
            _result(fold, 0.5 + fold / 4, 0.5, [[1, 0], [0, 1]]) | {"num_folds": 2}))
    summary = run_kfold(str(cfg), folds=2, work_dir=str(tmp_path / "wd"), isolate="inline")
    assert summary["metrics"]["accuracy"]["mean"] == pytest.approx(0.625)
    assert (tmp_path / "wd" / "kfold" / "summary.md").is_file()
    assert not (tmp_path / "wd" / "fold_0" / "fold_config.py").exists()  # nothing ran


def test_cli_parses_flags():
    from errkit.cli.kfold import parse_args

    args = parse_args(["cfg.py", "--folds", "5", "--fold-ids", "0", "3", "--inline",
                       "--no-resume", "--cfg-options", "train_cfg.max_epochs=1",
                       "--disable-plugin", "x"])
    assert (args.folds, args.fold_ids, args.inline, args.no_resume) == (5, [0, 3], True, True)
    assert args.cfg_options == {"train_cfg.max_epochs": 1} and args.disable_plugin == ["x"]


# ---------------------------------------------------------------- end to end


@pytest.mark.slow
def test_kfold_end_to_end_resumable(tmp_path, bar_ckplus, run_config):
    # a classifier on 10 subjects with 3 sequences each; the training set is wrapped
    cfg = str(run_config(bar_ckplus(), name="tiny_kfold.py", folds=None, repeat=1,
                         batch_size=16, val_batch_size=32, seed=3, deterministic=True))
    work = tmp_path / "work"

    summary = run_kfold(cfg, folds=3, work_dir=str(work), isolate="inline")
    results = [json.loads((work / f"fold_{i}" / FOLD_RESULT).read_text()) for i in range(3)]
    for i, result in enumerate(results):
        assert result["fold"] == i and result["resumed_from"] is None
        assert (work / f"fold_{i}" / "epoch_1.pth").is_file()
        assert result["classes"] == CLASSES
    # every one of the 10 x 3 x 2 peak frames is tested exactly once
    assert sum(r["num_test_samples"] for r in results) == 60
    assert summary["num_samples"] == 60 and summary["completed_folds"] == [0, 1, 2]
    accs = [r["metrics"]["expr/accuracy"] for r in results]
    assert summary["metrics"]["accuracy"]["mean"] == pytest.approx(np.mean(accs))
    assert summary["metrics"]["accuracy"]["std"] == pytest.approx(np.std(accs))
    assert summary["metrics"]["psnr_gain_db"]["mean"] is None  # a plain classifier
    expected = np.sum([r["metrics"]["expr/confusion_matrix"] for r in results], axis=0)
    assert summary["confusion_matrix"] == expected.tolist()
    out = work / "kfold"
    assert json.loads((out / "summary.json").read_text())["confusion_matrix"] == expected.tolist()
    text = (out / "summary.md").read_text()
    assert "| **mean ± std** |" in text and "n/a" in text and "surprise" in text
    assert (out / "confusion_matrix.png").stat().st_size > 1000
    fold_cfg = Config.fromfile(str(work / "fold_2" / "fold_config.py"))
    assert fold_cfg.train_dataloader.dataset.dataset.split == "train"
    assert fold_cfg.test_dataloader.dataset.fold == 2

    # fold 1 lost its result: a rerun (one process per fold this time) runs fold 1
    # only, resuming from its finished checkpoint, and rewrites the summary
    stamps = {i: (work / f"fold_{i}" / FOLD_RESULT).stat().st_mtime_ns for i in (0, 2)}
    logs_before = {i: sorted(p.name for p in (work / f"fold_{i}").iterdir()) for i in range(3)}
    os.remove(work / "fold_1" / FOLD_RESULT)
    time.sleep(0.05)
    summary2 = run_kfold(cfg, folds=3, work_dir=str(work), isolate="process")
    for i in (0, 2):
        assert (work / f"fold_{i}" / FOLD_RESULT).stat().st_mtime_ns == stamps[i]
        assert sorted(p.name for p in (work / f"fold_{i}").iterdir()) == logs_before[i]
    rerun = json.loads((work / "fold_1" / FOLD_RESULT).read_text())
    assert rerun["resumed_from"].endswith("epoch_1.pth")
    assert rerun["metrics"]["expr/accuracy"] == results[1]["metrics"]["expr/accuracy"]
    new_runs = set(p.name for p in (work / "fold_1").iterdir()) - set(logs_before[1])
    assert any((work / "fold_1" / d).is_dir() for d in new_runs)  # a new timestamped log dir
    assert summary2["confusion_matrix"] == summary["confusion_matrix"]
    assert (out / "summary.json").stat().st_mtime_ns > stamps[2]
