"""Send residual grids to mmengine's visualizer during validation and testing."""

from __future__ import annotations

import os
import os.path as osp
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np
from mmengine.hooks import Hook

from errkit.registry import HOOKS
from errkit.utils.atomic_io import atomic_open
from errkit.visualization.labelled_grid import RowLabel, labelled_residual_grid
from errkit.visualization.residual_grid import (ResidualScale, check_residual_scale,
                                                residual_panels)

__all__ = ["ResidualVisualizationHook"]

#: The overview grid of a test run, in ``test_out_dir``.
TEST_GRID_FILE = "residual_grid.png"


def _write_png(path: str, rgb: np.ndarray) -> None:
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(rgb[..., ::-1]))
    if ok:
        with atomic_open(path, "wb") as f:
            f.write(buf.tobytes())


@HOOKS.register_module()
class ResidualVisualizationHook(Hook):
    """Draw input | generated neutral | residual | true neutral for predictions.

    Every grid has its column headers, each face's true and predicted class
    (the prediction green when right, red when wrong) and the residual's colour
    bar with its unit; the residual is drawn on ``scale`` (fixed by default, so
    grids of different faces and epochs compare; see
    :mod:`errkit.visualization.residual_grid`).

    In validation, the first ``max_samples`` faces of the first batch become one
    grid, sent to the runner's visualizer (its local and TensorBoard backends)
    at each validation epoch, so removal can be watched while training. In
    testing with ``test_out_dir``, one PNG per face is written there, named after
    the image (``<stem>_residual.png``), and an overview of the first
    ``max_samples`` faces, ``residual_grid.png``; the folder is created.

    Args:
        max_samples (int): Faces per validation grid and in the test overview.
            Defaults to 8.
        interval (int): Validate-epoch interval of the grids. Defaults to 1.
        test_out_dir (str, optional): Folder for the test PNGs. Defaults to
            None (none written).
        scale (str | float): Residual colour scale: ``'fixed'``,
            ``'per_image'`` or a half-range in intensity units. Defaults to
            ``'fixed'``.
    """

    priority = "NORMAL"

    def __init__(self, max_samples: int = 8, interval: int = 1,
                 test_out_dir: Optional[str] = None, scale: ResidualScale = "fixed") -> None:
        self.max_samples = max_samples
        self.interval = interval
        self.test_out_dir = test_out_dir
        self.scale = check_residual_scale(scale)
        self._val_done_epoch = -1
        self._test_rows: List[Tuple[list, RowLabel]] = []

    @staticmethod
    def _classes(runner, loader: str) -> Tuple[str, ...]:
        dataset = getattr(getattr(runner, loader, None), "dataset", None)
        return tuple(str(c) for c in (getattr(dataset, "metainfo", None) or {}).get("classes")
                     or ())

    def _row(self, sample, classes: Sequence[str]) -> Optional[Tuple[list, RowLabel]]:
        """The panels and the label of one face; None for models without removal."""
        if "pred_neutral" not in sample or "input_img" not in sample:
            return None
        gt = sample.get("gt_neutral") if sample.metainfo.get("has_neutral", False) else None
        panels = residual_panels(sample.input_img, sample.pred_neutral, sample.pred_residual, gt,
                                 self.scale)

        def name(index: int) -> str:
            return classes[index] if 0 <= index < len(classes) else f"class {index}"

        label = RowLabel()
        if "gt_label" in sample:
            label.true = name(int(sample.gt_label.reshape(-1)[0]))
        if "pred_score" in sample:
            index = int(sample.pred_score.argmax())
            label.pred, label.score = name(index), float(sample.pred_score[index])
        return panels, label

    def _grid(self, rows: Sequence[Tuple[list, RowLabel]]) -> np.ndarray:
        return labelled_residual_grid([p for p, _ in rows], [lab for _, lab in rows],
                                      scale=self.scale)

    def after_val_iter(self, runner, batch_idx: int, data_batch=None,
                       outputs: Optional[Sequence] = None) -> None:
        if batch_idx != 0 or not outputs or self._val_done_epoch == runner.epoch:
            return
        if (runner.epoch % self.interval) != 0 and runner.epoch != runner.max_epochs:
            return
        classes = self._classes(runner, "val_dataloader")
        rows = [r for r in (self._row(s, classes) for s in outputs[: self.max_samples])
                if r is not None]
        if not rows:
            return
        self._val_done_epoch = runner.epoch
        runner.visualizer.add_image("val_residual_grid", self._grid(rows), step=runner.epoch)

    def before_test_epoch(self, runner) -> None:
        self._test_rows = []

    def after_test_iter(self, runner, batch_idx: int, data_batch=None,
                        outputs: Optional[Sequence] = None) -> None:
        if self.test_out_dir is None or not outputs:
            return
        out_dir = self.test_out_dir
        os.makedirs(out_dir, exist_ok=True)
        classes = self._classes(runner, "test_dataloader")
        for i, sample in enumerate(outputs):
            row = self._row(sample, classes)
            if row is None:
                continue
            if len(self._test_rows) < self.max_samples:
                self._test_rows.append(row)
            path = sample.metainfo.get("img_path", f"{batch_idx}_{i}")
            stem = osp.splitext(osp.basename(path))[0]
            _write_png(osp.join(out_dir, f"{stem}_residual.png"), self._grid([row]))

    def after_test_epoch(self, runner, metrics=None) -> None:
        if self.test_out_dir is not None and self._test_rows:
            _write_png(osp.join(self.test_out_dir, TEST_GRID_FILE), self._grid(self._test_rows))
        self._test_rows = []
