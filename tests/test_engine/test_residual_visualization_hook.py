"""Residual grids reach the visualizer in validation and PNG files in testing."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import torch

from errkit.engine.hooks import ResidualVisualizationHook
from errkit.structures import FERDataSample


def _sample(i, with_gt=True):
    s = FERDataSample(metainfo=dict(img_path=f"/data/face_{i}.png", has_neutral=with_gt))
    img = torch.linspace(-1, 1, 16 * 16).reshape(1, 16, 16)
    s.input_img = img
    s.pred_neutral = img * 0.5
    s.pred_residual = img - s.pred_neutral
    if with_gt:
        s.gt_neutral = img * 0.4
    return s


class _Visualizer:
    def __init__(self):
        self.images = []

    def add_image(self, name, image, step=0):
        self.images.append((name, image, step))


def test_validation_grid_sent_once_per_epoch():
    hook = ResidualVisualizationHook(max_samples=2)
    runner = SimpleNamespace(epoch=3, max_epochs=10, visualizer=_Visualizer())
    outputs = [_sample(0), _sample(1, with_gt=False), _sample(2)]
    hook.after_val_iter(runner, 0, None, outputs)
    hook.after_val_iter(runner, 0, None, outputs)  # same epoch: not again
    hook.after_val_iter(runner, 1, None, outputs)  # not the first batch
    assert len(runner.visualizer.images) == 1
    name, grid, step = runner.visualizer.images[0]
    assert name == "val_residual_grid" and step == 3
    # two rows of 16 px with a 2 px gap; the first row has 4 panels, the second 3 (padded)
    assert grid.shape == (16 * 2 + 2, 16 * 4 + 2 * 3, 3) and grid.dtype == np.uint8


def test_test_pngs_written_per_face(tmp_path):
    hook = ResidualVisualizationHook(test_out_dir=str(tmp_path / "vis"))
    hook.after_test_iter(SimpleNamespace(), 0, None, [_sample(0), _sample(1)])
    files = sorted(p.name for p in (tmp_path / "vis").iterdir())
    assert files == ["face_0_residual.png", "face_1_residual.png"]


def test_classifier_outputs_are_skipped(tmp_path):
    hook = ResidualVisualizationHook(test_out_dir=str(tmp_path / "vis"))
    plain = FERDataSample().set_pred_score(torch.tensor([0.2, 0.8]))
    hook.after_test_iter(SimpleNamespace(), 0, None, [plain])
    runner = SimpleNamespace(epoch=1, max_epochs=2, visualizer=_Visualizer())
    hook.after_val_iter(runner, 0, None, [plain])
    assert runner.visualizer.images == []
    assert not (tmp_path / "vis").exists() or not any((tmp_path / "vis").iterdir())
