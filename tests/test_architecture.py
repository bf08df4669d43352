"""The layers of errkit hold: the import-linter contracts of pyproject.toml are kept.

Layers, lowest first (see docs/architecture.rst): core (hookspecs, structures,
utils, version; the plugin manager; the registries; config loading and errkit's
own plugin) <- landmarks <- synthetic <- datasets | models | evaluation |
visualization <- engine <- apis <- benchmark <- cli.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp
import pytest

REPO = Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept():
    # In a fresh interpreter from the repository root: the contracts of
    # pyproject.toml, over the errkit package that the tests import.
    result = subprocess.run(
        [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports; "
         "sys.exit(lint_imports(no_cache=True, no_logo=True))"],
        cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.fixture(scope="module")
def graph():
    return grimp.build_graph("errkit")


def test_plugin_manager_receives_the_registries_instead_of_importing_them(graph):
    assert not graph.chain_exists(importer="errkit.plugin_manager", imported="errkit.registry")
    assert graph.direct_import_exists(importer="errkit.registry",
                                      imported="errkit.plugin_manager")


@pytest.mark.parametrize("lower,upper", [
    ("errkit.apis", "errkit.cli"),
    ("errkit.benchmark", "errkit.cli"),
    ("errkit.landmarks", "errkit.datasets"),
    ("errkit.synthetic", "errkit.datasets"),
    ("errkit.utils", "errkit.engine"),
])
def test_no_upward_import(graph, lower, upper):
    # The cycles and upward imports that the layering removed stay removed.
    chains = graph.find_shortest_chains(importer=lower, imported=upper)
    assert not chains, chains
