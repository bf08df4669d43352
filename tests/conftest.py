"""Shared pytest fixtures and options for errkit's tests.

Plain helpers (data trees, configs, checkpoints) are in :mod:`tests.helpers`; the
fixtures here hand them a test's own ``tmp_path``.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Callable

import pytest

# Keep the suite hermetic: third-party plugins installed in the environment are not
# loaded unless a test asks for them (errkit's built-ins always are). Set before
# anything imports errkit.
os.environ.setdefault("ERRKIT_DISABLE_PLUGIN_AUTOLOAD", "1")

from tests.helpers import (YALE_DIR, write_bar_ckplus, write_run_config,  # noqa: E402
                           write_tiny_config)


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


@pytest.fixture
def bar_ckplus(tmp_path) -> Callable[..., Path]:
    """``make(**options)``: a CK+ tree of :func:`tests.helpers.write_bar_ckplus` in
    ``tmp_path / 'ckplus'``; returns its folder."""
    def make(**options) -> Path:
        root = tmp_path / "ckplus"
        write_bar_ckplus(root, **options)
        return root
    return make


@pytest.fixture
def run_config(tmp_path) -> Callable[..., Path]:
    """``make(data_root, **options)``: :func:`tests.helpers.write_run_config` in ``tmp_path``."""
    return functools.partial(write_run_config, tmp_path)


@pytest.fixture
def tiny_config(tmp_path) -> Callable[..., Path]:
    """``make(base='errnet_synthetic.py', **options)``:
    :func:`tests.helpers.write_tiny_config` in ``tmp_path``."""
    return functools.partial(write_tiny_config, tmp_path)
