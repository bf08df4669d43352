"""Send residual grids to mmengine's visualizer during validation and testing."""

from __future__ import annotations

import os
import os.path as osp
from typing import Optional, Sequence

import cv2
from mmengine.hooks import Hook

from errkit.registry import HOOKS
from errkit.utils.atomic_io import atomic_open
from errkit.visualization.residual_grid import residual_grid, residual_row

__all__ = ["ResidualVisualizationHook"]


@HOOKS.register_module()
class ResidualVisualizationHook(Hook):
    """Draw input | generated neutral | residual | true neutral for predictions.

    In validation, the first ``max_samples`` faces of the first batch become one
    grid, sent to the runner's visualizer (its local and TensorBoard backends)
    at each validation epoch, so removal can be watched while training. In
    testing with ``test_out_dir``, one PNG per face is written there, named after
    the image; the folder is created.

    Args:
        max_samples (int): Faces per validation grid. Defaults to 8.
        interval (int): Validate-epoch interval of the grids. Defaults to 1.
        test_out_dir (str, optional): Folder for per-face PNGs in testing.
            Defaults to None (none written).
    """

    priority = "NORMAL"

    def __init__(self, max_samples: int = 8, interval: int = 1,
                 test_out_dir: Optional[str] = None) -> None:
        self.max_samples = max_samples
        self.interval = interval
        self.test_out_dir = test_out_dir
        self._val_done_epoch = -1

    @staticmethod
    def _row(sample):
        if "pred_neutral" not in sample or "input_img" not in sample:
            return None
        gt = sample.get("gt_neutral") if sample.metainfo.get("has_neutral", False) else None
        return residual_row(sample.input_img, sample.pred_neutral, sample.pred_residual, gt)

    def after_val_iter(self, runner, batch_idx: int, data_batch=None,
                       outputs: Optional[Sequence] = None) -> None:
        if batch_idx != 0 or not outputs or self._val_done_epoch == runner.epoch:
            return
        if (runner.epoch % self.interval) != 0 and runner.epoch != runner.max_epochs:
            return
        rows = [r for r in (self._row(s) for s in outputs[: self.max_samples]) if r is not None]
        if not rows:
            return
        self._val_done_epoch = runner.epoch
        runner.visualizer.add_image("val_residual_grid", residual_grid(rows), step=runner.epoch)

    def after_test_iter(self, runner, batch_idx: int, data_batch=None,
                        outputs: Optional[Sequence] = None) -> None:
        if self.test_out_dir is None or not outputs:
            return
        out_dir = self.test_out_dir
        os.makedirs(out_dir, exist_ok=True)
        for i, sample in enumerate(outputs):
            row = self._row(sample)
            if row is None:
                continue
            stem = osp.splitext(osp.basename(sample.metainfo.get("img_path", f"{batch_idx}_{i}")))[0]
            ok, buf = cv2.imencode(".png", row[..., ::-1])
            if ok:
                with atomic_open(osp.join(out_dir, f"{stem}_residual.png"), "wb") as f:
                    f.write(buf.tobytes())
