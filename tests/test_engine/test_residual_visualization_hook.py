"""Residual grids reach the visualizer in validation and PNG files in testing."""

from __future__ import annotations

from types import SimpleNamespace

import cv2
import numpy as np
import torch

from errkit.engine.hooks import ResidualVisualizationHook
from errkit.structures import FERDataSample


def _sample(i, with_gt=True):
    s = FERDataSample(metainfo=dict(img_path=f"/data/face_{i}.png", has_neutral=with_gt))
    img = torch.linspace(-1, 1, 16 * 16).reshape(1, 16, 16)
    s.set_gt_label(i % 2)
    s.set_pred_score(torch.tensor([0.7, 0.3]))  # class 0: right for face 0, wrong for face 1
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
    # two rows of 16 px faces enlarged 6x (to 96 px): headers above, a label column at the
    # left, the colour bar below
    assert grid.dtype == np.uint8 and grid.shape[2] == 3
    assert grid.shape[0] > 2 * 96 + 30 and grid.shape[1] > 4 * 96 + 40


def test_test_pngs_written_per_face_and_one_overview(tmp_path):
    hook = ResidualVisualizationHook(test_out_dir=str(tmp_path / "vis"), max_samples=3)
    runner = SimpleNamespace()
    hook.before_test_epoch(runner)
    hook.after_test_iter(runner, 0, None, [_sample(0), _sample(1)])
    hook.after_test_iter(runner, 1, None, [_sample(2), _sample(3)])
    hook.after_test_epoch(runner, {})
    files = sorted(p.name for p in (tmp_path / "vis").iterdir())
    assert files == ["face_0_residual.png", "face_1_residual.png", "face_2_residual.png",
                     "face_3_residual.png", "residual_grid.png"]
    one = cv2.imread(str(tmp_path / "vis" / "face_0_residual.png"))
    overview = cv2.imread(str(tmp_path / "vis" / "residual_grid.png"))
    assert overview.shape[1] == one.shape[1]
    assert overview.shape[0] - one.shape[0] == 2 * (96 + 4)  # three rows of max_samples=3


def test_rows_say_the_true_and_predicted_class(tmp_path):
    from errkit.visualization.labelled_grid import _RIGHT, _WRONG

    hook = ResidualVisualizationHook(test_out_dir=str(tmp_path / "vis"))
    loader = SimpleNamespace(dataset=SimpleNamespace(metainfo=dict(classes=("happy", "sad"))))
    rows = [hook._row(_sample(0), ("happy", "sad")), hook._row(_sample(1), ("happy", "sad"))]
    assert [(lab.true, lab.pred) for _, lab in rows] == [("happy", "happy"), ("sad", "happy")]
    assert hook._classes(SimpleNamespace(test_dataloader=loader), "test_dataloader") == (
        "happy", "sad")
    right, wrong = (hook._grid([row]) for row in rows)
    label_column = slice(0, 60)
    assert (right[:, label_column] == _RIGHT).all(axis=2).any()  # pred in green
    assert (wrong[:, label_column] == _WRONG).all(axis=2).any()  # pred in red
    assert not (right[:, label_column] == _WRONG).all(axis=2).any()


def test_classifier_outputs_are_skipped(tmp_path):
    hook = ResidualVisualizationHook(test_out_dir=str(tmp_path / "vis"))
    plain = FERDataSample().set_pred_score(torch.tensor([0.2, 0.8]))
    hook.after_test_iter(SimpleNamespace(), 0, None, [plain])
    runner = SimpleNamespace(epoch=1, max_epochs=2, visualizer=_Visualizer())
    hook.after_val_iter(runner, 0, None, [plain])
    assert runner.visualizer.images == []
    assert not (tmp_path / "vis").exists() or not any((tmp_path / "vis").iterdir())
