"""The fault table of docs/reliability.rst names tests that exist, and every fault test."""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PAGE = REPO / "docs" / "reliability.rst"
#: Modules made of fault injection only: each of their tests must have a row.
FAULT_MODULES = (
    "tests/test_engine/test_untrusted_checkpoints.py",
    "tests/test_engine/test_resume_candidates.py",
    "tests/test_engine/test_finite_state.py",
    "tests/test_engine/test_nan_skip_limits.py",
    "tests/test_cli/test_output_places.py",
    "tests/test_utils/test_output_paths.py",
)
REFERENCE = re.compile(r"``(tests/[\w/]+\.py)::(test_\w+)``")


def _tests_of(module: str) -> set:
    tree = ast.parse((REPO / module).read_text())
    return {node.name for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.name.startswith("test_")}


def _references() -> list:
    return REFERENCE.findall(PAGE.read_text())


def test_every_row_names_tests_that_exist():
    references = _references()
    assert len(references) >= 40
    missing = [f"{module}::{name}" for module, name in references
               if not (REPO / module).is_file() or name not in _tests_of(module)]
    assert not missing, f"docs/reliability.rst names tests that do not exist: {missing}"


def test_every_fault_test_has_a_row():
    named = set(_references())
    absent = [f"{module}::{name}" for module in FAULT_MODULES for name in _tests_of(module)
              if (module, name) not in named]
    assert not absent, f"fault tests without a row in docs/reliability.rst: {absent}"
