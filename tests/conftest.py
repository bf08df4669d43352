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

from tests.helpers import (LANDMARK_RESIDUAL, PIXEL_RESIDUAL, YALE_DIR,  # noqa: E402
                           errnet_fields, save_mmengine_checkpoint, write_bar_ckplus,
                           write_run_config, write_tiny_config)


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


# ---------------------------------------------------------------- videos
#: The synthetic people of the video clips: 10 identities, ``S010`` (index 9) among
#: the 8 that fold 0 trains on; dlib finds its face in every frame at 96 px.
CLIP_IDENTITIES = 10
CLIP_PERSON = 9


@pytest.fixture(scope="session")
def synthetic_clip():
    """``write(path, expression='surprise', frames=16, size=96, blank=(), fps=10,
    person=CLIP_PERSON)``: write an mp4 (OpenCV, ``mp4v``) of one synthetic person's
    sequence from the neutral face to the expression's peak (rendered by
    :func:`errkit.synthetic.render_identity`, grey faces as RGB frames); the frames
    listed in ``blank`` are a flat grey (no face). Returns the path."""
    import cv2
    import numpy as np

    from errkit.synthetic import SyntheticFaceConfig, render_identity

    def write(path: Path, expression: str = "surprise", frames: int = 16, size: int = 96,
              blank=(), fps: float = 10.0, person: int = CLIP_PERSON) -> Path:
        config = SyntheticFaceConfig(num_identities=CLIP_IDENTITIES,
                                     frames_per_sequence=frames, image_size=size)
        images = next(f for _, e, f, _ in render_identity(config, person) if e == expression)
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (size, size))
        assert writer.isOpened(), f"OpenCV cannot write {path}"
        for index, image in enumerate(images):
            if index in blank:
                image = np.full_like(image, 128)
            writer.write(cv2.cvtColor(image, cv2.COLOR_GRAY2BGR))
        writer.release()
        return Path(path)

    return write


@pytest.fixture(scope="session")
def untrained_tiny_errnet(tmp_path_factory):
    """``(config, checkpoint)`` of a tiny ERR-Net with random weights (64 px grey faces)."""
    folder = tmp_path_factory.mktemp("untrained")
    config = write_tiny_config(folder, model=errnet_fields(residuals=(PIXEL_RESIDUAL,
                                                                      LANDMARK_RESIDUAL)))
    return config, save_mmengine_checkpoint(config, folder / "epoch_1.pth")


@pytest.fixture(scope="session")
def recognising_tiny_errnet(tmp_path_factory):
    """``(config, work_dir)`` of a tiny ERR-Net that recognises synthetic expressions.

    Trained here by ``errkit train`` for 30 epochs (14 iterations each, about a
    minute on one core) on the synthetic set of :data:`CLIP_IDENTITIES` people, fold 0
    (``S010`` is among its 8 training people); on their faces it tells most
    expressions apart, far from perfectly (held-out accuracy about 0.5).
    """
    from errkit.cli import main

    root = tmp_path_factory.mktemp("recognising")
    data = f"""
_data = dict(num_identities={CLIP_IDENTITIES}, frames_per_sequence=3, image_size=48,
             num_peak_frames=2, progress=False, pipeline=tiny_pipeline)
train_dataloader = dict(batch_size=8, dataset=_data)
val_dataloader = dict(batch_size=8, dataset=_data)
test_dataloader = dict(batch_size=8, dataset=_data)
optim_wrapper = dict(generator=dict(optimizer=dict(lr=2e-3)))
param_scheduler = []
train_cfg = dict(max_epochs=30, val_interval=30)
default_hooks = dict(logger=dict(interval=14), checkpoint=dict(interval=30))
"""
    config = write_tiny_config(root, data=data, name="recognising_errnet.py")
    work_dir = root / "run"
    main(["train", str(config), "--data-root", str(root / "faces"), "--work-dir", str(work_dir)])
    return config, work_dir
