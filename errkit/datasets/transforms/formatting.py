"""Pack one sample into model inputs and a data sample."""

from __future__ import annotations

from typing import Optional

import numpy as np
import torch

from errkit.registry import TRANSFORMS
from errkit.structures import FERDataSample

from .base_transform import BaseTransform

__all__ = ["PackFERInputs"]

#: Meta information keys copied from the results dict to the data sample.
META_KEYS = ("img_path", "subject", "sequence", "frame", "ori_shape", "img_shape",
             "extra_labels")


def _to_chw(img: np.ndarray) -> torch.Tensor:
    if img.ndim == 2:
        img = img[:, :, None]
    chw = np.ascontiguousarray(img.transpose(2, 0, 1))
    return torch.from_numpy(chw if chw.flags.writeable else chw.copy())


def _landmarks(value, key: str) -> Optional[torch.Tensor]:
    if value is None:
        return None
    points = np.asarray(value, dtype=np.float32)
    if points.shape != (68, 2):
        raise ValueError(f"PackFERInputs: {key} must have shape (68, 2), got {points.shape}")
    return torch.from_numpy(points.copy())


@TRANSFORMS.register_module()
class PackFERInputs(BaseTransform):
    """Turn a loaded (and aligned) sample into ``inputs`` and a data sample.

    ``inputs`` holds ``img`` and ``neutral`` (uint8 ``(C, H, W)``) and
    ``landmarks`` and ``neutral_landmarks`` (float32 ``(68, 2)``). A missing
    neutral becomes zeros of ``img``'s shape with ``has_neutral=False``; missing
    landmarks become zeros with ``has_landmarks=False``. ``has_landmarks`` is
    True when the face has landmarks and, if it has a neutral, the neutral has
    them too; ``has_face_landmarks`` when the face itself has them (what a
    branch that reads the input's own landmarks needs). The
    :class:`~errkit.structures.FERDataSample` carries ``gt_label`` (when the
    sample has one) and the meta information ``img_path``, ``subject``,
    ``sequence``, ``frame``, ``ori_shape``, ``img_shape``, ``has_neutral``,
    ``has_landmarks``, ``has_face_landmarks`` and, when the dataset has
    further label sets, ``extra_labels``.

    Shape:
        - ``inputs['img']``, ``inputs['neutral']``: ``(C, H, W)`` uint8.
        - ``inputs['landmarks']``, ``inputs['neutral_landmarks']``: ``(68, 2)``.

    Examples:
        >>> import numpy as np
        >>> out = PackFERInputs()({'img': np.zeros((4, 6, 1), np.uint8), 'gt_label': 2})
        >>> out['inputs']['img'].shape, out['data_samples'].has_neutral
        (torch.Size([1, 4, 6]), False)
    """

    def transform(self, results: dict) -> dict:
        """Pack one sample.

        Args:
            results (dict): Holds ``img`` and optionally ``neutral``,
                ``landmarks``, ``neutral_landmarks``, ``gt_label`` and meta keys.

        Returns:
            dict: ``{'inputs': dict of tensors, 'data_samples': FERDataSample}``.
        """
        if "img" not in results:
            raise KeyError("PackFERInputs: the sample has no 'img' (run LoadFaceImages first)")
        img = _to_chw(results["img"])
        neutral_array = results.get("neutral")
        has_neutral = neutral_array is not None
        if has_neutral:
            neutral = _to_chw(neutral_array)
            if neutral.shape != img.shape:
                raise ValueError(
                    f"PackFERInputs: neutral shape {tuple(neutral.shape)} differs from img "
                    f"shape {tuple(img.shape)} for {results.get('img_path')}; add AlignFace "
                    "(or a resize) before PackFERInputs")
        else:
            neutral = torch.zeros_like(img)
        landmarks = _landmarks(results.get("landmarks"), "landmarks")
        neutral_landmarks = _landmarks(results.get("neutral_landmarks"), "neutral_landmarks")
        has_landmarks = landmarks is not None and (not has_neutral
                                                   or neutral_landmarks is not None)
        zeros = torch.zeros(68, 2, dtype=torch.float32)
        inputs = {
            "img": img,
            "neutral": neutral,
            "landmarks": landmarks if landmarks is not None else zeros,
            "neutral_landmarks": neutral_landmarks if neutral_landmarks is not None
            else zeros.clone(),
        }
        sample = FERDataSample()
        meta = {k: results[k] for k in META_KEYS if k in results}
        meta["img_shape"] = tuple(img.shape[1:])
        meta.setdefault("ori_shape", tuple(img.shape[1:]))
        meta.update(has_neutral=has_neutral, has_landmarks=has_landmarks,
                    has_face_landmarks=landmarks is not None)
        sample.set_metainfo(meta)
        if results.get("gt_label") is not None:
            sample.set_gt_label(int(results["gt_label"]))
        return {"inputs": inputs, "data_samples": sample}
