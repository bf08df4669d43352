"""errkit's and its plugin's package metadata build without a single warning.

Each distribution is built as a wheel from a copy of what its metadata needs (no
network, no build isolation), so the checkout stays free of build files.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.helpers import REPO_ROOT

pytestmark = pytest.mark.slow  # each test runs a setuptools build


def _build_wheel(src: Path, out: Path) -> Path:
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
         "-w", str(out), str(src)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    # pip's own notes on the machine's pip configuration ('Location ... is ignored')
    # are not the distribution's.
    warnings = [ln for ln in (result.stdout + result.stderr).splitlines()
                if re.search(r"warn|deprecat", ln, re.I) and "is ignored" not in ln]
    assert warnings == [], "\n".join(warnings)
    (wheel,) = out.glob("*.whl")
    return wheel


def test_errkit_metadata_builds_without_warnings(tmp_path):
    src = tmp_path / "errkit"
    (src / "errkit").mkdir(parents=True)
    for name in ("pyproject.toml", "README.md", "errkit/version.py"):
        shutil.copy(REPO_ROOT / name, src / name)
    (src / "errkit" / "__init__.py").write_text("")
    wheel = _build_wheel(src, tmp_path / "dist")
    with zipfile.ZipFile(wheel) as archive:
        metadata = next(archive.read(n).decode() for n in archive.namelist()
                        if n.endswith(".dist-info/METADATA"))
    assert "License-Expression: Apache-2.0" in metadata


def test_lbp_plugin_builds_without_warnings_and_ships_its_configs(tmp_path):
    plugin = REPO_ROOT / "plugins" / "errkit-lbp-residual"
    assert (plugin / "pyproject.toml").is_file(), f"no plugin source tree at {plugin}"
    src = tmp_path / "errkit-lbp-residual"
    shutil.copytree(plugin, src, ignore=shutil.ignore_patterns("*.egg-info", "build",
                                                               "__pycache__"))
    wheel = _build_wheel(src, tmp_path / "dist")
    names = zipfile.ZipFile(wheel).namelist()
    assert "errkit_lbp_residual/configs/errnet_lbp_synthetic.py" in names
