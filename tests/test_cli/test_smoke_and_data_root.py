"""``--data-root`` reaches every dataset; ``--smoke`` trains one short epoch on subsets and
says so; ``errkit test`` takes the run's folder and draws labelled grids."""

from __future__ import annotations

import glob
import json
import os
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

from errkit.cli import main
from errkit.cli.ablation import main as ablation_main
from errkit.cli.kfold import main as kfold_main
from errkit.cli.test import main as run_test_command
from errkit.config import make_smoke_config, set_data_root
from tests.helpers import REPO_ROOT, TINY_SYNTHETIC, write_tiny_config


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    """``errkit train tiny.py --smoke --data-root faces`` from a folder, without --work-dir."""
    root = tmp_path_factory.mktemp("smoke")
    config = write_tiny_config(root, data=TINY_SYNTHETIC, name="tiny_errnet.py")
    faces = root / "faces"
    cwd = os.getcwd()
    os.chdir(root)
    try:
        main(["train", str(config), "--smoke", "--data-root", "faces"])
    finally:
        os.chdir(cwd)
    return root, config, faces


def _log(work_dir: Path) -> str:
    (log,) = glob.glob(str(work_dir / "*" / "*.log"))
    return Path(log).read_text()


def test_smoke_run_trains_one_short_epoch_on_subsets_and_says_so(smoke_run):
    root, _, faces = smoke_run
    work_dir = root / "work_dirs" / "tiny_errnet_smoke"  # never the real run's folder
    assert (work_dir / "epoch_1.pth").is_file()
    assert not (root / "work_dirs" / "tiny_errnet").exists()
    text = _log(work_dir)
    # 10 identities, 2 peak frames of 7 sequences each: fold 0 trains on 8 people (112 faces)
    # and validates on 2 (28); the report gives the subset, not the split
    assert "split 'train': 112 samples; subset of 32 of 112 samples" in text
    assert "split 'test': 28 samples; subset of 16 of 28 samples" in text
    assert "Epoch(train) [1][4/4]" in text and "Epoch(val) [1][2/2]" in text
    assert "Epoch(train) [2]" not in text
    # --data-root is where the synthetic set was written, not the current folder's data/
    assert (faces / "synthetic_meta.json").is_file() and not (root / "data").exists()
    meta = torch.load(work_dir / "epoch_1.pth", weights_only=False)["meta"]["training_data"]
    assert meta["datasets"] == [dict(type="SyntheticCKPlusDataset", data_root=str(faces),
                                     num_samples=32, synthetic=True)]


def test_test_takes_the_work_dir_and_draws_labelled_grids(smoke_run, tmp_path):
    root, config, faces = smoke_run
    vis = tmp_path / "vis"
    metrics = run_test_command([str(config), str(root / "work_dirs" / "tiny_errnet_smoke"),
                    "--data-root", str(faces), "--work-dir", str(tmp_path / "test"),
                    "--show-dir", str(vis), "--out", str(tmp_path / "metrics.json")])
    assert 0.0 <= metrics["expr/accuracy"] <= 1.0
    written = json.loads((tmp_path / "metrics.json").read_text())
    assert written["expr/accuracy"] == pytest.approx(metrics["expr/accuracy"])
    pngs = sorted(p.name for p in vis.iterdir())
    # every test face, the overview and the class means
    assert {"residual_grid.png", "class_means.png"} <= set(pngs) and len(pngs) == 28 + 2
    from PIL import Image

    with Image.open(vis / "residual_grid.png") as overview, \
            Image.open(vis / pngs[0]) as one:
        assert overview.width == one.width and overview.height > 4 * one.height


@pytest.mark.slow
def test_kfold_and_ablation_take_data_root_and_smoke(smoke_run, tmp_path):
    _, config, faces = smoke_run
    summary = kfold_main([str(config), "--folds", "5", "--fold-ids", "1", "--inline",
                    "--smoke", "--data-root", str(faces), "--work-dir", str(tmp_path / "kf")])
    assert summary["completed_folds"] == [1]
    result = json.loads((tmp_path / "kf" / "fold_1" / "fold_result.json").read_text())
    assert result["num_test_samples"] == 16
    fold_cfg = Config.fromfile(str(tmp_path / "kf" / "fold_1" / "fold_config.py"))
    for key in ("train_dataloader", "val_dataloader", "test_dataloader"):
        assert fold_cfg[key].dataset.data_root == str(faces)
    table = ablation_main([str(config), "--smoke", "--data-root", str(faces),
                  "--work-dir", str(tmp_path / "ab")])
    assert [row["name"] for row in table["rows"]] == ["tiny_errnet"] and not table["failed"]


def test_set_data_root_reaches_wrapped_datasets_and_the_variable():
    cfg = Config(dict(
        data_root="data/old",
        train_dataloader=dict(dataset=dict(type="ConcatDataset", datasets=[
            dict(type="CKPlusDataset", data_root="data/old"),
            dict(type="RepeatDataset", times=2, dataset=dict(type="MMIDataset"))])),
        val_dataloader=dict(dataset=dict(type="CachedFaceDataset", cache_file="c.npz")),
        test_dataloader=None))
    places = set_data_root(cfg, "~/faces")
    assert places == ["train_dataloader.dataset.datasets[0]",
                      "train_dataloader.dataset.datasets[1].dataset", "val_dataloader.dataset"]
    home = os.path.expanduser("~/faces")
    assert cfg.data_root == home and cfg.val_dataloader.dataset.data_root == home
    assert cfg.train_dataloader.dataset.datasets[1].dataset.data_root == home
    assert "data_root" not in cfg.train_dataloader.dataset  # the wrapper is left alone
    with pytest.raises(ValueError, match="no dataset"):
        set_data_root(Config(dict(model=dict())), "faces")


def test_smoke_config_of_an_iteration_loop_and_an_unknown_dataset():
    cfg = Config(dict(train_dataloader=dict(batch_size=64, num_workers=4,
                                            dataset=dict(type="CKPlusDataset")),
                      train_cfg=dict(by_epoch=False, max_iters=9000, val_interval=500),
                      default_hooks=dict(logger=dict(interval=50))))
    assert "32 training" in make_smoke_config(cfg)
    assert cfg.train_cfg.max_iters == 4 and cfg.train_cfg.val_interval == 4
    assert cfg.train_dataloader.batch_size == 8 and cfg.train_dataloader.num_workers == 0
    assert cfg.train_dataloader.dataset.indices == 32 and cfg.default_hooks.logger.interval == 1
    bad = Config(dict(val_dataloader=dict(dataset=dict(type="NoSuchDataset"))))
    with pytest.raises(ValueError, match="val_dataloader.dataset .NoSuchDataset."):
        make_smoke_config(bad)


def test_a_child_data_root_that_no_dataset_reads_is_named(tmp_path):
    from errkit.config import load_config, unread_data_root
    child = tmp_path / "my_ckplus.py"
    child.write_text(f"_base_ = [{str(REPO_ROOT / 'configs' / 'errnet_ckplus.py')!r}]\n"
                     "data_root = '/data/my_ckplus'\n")
    cfg = load_config(str(child))
    warning = unread_data_root(cfg)
    assert "data_root = '/data/my_ckplus'" in warning and "no dataset reads it" in warning
    assert "--data-root /data/my_ckplus" in warning
    set_data_root(cfg, "/data/my_ckplus")
    assert unread_data_root(cfg) is None
    assert unread_data_root(load_config(str(REPO_ROOT / "configs" / "errnet_ckplus.py"))) is None
