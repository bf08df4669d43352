"""A folder named ``errkit`` that hides the installed package is named, not blamed on a plugin.

The situation needs errkit installed in editable mode, which setuptools does with a
finder placed after the folders of ``sys.path``. Each test starts a fresh interpreter
without ``site`` (so the environment's own install of errkit is not used), puts the
environment's packages on ``sys.path`` and adds a finder that serves ``errkit`` from
this checkout the way setuptools' editable finder does: a stand-in for ``pip install
-e``, which cannot be run on the shared environment.
"""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.helpers import REPO_ROOT

pytestmark = pytest.mark.slow  # each test starts an interpreter that imports torch

EDITABLE_INSTALL = """
import importlib.abc, importlib.util, os, sys
sys.path += {site_packages!r}

class EditableFinder(importlib.abc.MetaPathFinder):
    # Serves errkit's modules from the checkout, after sys.path (as setuptools does).
    def find_spec(self, fullname, path=None, target=None):
        if fullname.split('.')[0] != 'errkit':
            return None
        base = os.path.join({root!r}, *fullname.split('.'))
        if os.path.isfile(os.path.join(base, '__init__.py')):
            return importlib.util.spec_from_file_location(
                fullname, os.path.join(base, '__init__.py'), submodule_search_locations=[base])
        if os.path.isfile(base + '.py'):
            return importlib.util.spec_from_file_location(fullname, base + '.py')
        return None

sys.meta_path.append(EditableFinder())
"""


def _run(cwd: Path, code: str) -> subprocess.CompletedProcess:
    setup = EDITABLE_INSTALL.format(site_packages=site.getsitepackages(), root=str(REPO_ROOT))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([sys.executable, "-S", "-c", setup + textwrap.dedent(code)],
                          cwd=str(cwd), env=env, capture_output=True, text=True, timeout=300)


LOOKUP = """
from errkit.registry import RESIDUALS
print(RESIDUALS.get('PixelResidual').__name__)
"""


def test_editable_install_works_from_a_clean_folder(tmp_path):
    result = _run(tmp_path, LOOKUP)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["PixelResidual"]


def test_bare_errkit_folder_in_the_current_folder_is_named(tmp_path):
    (tmp_path / "errkit").mkdir()  # e.g. an empty clone target, or notes
    for code in (LOOKUP, "from errkit.cli import main\nmain(['plugins'])"):
        result = _run(tmp_path, code)
        assert result.returncode != 0
        last = result.stderr.strip().splitlines()[-1]
        assert last.startswith("ImportError: `import errkit` found the folder "
                               f"{tmp_path / 'errkit'}, not the errkit package")
        assert "has no attribute" not in result.stderr and "rename that folder" in last


def test_checkout_named_errkit_run_from_its_parent_says_how_to_install_it(tmp_path):
    checkout = tmp_path / "errkit"
    (checkout / "errkit").mkdir(parents=True)
    (checkout / "errkit" / "__init__.py").write_text("")
    (checkout / "pyproject.toml").write_text('[project]\nname = "errkit"\n')
    result = _run(tmp_path, """
        import json
        try:
            from errkit.cli import main
        except ImportError as exc:
            print(json.dumps(str(exc)))
        """)
    assert result.returncode == 0, result.stderr
    message = json.loads(result.stdout.strip().splitlines()[-1])
    assert f"found the folder {checkout}" in message
    assert f"pip install -e {checkout}" in message and "\n" not in message
