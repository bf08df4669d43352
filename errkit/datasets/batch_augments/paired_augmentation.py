"""One random geometry per sample, shared by the face, its neutral and their landmarks."""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Union

import kornia.augmentation as K
import torch
from torch import nn

from errkit.landmarks.flip_index import FLIP_INDEX_68
from errkit.registry import TRANSFORMS

__all__ = ["PairedAugmentation", "build_kornia_augmentation"]

#: kornia augmentations that leave keypoints where they were while warping the
#: image (non-rigid warps), which would silently desynchronise the landmarks.
_NON_RIGID = ("RandomElasticTransform", "RandomThinPlateSpline", "RandomFisheye")


def build_kornia_augmentation(cfg: Union[dict, nn.Module], owner: str) -> nn.Module:
    """Build one kornia augmentation from a config dict.

    Args:
        cfg (dict | nn.Module): ``dict(type='RandomAffine', degrees=10, ...)``; the
            ``type`` is a class name in :mod:`kornia.augmentation` and the other
            keys are its keyword arguments. A module is returned unchanged.
        owner (str): Name of the component building it, used in error messages.

    Returns:
        nn.Module: The augmentation.

    Raises:
        TypeError: If ``cfg`` is neither a dict nor a module, or the keyword
            arguments do not fit the kornia class.
        KeyError: If ``cfg`` has no ``type``.
        ValueError: If ``type`` names nothing in :mod:`kornia.augmentation`.
    """
    if isinstance(cfg, nn.Module):
        return cfg
    if not isinstance(cfg, dict):
        raise TypeError(f"{owner}: each augmentation must be a dict config or an nn.Module, "
                        f"got {type(cfg).__name__}")
    if "type" not in cfg:
        raise KeyError(f"{owner}: augmentation config {cfg!r} has no 'type'")
    kwargs = dict(cfg)
    name = kwargs.pop("type")
    cls = getattr(K, name, None) if isinstance(name, str) else name
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        raise ValueError(f"{owner}: {name!r} is not an augmentation class in kornia.augmentation "
                         f"(e.g. 'RandomHorizontalFlip', 'RandomAffine', 'RandomResizedCrop')")
    try:
        return cls(**kwargs)
    except TypeError as err:
        raise TypeError(f"{owner}: cannot build kornia.augmentation.{cls.__name__} "
                        f"from {kwargs!r}: {err}") from err


def _reflection_mask(matrix: Optional[torch.Tensor], batch: int,
                     device: torch.device) -> torch.Tensor:
    """Samples whose composed geometry mirrors the image (negative determinant)."""
    if matrix is None:
        return torch.zeros(batch, dtype=torch.bool, device=device)
    matrix = matrix.to(device=device, non_blocking=True)
    det = matrix[..., 0, 0] * matrix[..., 1, 1] - matrix[..., 0, 1] * matrix[..., 1, 0]
    return (det < 0).reshape(-1).expand(batch)


@TRANSFORMS.register_module()
class PairedAugmentation(nn.Module):
    """Random geometry applied identically to a face, its neutral and their landmarks.

    The configured kornia augmentations run in one
    :class:`kornia.augmentation.AugmentationSequential` with the data keys
    ``input`` (``img``), ``input`` (``neutral``), ``keypoints`` (``landmarks``)
    and ``keypoints`` (``neutral_landmarks``), so each sample draws one set of
    parameters that moves all four the same way; that keeps the pixel residual
    ``img - neutral`` and the landmark residual aligned.

    Mirroring moves a point but does not change which facial part it denotes:
    after a flip the point at index 36 lies where the subject's left eye corner
    belongs. Samples whose composed geometry is a reflection are found from the
    determinant of the container's public ``transform_matrix`` (negative for an
    odd number of horizontal or vertical flips) and their landmarks are re-indexed
    with ``flip_index`` (:data:`~errkit.landmarks.flip_index.FLIP_INDEX_68`).

    Images are handed to kornia in ``[0, 1]`` (so zero padding is black and
    intensity augmentations in the list see their expected range) and returned in
    ``[-1, 1]``, clamped, in their original dtype. Samples whose
    ``landmark_mask`` (``neutral_mask`` for the neutral image) is False keep their
    original (placeholder) values (``face_landmark_mask``, when the batch has it,
    for the face's own landmarks). Other keys of the batch pass through. Nothing
    here reads device values on the host.

    Args:
        augmentations (list[dict | nn.Module]): kornia augmentation configs, e.g.
            ``[dict(type='RandomHorizontalFlip', p=0.5), dict(type='RandomAffine',
            degrees=10, translate=(0.05, 0.05), scale=(0.9, 1.1), p=1.0)]``; each
            ``type`` is a class name in :mod:`kornia.augmentation`. Non-rigid
            warps and mix augmentations are rejected.
        same_on_batch (bool, optional): Override every augmentation's
            ``same_on_batch``. Defaults to None (keep each one's own setting).
        flip_index (Sequence[int]): Landmark permutation applied to reflected
            samples. Defaults to :data:`~errkit.landmarks.flip_index.FLIP_INDEX_68`.

    Shape:
        - ``batch['img']``, ``batch['neutral']``: ``(B, C, H, W)`` in ``[-1, 1]``,
          ``C`` 1 or 3.
        - ``batch['landmarks']``, ``batch['neutral_landmarks']``: ``(B, N, 2)``
          pixel ``(x, y)``, ``N = len(flip_index)``.
        - ``batch['landmark_mask']``, ``batch['neutral_mask']``: ``(B,)`` bool.

    Examples:
        >>> import torch
        >>> aug = PairedAugmentation([dict(type='RandomHorizontalFlip', p=1.0)])
        >>> batch = {'img': torch.zeros(2, 1, 16, 16),
        ...          'landmarks': torch.full((2, 68, 2), 3.0)}
        >>> out = aug(batch)
        >>> out['img'].shape, out['landmarks'][0, 0].tolist()
        (torch.Size([2, 1, 16, 16]), [12.0, 3.0])
    """

    image_keys = ("img", "neutral")
    landmark_keys = ("landmarks", "neutral_landmarks")

    def __init__(self, augmentations: Sequence[Union[dict, nn.Module]],
                 same_on_batch: Optional[bool] = None,
                 flip_index: Sequence[int] = FLIP_INDEX_68) -> None:
        super().__init__()
        if isinstance(augmentations, (dict, nn.Module)):
            augmentations = [augmentations]
        if not augmentations:
            raise ValueError("PairedAugmentation: 'augmentations' is empty")
        modules = [build_kornia_augmentation(cfg, "PairedAugmentation") for cfg in augmentations]
        for module in modules:
            self._check_supported(module)
        self.augment = K.AugmentationSequential(*modules, data_keys=["input"],
                                                same_on_batch=same_on_batch)
        index = torch.as_tensor(list(flip_index), dtype=torch.long)
        identity = torch.arange(len(index))
        if sorted(index.tolist()) != identity.tolist() or not torch.equal(index[index], identity):
            raise ValueError("PairedAugmentation: 'flip_index' must be a permutation that is its "
                             "own inverse (mirror pairs and fixed points)")
        self.register_buffer("flip_index", index, persistent=False)

    @staticmethod
    def _check_supported(module: nn.Module) -> None:
        for name in _NON_RIGID:
            cls = getattr(K, name, None)
            if cls is not None and isinstance(module, cls):
                raise ValueError(f"PairedAugmentation: {name} is a non-rigid warp; kornia does not "
                                 f"move keypoints with it, so the landmarks would desynchronise")
        mix = getattr(K, "MixAugmentationBaseV2", None)
        if mix is not None and isinstance(module, mix):
            raise ValueError(f"PairedAugmentation: {type(module).__name__} mixes samples of the "
                             f"batch, which breaks the face/neutral/label pairing")

    def forward(self, batch: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """Augment one batch.

        Args:
            batch (dict[str, Tensor]): Batched tensors; ``img`` is required, the
                other image, landmark and mask keys are used when present.

        Returns:
            dict[str, Tensor]: A new dict with the same keys; images and landmarks
            replaced by their augmented versions.
        """
        if "img" not in batch:
            raise KeyError("PairedAugmentation: the batch has no 'img'")
        img = batch["img"]
        if img.ndim != 4:
            raise ValueError(f"PairedAugmentation: batch['img'] must be (B, C, H, W), "
                             f"got {tuple(img.shape)}")
        num, device = img.shape[0], img.device
        image_keys = [k for k in self.image_keys if batch.get(k) is not None]
        landmark_keys = [k for k in self.landmark_keys if batch.get(k) is not None]
        args: List[torch.Tensor] = [((batch[k].float() + 1.0) * 0.5) for k in image_keys]
        args += [batch[k].float() for k in landmark_keys]
        data_keys = ["input"] * len(image_keys) + ["keypoints"] * len(landmark_keys)
        outputs = self.augment(*args, data_keys=data_keys)
        if len(args) == 1:
            outputs = [outputs]

        out = dict(batch)
        valid = self._validity(batch, num, device)
        for key, value in zip(image_keys, outputs[:len(image_keys)]):
            value = (value * 2.0 - 1.0).clamp_(-1.0, 1.0).to(batch[key].dtype)
            if key in valid and value.shape == batch[key].shape:
                value = torch.where(valid[key].view(-1, 1, 1, 1), value, batch[key])
            out[key] = value
        if landmark_keys:
            reflected = _reflection_mask(self.augment.transform_matrix, num, device)
            index = self.flip_index.to(device)
            for key, value in zip(landmark_keys, outputs[len(image_keys):]):
                value = torch.where(reflected.view(-1, 1, 1), value.index_select(1, index), value)
                value = value.to(batch[key].dtype)
                if key in valid:
                    value = torch.where(valid[key].view(-1, 1, 1), value, batch[key])
                out[key] = value
        return out

    @staticmethod
    def _validity(batch: Dict[str, torch.Tensor], num: int,
                  device: torch.device) -> Dict[str, torch.Tensor]:
        """Per-key (B,) masks of samples whose values are real data, not placeholders."""
        valid = {}
        neutral = batch.get("neutral_mask")
        pair = batch.get("landmark_mask")
        face = batch.get("face_landmark_mask", pair)
        if neutral is not None:
            valid["neutral"] = neutral.to(device=device, dtype=torch.bool).reshape(num)
        if face is not None:
            valid["landmarks"] = face.to(device=device, dtype=torch.bool).reshape(num)
        if pair is not None:
            both = pair.to(device=device, dtype=torch.bool).reshape(num)
            if "neutral" in valid:
                both = both & valid["neutral"]
            valid["neutral_landmarks"] = both
        return valid

    def __repr__(self) -> str:
        children = ", ".join(repr(m) for m in self.augment.children())
        return f"{self.__class__.__name__}([{children}])"
