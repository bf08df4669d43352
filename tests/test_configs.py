"""Every shipped config loads and builds its model in a fresh interpreter.

A fresh interpreter catches configs that only work because some earlier import
registered a name (mmengine's scope pitfall): tools import nothing beforehand.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import REPO_ROOT, run_python

CONFIGS = sorted(str(p.relative_to(REPO_ROOT)) for p in (REPO_ROOT / "configs").rglob("*.py")
                 if "_base_" not in p.parts)


def test_configs_exist():
    assert "configs/errnet_ckplus.py" in CONFIGS
    assert "configs/errnet_synthetic.py" in CONFIGS
    assert any(c.startswith("configs/baselines/") for c in CONFIGS)
    assert any(c.startswith("configs/ablations/") for c in CONFIGS)


@pytest.mark.slow
def test_every_config_builds_its_model_in_a_fresh_process():
    result = run_python(f"""
import json
from mmengine.config import Config
from mmengine.registry import MODELS, DefaultScope
import errkit.registry  # noqa: F401  (what tools/train.py imports)
out = {{}}
for path in {CONFIGS!r}:
    cfg = Config.fromfile(path)
    assert cfg.default_scope == 'errkit', path
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        model = MODELS.build(cfg.model)
    out[path] = type(model).__name__
print(json.dumps(out))
""")
    assert result.returncode == 0, result.stderr[-3000:]
    built = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(built) == set(CONFIGS)
    assert built["configs/errnet_synthetic.py"] == "ERRNet"
    assert all(v == "TimmClassifier" for k, v in built.items() if "baselines" in k)


DATASET_BASES = sorted(str(p.relative_to(REPO_ROOT))
                       for p in (REPO_ROOT / "configs/_base_/datasets").glob("*.py"))


@pytest.mark.parametrize("path", DATASET_BASES)
def test_dataset_bases_state_their_dataset_once(path):
    from mmengine.config import Config

    cfg = Config.fromfile(str(REPO_ROOT / path))
    train, test = dict(cfg.train_dataloader.dataset), dict(cfg.val_dataloader.dataset)
    assert (train.pop("split"), test.pop("split"), test.pop("test_mode")) == ("train", "test",
                                                                                True)
    assert train == test == dict(cfg._dataset)
    assert cfg.test_dataloader == cfg.val_dataloader
    assert (train["fold"], train["num_folds"]) == (cfg.fold, cfg.num_folds)
    assert isinstance(cfg.num_classes, int)
    for key in ("num_classes", "classes"):
        if key in train:
            assert (train[key] if key == "num_classes" else len(train[key])) == cfg.num_classes


def test_the_model_takes_the_class_count_of_its_dataset():
    from mmengine.config import Config

    checked = 0
    for path in CONFIGS:
        cfg = Config.fromfile(str(REPO_ROOT / path))
        if "num_classes" in cfg:
            assert cfg.model.num_classes == cfg.num_classes, path
            checked += 1
    assert checked >= 10


def test_default_data_roots_are_the_checkouts_wherever_errkit_runs(tmp_path, monkeypatch):
    """A relative data_root would make a run from another folder look for (or, for the
    synthetic set, write) the data there; the configs name the checkout's folders."""
    from errkit.config import dataset_configs, load_config

    monkeypatch.chdir(tmp_path)
    for name in CONFIGS:
        cfg = load_config(str(REPO_ROOT / name))
        roots = {Path(d["data_root"]).resolve() for _, d in dataset_configs(cfg)
                 if d.get("data_root")}
        for root in roots:
            assert root.is_relative_to((REPO_ROOT / "data").resolve()) or root.is_relative_to(
                REPO_ROOT.parent / "shared" / "data"), f"{name}: {root}"
    assert not any(tmp_path.iterdir())
