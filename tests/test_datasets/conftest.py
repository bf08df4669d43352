"""Fixtures of the dataset tests."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Tuple

import pytest

from tests.helpers import write_ckplus_tree


@pytest.fixture
def ckplus_tree(tmp_path) -> Tuple[Path, Dict[Tuple[str, str], dict]]:
    """A CK+ tree of :data:`tests.helpers.CKPLUS_SPEC` and what was written per sequence."""
    root = tmp_path / "ckplus"
    return root, write_ckplus_tree(root)
