"""Batches faces, neutral references and landmarks; runs GPU batch augmentations."""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Union

import torch
from mmengine.model import BaseDataPreprocessor

from errkit.registry import MODELS, TRANSFORMS

#: Keys of ``inputs`` that hold images (uint8 ``(C, H, W)`` per sample).
IMAGE_KEYS = ("img", "neutral")
#: Keys of ``inputs`` that hold 68-point landmarks (float ``(68, 2)`` per sample).
LANDMARK_KEYS = ("landmarks", "neutral_landmarks")


@MODELS.register_module()
class FERDataPreprocessor(BaseDataPreprocessor):
    """Stack, move, normalise and augment a batch of faces.

    Datasets yield ``inputs`` as a dict with ``img`` (uint8 ``(C, H, W)``) and, when
    known, ``neutral`` (the same person's neutral face, aligned the same way),
    ``landmarks`` and ``neutral_landmarks`` (float ``(68, 2)``, pixel ``(x, y)``).
    The preprocessor stacks each key, converts images to float in ``[-1, 1]``,
    adds the boolean masks ``neutral_mask``, ``landmark_mask`` and
    ``face_landmark_mask`` (from each data sample's ``has_neutral`` /
    ``has_landmarks`` / ``has_face_landmarks`` meta information; the last
    falls back to ``has_landmarks``) and, in
    training, applies the batch augmentations, which transform the images and
    landmarks of one sample with one shared geometry.

    Args:
        batch_augments (list[dict] | dict, optional): Configs of batch
            augmentations from the ``TRANSFORMS`` registry, applied in order in
            training mode. Each is called with and returns the dict of batched
            tensors. Defaults to None.
        num_channels (int, optional): Convert images to this many channels
            (1: grey, 3: repeat grey to RGB / average RGB to grey). Defaults to
            None (keep).
        non_blocking (bool): Non-blocking host-to-device copies. Defaults to True.
        channels_last (bool): Return the image tensors in the channels-last
            memory format (``torch.channels_last``), which convolutions with
            tensor cores prefer on CUDA; use it together with a model moved
            with ``model.to(memory_format=torch.channels_last)``. Shapes and
            values are unchanged. Defaults to False.

    Shape:
        - ``inputs['img']``, ``inputs['neutral']``: ``(B, C, H, W)`` in ``[-1, 1]``.
        - ``inputs['landmarks']``, ``inputs['neutral_landmarks']``: ``(B, 68, 2)``.
        - ``inputs['neutral_mask']``, ``inputs['landmark_mask']``,
          ``inputs['face_landmark_mask']``: ``(B,)`` bool.

    Examples:
        >>> import torch
        >>> pre = FERDataPreprocessor()
        >>> batch = {'inputs': {'img': [torch.zeros(1, 8, 8, dtype=torch.uint8)]},
        ...          'data_samples': None}
        >>> out = pre(batch)
        >>> out['inputs']['img'].shape, float(out['inputs']['img'].min())
        (torch.Size([1, 1, 8, 8]), -1.0)
    """

    def __init__(self, batch_augments: Optional[Union[dict, Sequence[dict]]] = None,
                 num_channels: Optional[int] = None, non_blocking: bool = True,
                 channels_last: bool = False) -> None:
        super().__init__(non_blocking=non_blocking)
        if isinstance(batch_augments, dict):
            batch_augments = [batch_augments]
        self.batch_augments = torch.nn.ModuleList(
            [TRANSFORMS.build(cfg) if isinstance(cfg, dict) else cfg
             for cfg in (batch_augments or [])])
        if num_channels not in (None, 1, 3):
            raise ValueError(f"num_channels must be None, 1 or 3, got {num_channels!r}")
        self.num_channels = num_channels
        self.channels_last = bool(channels_last)

    def _convert_channels(self, img: torch.Tensor) -> torch.Tensor:
        if self.num_channels is None or img.shape[1] == self.num_channels:
            return img
        if self.num_channels == 3 and img.shape[1] == 1:
            return img.expand(-1, 3, -1, -1).contiguous()
        if self.num_channels == 1 and img.shape[1] == 3:
            return img.mean(dim=1, keepdim=True)
        raise ValueError(f"cannot convert {img.shape[1]} channels to {self.num_channels}")

    @staticmethod
    def _stack(value: Union[torch.Tensor, List[torch.Tensor]]) -> torch.Tensor:
        if isinstance(value, torch.Tensor):
            return value
        return torch.stack(list(value))

    def _masks(self, data_samples, batch_size: int, device) -> Dict[str, torch.Tensor]:
        masks = {}
        for key, meta in (("neutral_mask", "has_neutral"), ("landmark_mask", "has_landmarks"),
                          ("face_landmark_mask", "has_face_landmarks")):
            if data_samples is None:
                flags = [False] * batch_size
            else:
                flags = [bool(s.metainfo.get(meta, s.metainfo.get("has_landmarks", False)))
                         for s in data_samples]
            masks[key] = torch.tensor(flags, dtype=torch.bool, device=device)
        return masks

    def forward(self, data: dict, training: bool = False) -> dict:
        """Prepare one batch from the dataloader.

        Args:
            data (dict): ``{'inputs': dict | Tensor, 'data_samples': list | None}``.
            training (bool): Apply batch augmentations. Defaults to False.

        Returns:
            dict: ``{'inputs': dict of tensors, 'data_samples': list | None}``.
        """
        inputs = data["inputs"]
        if not isinstance(inputs, dict):
            inputs = {"img": inputs}
        batch = {k: self._stack(v) for k, v in inputs.items() if v is not None}
        batch = self.cast_data(batch)
        data_samples = self.cast_data(data.get("data_samples"))
        for key in IMAGE_KEYS:
            if key in batch:
                img = batch[key]
                img = img.float() / 127.5 - 1.0 if img.dtype == torch.uint8 else img.float()
                batch[key] = self._convert_channels(img)
        for key in LANDMARK_KEYS:
            if key in batch:
                batch[key] = batch[key].float()
        batch.update(self._masks(data_samples, batch["img"].shape[0], batch["img"].device))
        if training:
            for aug in self.batch_augments:
                batch = aug(batch)
        if self.channels_last:
            for key in IMAGE_KEYS:
                if key in batch:
                    batch[key] = batch[key].contiguous(memory_format=torch.channels_last)
        return {"inputs": batch, "data_samples": data_samples}
