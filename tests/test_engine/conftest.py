"""Fixtures of the engine tests."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest

from tests.helpers import SMALL_CKPLUS, write_bar_ckplus, write_run_config


@pytest.fixture
def ckplus_config(bar_ckplus, run_config) -> Path:
    """A deterministic 3-epoch classifier run (resnet10t) on a 10-subject CK+ tree in
    ``tmp_path / 'ckplus'``, validated every epoch, every checkpoint kept."""
    return run_config(bar_ckplus(), name="tiny_resume.py", max_epochs=3, max_keep_ckpts=5,
                      deterministic=True)


@pytest.fixture(scope="module")
def small_ckplus(tmp_path_factory) -> Path:
    """A CK+ tree of :data:`tests.helpers.SMALL_CKPLUS`, shared by a module's tests."""
    root = tmp_path_factory.mktemp("ckplus")
    write_bar_ckplus(root, **SMALL_CKPLUS)
    return root


@pytest.fixture
def short_run_config(tmp_path, small_ckplus) -> Callable[..., Path]:
    """``make(model='classifier', **options)``: one epoch on :func:`small_ckplus`, fold 0
    of 3, one peak frame per sequence, no visualisation hook (see
    :func:`tests.helpers.write_run_config`)."""
    def make(model: str = "classifier", **options) -> Path:
        return write_run_config(tmp_path, small_ckplus, model=model, num_peak_frames=1,
                                folds=(0, 3), val_batch_size=8, local_vis=True,
                                **dict(dict(seed=0), **options))
    return make
