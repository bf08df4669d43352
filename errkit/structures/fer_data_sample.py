"""The data sample that carries one face through errkit."""

from __future__ import annotations

from typing import Optional, Union

import numpy as np
import torch
from mmengine.structures import BaseDataElement


def _as_label_tensor(value: Union[int, np.integer, torch.Tensor]) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value.reshape(-1).long()
    return torch.tensor([int(value)], dtype=torch.long)


class FERDataSample(BaseDataElement):
    """Annotations and predictions of one face.

    Meta information (set with :meth:`set_metainfo`) holds ``img_path``,
    ``subject``, ``sequence``, ``frame``, ``ori_shape``, ``img_shape`` and
    ``has_neutral`` / ``has_landmarks`` flags.

    Data fields written by datasets:

    - ``gt_label`` (LongTensor, shape ``(1,)``): the expression class.

    Data fields written by models in ``predict`` mode:

    - ``pred_score`` (Tensor, shape ``(K,)``): class probabilities.
    - ``pred_label`` (LongTensor, shape ``(1,)``): the arg-max class.
    - ``pred_neutral`` (Tensor, shape ``(C, H, W)``): generated neutral face in
      ``[-1, 1]``.
    - ``pred_residual`` (Tensor, shape ``(C, H, W)``): residual image
      ``input - neutral``.
    - ``segment_activations`` (Tensor, shape ``(K,)``): per-class segment norms.
    - ``gt_neutral`` (Tensor, shape ``(C, H, W)``): the true neutral in
      ``[-1, 1]``, when the data has one (for removal metrics).
    - ``input_img`` (Tensor, shape ``(C, H, W)``): the network input in ``[-1, 1]``.

    Examples:
        >>> sample = FERDataSample().set_gt_label(3)
        >>> sample.gt_label
        tensor([3])
    """

    def set_gt_label(self, value: Union[int, np.integer, torch.Tensor]) -> "FERDataSample":
        """Set ``gt_label`` from an int or tensor; returns ``self``."""
        self.set_field(_as_label_tensor(value), "gt_label", dtype=torch.Tensor)
        return self

    def set_pred_score(self, value: torch.Tensor) -> "FERDataSample":
        """Set ``pred_score`` (probabilities) and the derived ``pred_label``."""
        self.set_field(value, "pred_score", dtype=torch.Tensor)
        self.set_field(value.argmax(dim=-1, keepdim=True).reshape(-1), "pred_label",
                       dtype=torch.Tensor)
        return self

    def label_or_none(self) -> Optional[int]:
        """The ground-truth class as an int, or ``None`` when unlabelled."""
        if "gt_label" not in self:
            return None
        return int(self.gt_label.item())
