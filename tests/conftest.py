"""Shared pytest fixtures and options for errkit's tests."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Dict, Optional

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
YALE_DIR = REPO_ROOT.parent / "shared" / "data" / "yale_faces"

# Keep the suite hermetic: third-party plugins installed in the environment are not
# loaded unless a test asks for them (errkit's built-ins always are).
os.environ.setdefault("ERRKIT_DISABLE_PLUGIN_AUTOLOAD", "1")


def pytest_configure(config):
    import torch

    # One thread: small convolutions on a loaded 2-core machine are far slower with two.
    torch.set_num_threads(1)


def pytest_collection_modifyitems(config, items):
    import torch

    if torch.cuda.is_available():
        return
    skip_gpu = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip_gpu)


@pytest.fixture(scope="session")
def yale_dir() -> Path:
    """The Yale faces beside the checkout; the test is skipped when absent."""
    if not YALE_DIR.is_dir():
        pytest.skip(f"Yale faces not found at {YALE_DIR}")
    return YALE_DIR


def write_plugin_distribution(root: Path, dist: str, module: str, body: str,
                              api: Optional[str] = ">=1,<2", entry_name: Optional[str] = None,
                              extra_files: Optional[Dict[str, str]] = None) -> Path:
    """Write the source tree of a tiny plugin distribution; returns its folder."""
    src = root / dist
    pkg = src / module
    pkg.mkdir(parents=True)
    api_line = f"ERRKIT_PLUGIN_API = {api!r}\n" if api else ""
    (pkg / "__init__.py").write_text("import errkit\n" + api_line + textwrap.dedent(body))
    for name, text in (extra_files or {}).items():
        (pkg / name).parent.mkdir(parents=True, exist_ok=True)
        (pkg / name).write_text(textwrap.dedent(text))
    data = sorted({str(Path(n).parent / "*.py") for n in extra_files or {} if "/" in n})
    (src / "pyproject.toml").write_text(textwrap.dedent(f"""
        [build-system]
        requires = ["setuptools>=64"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "{dist}"
        version = "0.3.1"

        [project.entry-points.errkit]
        {entry_name or module} = "{module}"

        [tool.setuptools]
        packages = ["{module}"]
        """))
    if data:
        with open(src / "pyproject.toml", "a") as f:
            f.write(f"\n[tool.setuptools.package-data]\n{module} = {data!r}\n".replace("'", '"'))
    return src


def pip_install_target(src: Path, target: Path) -> None:
    """``pip install`` a source tree into ``target`` (no network, no build isolation)."""
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                    "--no-build-isolation", "--no-index", "--target", str(target), str(src)],
                   check=True, capture_output=True, text=True)


def run_python(code: str, pythonpath=(), env: Optional[Dict[str, str]] = None,
               check: bool = False) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter with extra ``PYTHONPATH`` entries."""
    full_env = dict(os.environ)
    full_env.pop("ERRKIT_DISABLE_PLUGIN_AUTOLOAD", None)
    full_env.pop("ERRKIT_DISABLE_PLUGINS", None)
    full_env["PYTHONPATH"] = os.pathsep.join([str(p) for p in pythonpath] +
                                             [full_env.get("PYTHONPATH", "")])
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=full_env,
                          capture_output=True, text=True, check=check, cwd=str(REPO_ROOT))
