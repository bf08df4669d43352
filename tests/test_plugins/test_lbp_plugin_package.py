"""The third-party plugin distribution ``plugins/errkit-lbp-residual``, as a user installs it.

The distribution is pip-installed from a copy of its source tree into a temporary
folder (no network, no build isolation) and used through ``PYTHONPATH`` in fresh
interpreters, whatever the environment already holds; the copy keeps pip's build
files out of the checkout.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.helpers import REPO_ROOT, pip_install_target, run_python

PLUGIN_SRC = REPO_ROOT / "plugins" / "errkit-lbp-residual"
DISTRIBUTION = "errkit-lbp-residual"

# Every test here pip-installs a distribution: slow, as in tests/test_plugin_manager.py.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def plugin_install(tmp_path_factory):
    """``(source copy, install target)`` of the plugin distribution."""
    root = tmp_path_factory.mktemp("lbp_plugin")
    src = root / "src"
    shutil.copytree(PLUGIN_SRC, src, ignore=shutil.ignore_patterns(
        "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache"))
    target = root / "site"
    pip_install_target(src, target)
    return src, target


def test_distribution_installs_with_entry_point_and_configs(plugin_install):
    _, target = plugin_install
    assert (target / "errkit_lbp_residual" / "configs" / "errnet_lbp_synthetic.py").is_file(), \
        "the config is not shipped as package data (pyproject [tool.setuptools.package-data])"
    result = run_python(f"""
        from importlib import metadata
        dist = metadata.distribution('{DISTRIBUTION}')
        eps = [(e.group, e.name, e.value) for e in dist.entry_points]
        print(dist.version, eps, dist.requires)
        """, pythonpath=[target])
    assert result.returncode == 0, result.stderr
    line = result.stdout.strip().splitlines()[-1]
    assert line.startswith("0.1.0 [('errkit', 'lbp_residual', 'errkit_lbp_residual.plugin')]")
    assert "errkit" in line.split("]", 1)[1]  # depends on errkit


def test_errkit_plugins_lists_lbp_residual(plugin_install):
    _, target = plugin_install
    result = run_python("from errkit.cli import main; main(['plugins'])", pythonpath=[target])
    assert result.returncode == 0, result.stderr
    assert ("errkit-lbp-residual 0.1.0  [lbp_residual = errkit_lbp_residual.plugin]"
            in result.stdout)
    block = result.stdout.split("errkit-lbp-residual 0.1.0", 1)[1]
    assert "  residuals (1): LBPResidual" in block
    # errkit's own residuals stay attributed to errkit
    builtins = result.stdout.split("errkit-lbp-residual 0.1.0", 1)[0]
    assert "PixelResidual" in builtins and "LBPResidual" not in builtins


def test_incompatible_api_is_refused_and_errkit_keeps_working(plugin_install, tmp_path):
    src, _ = plugin_install
    future = tmp_path / "future_src"
    shutil.copytree(src, future, ignore=shutil.ignore_patterns(
        "build", "*.egg-info", "__pycache__", ".pytest_cache"))
    plugin_py = future / "errkit_lbp_residual" / "plugin.py"
    text = plugin_py.read_text()
    assert 'ERRKIT_PLUGIN_API = ">=1,<2"' in text
    plugin_py.write_text(text.replace('ERRKIT_PLUGIN_API = ">=1,<2"',
                                      'ERRKIT_PLUGIN_API = ">=2,<3"'))
    target = tmp_path / "future_site"
    pip_install_target(future, target)
    result = run_python("""
        import json
        from errkit.plugin_manager import load_plugins
        from errkit.registry import RESIDUALS
        plugins = {p.distribution: p for p in load_plugins()}
        ours = plugins['errkit-lbp-residual']
        print(json.dumps([ours.status, ours.reason, 'LBPResidual' in RESIDUALS,
                          'PixelResidual' in RESIDUALS]))
        """, pythonpath=[target])
    assert result.returncode == 0, result.stderr
    status, reason, has_lbp, has_pixel = json.loads(result.stdout.strip().splitlines()[-1])
    assert status == "incompatible" and not has_lbp and has_pixel
    assert ">=2,<3" in reason and "plugin API 1.0" in reason
    assert "is not loaded" in result.stderr  # the warning names both versions too


def test_plugin_own_test_suite_passes(plugin_install):
    src, target = plugin_install
    result = run_python(f"""
        import sys
        import pytest
        sys.exit(pytest.main(['-q', '-p', 'no:cacheprovider', {str(src / 'tests')!r}]))
        """, pythonpath=[target])
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and " failed" not in result.stdout


def _shrink(data_root: Path):
    """``--cfg-options`` that make the synthetic run tiny: 5 identities (one per fold),
    one peak frame per sequence, 32x32 faces, narrow networks, one epoch of 4 batches."""
    opts = []
    for loader in ("train_dataloader", "val_dataloader"):
        ds = f"{loader}.dataset."
        opts += [f"{ds}data_root={data_root}", f"{ds}num_identities=5",
                 f"{ds}frames_per_sequence=3", f"{ds}image_size=48", f"{ds}num_peak_frames=1",
                 f"{ds}pipeline.1.size=32", f"{loader}.batch_size=8"]
    opts += [f"test_dataloader.dataset.data_root={data_root}", "train_cfg.max_epochs=1",
             "default_hooks.logger.interval=1", "default_hooks.checkpoint.interval=-1",
             "default_hooks.checkpoint.save_last=False", "model.decoder.base_channels=8",
             "model.discriminator.base_channels=8", "model.residuals.0.feat_channels=8",
             "model.residuals.1.hidden_channels=16", "model.residuals.2.num_bins=16"]
    return opts


def test_plugin_config_trains_a_few_iterations(plugin_install, tmp_path):
    _, target = plugin_install
    work_dir = tmp_path / "work"
    args = (["errnet_lbp_synthetic.py", "--work-dir", str(work_dir), "--cfg-options"]
            + _shrink(tmp_path / "synthetic"))
    result = run_python(f"""
        import torch
        torch.set_num_threads(1)
        from errkit.cli.train import main
        main({args!r})
        """, pythonpath=[target])
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    scalars = sorted(work_dir.glob("*/vis_data/scalars.json"))
    assert scalars, f"no scalars.json under {work_dir}"
    records = [json.loads(line) for line in scalars[-1].read_text().splitlines()]
    train = [r for r in records if "loss_lbp_texture" in r]
    assert len(train) == 4  # one epoch of 28 faces in batches of 8, logged every iteration
    assert all(r["loss_lbp_texture"] > 0 and r["loss_cls"] > 0 for r in train)
    val = [r for r in records if "expr/accuracy" in r]
    assert len(val) == 1 and 0.0 <= val[0]["expr/accuracy"] <= 1.0
    # the merged config names the plugin's residual beside errkit's own
    dumped = (work_dir / "errnet_lbp_synthetic.py").read_text()
    assert "LBPResidual" in dumped and "PixelResidual" in dumped
