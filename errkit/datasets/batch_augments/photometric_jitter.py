"""Brightness, contrast, gamma and noise jitter shared by a face and its neutral."""

from __future__ import annotations

from typing import Dict, Optional, Tuple, Union

import kornia.augmentation as K
import torch
from torch import nn

from errkit.registry import TRANSFORMS

__all__ = ["PhotometricJitter"]

Range = Union[float, Tuple[float, float]]


def _factor_range(value: Range, name: str) -> Optional[Tuple[float, float]]:
    """``d`` -> ``(1 - d, 1 + d)``; a pair is taken as is; 0 disables (None)."""
    if isinstance(value, (int, float)):
        if value < 0 or value >= 1:
            raise ValueError(f"PhotometricJitter: '{name}' must be in [0, 1), got {value}")
        return None if value == 0 else (1.0 - float(value), 1.0 + float(value))
    low, high = (float(v) for v in value)
    if not 0 <= low <= high:
        raise ValueError(f"PhotometricJitter: '{name}' range must satisfy 0 <= low <= high, "
                         f"got {value}")
    return None if low == high == 1.0 else (low, high)


@TRANSFORMS.register_module()
class PhotometricJitter(nn.Module):
    """Random brightness, contrast, gamma and Gaussian noise from kornia.

    The operations run, in that order, each with probability ``p`` per sample,
    on images mapped to ``[0, 1]``; the result is clamped and mapped back to
    ``[-1, 1]`` in the input dtype. With ``same_for_neutral=True`` (the default)
    ``img`` and ``neutral`` go through one
    :class:`kornia.augmentation.AugmentationSequential` call with two ``input``
    data keys, so a sample's face and neutral share every drawn parameter,
    including the noise field: the lighting change cancels in the residual
    ``img - neutral``, which then still shows only the expression. Set it to
    False to draw the neutral's parameters independently. Neutral images whose
    ``neutral_mask`` is False are returned unchanged; other keys pass through.

    Args:
        brightness (float | tuple[float, float]): Additive brightness factor
            range around 1 (kornia's convention: the image shifts by
            ``factor - 1`` in ``[0, 1]`` units); a float ``d`` means
            ``(1 - d, 1 + d)``, 0 disables. Defaults to 0.1.
        contrast (float | tuple[float, float]): Multiplicative contrast factor
            range, same conventions. Defaults to 0.1.
        gamma (float | tuple[float, float]): Gamma exponent range, same
            conventions. Defaults to 0.1.
        noise_std (float): Standard deviation of additive Gaussian noise in
            ``[0, 1]`` intensity units; 0 disables. Defaults to 0.01.
        p (float): Probability of each operation per sample. Defaults to 0.5.
        same_for_neutral (bool): Share parameters between ``img`` and
            ``neutral``. Defaults to True.
        same_on_batch (bool): Draw one set of parameters for the whole batch.
            Defaults to False.

    Shape:
        - ``batch['img']``, ``batch['neutral']``: ``(B, C, H, W)`` in
          ``[-1, 1]``, ``C`` 1 or 3.
        - ``batch['neutral_mask']``: ``(B,)`` bool, optional.

    Examples:
        >>> import torch
        >>> jitter = PhotometricJitter(brightness=0.2, contrast=0, gamma=0,
        ...                            noise_std=0, p=1.0)
        >>> face = torch.zeros(2, 1, 8, 8)
        >>> out = jitter({'img': face, 'neutral': face.clone()})
        >>> torch.equal(out['img'], out['neutral'])
        True
    """

    def __init__(self, brightness: Range = 0.1, contrast: Range = 0.1, gamma: Range = 0.1,
                 noise_std: float = 0.01, p: float = 0.5, same_for_neutral: bool = True,
                 same_on_batch: bool = False) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"PhotometricJitter: 'p' must be in [0, 1], got {p}")
        if noise_std < 0:
            raise ValueError(f"PhotometricJitter: 'noise_std' must be >= 0, got {noise_std}")
        ops = []
        rng = _factor_range(brightness, "brightness")
        if rng is not None:
            ops.append(K.RandomBrightness(brightness=rng, p=p, same_on_batch=same_on_batch))
        rng = _factor_range(contrast, "contrast")
        if rng is not None:
            ops.append(K.RandomContrast(contrast=rng, p=p, same_on_batch=same_on_batch))
        rng = _factor_range(gamma, "gamma")
        if rng is not None:
            ops.append(K.RandomGamma(gamma=rng, p=p, same_on_batch=same_on_batch))
        if noise_std > 0:
            ops.append(K.RandomGaussianNoise(mean=0.0, std=float(noise_std), p=p,
                                             same_on_batch=same_on_batch))
        if not ops:
            raise ValueError("PhotometricJitter: every operation is disabled "
                             "(brightness, contrast, gamma and noise_std are all 0)")
        self.same_for_neutral = bool(same_for_neutral)
        self.jitter = K.AugmentationSequential(*ops, data_keys=["input"])

    def forward(self, batch: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """Jitter ``img`` and, when present, ``neutral``.

        Args:
            batch (dict[str, Tensor]): Batched tensors with at least ``img``.

        Returns:
            dict[str, Tensor]: A new dict with the same keys.
        """
        if "img" not in batch:
            raise KeyError("PhotometricJitter: the batch has no 'img'")
        img = batch["img"]
        neutral = batch.get("neutral")
        img01 = (img.float() + 1.0) * 0.5
        if neutral is None:
            img_out, neutral_out = self.jitter(img01, data_keys=["input"]), None
        else:
            neutral01 = (neutral.float() + 1.0) * 0.5
            if self.same_for_neutral:
                img_out, neutral_out = self.jitter(img01, neutral01, data_keys=["input", "input"])
            else:
                img_out = self.jitter(img01, data_keys=["input"])
                neutral_out = self.jitter(neutral01, data_keys=["input"])
        out = dict(batch)
        out["img"] = self._back(img_out, img)
        if neutral_out is not None:
            value = self._back(neutral_out, neutral)
            mask = batch.get("neutral_mask")
            if mask is not None:
                mask = mask.to(device=value.device, dtype=torch.bool).view(-1, 1, 1, 1)
                value = torch.where(mask, value, neutral)
            out["neutral"] = value
        return out

    @staticmethod
    def _back(value01: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        return (value01.clamp(0.0, 1.0) * 2.0 - 1.0).to(like.dtype)

    def __repr__(self) -> str:
        children = ", ".join(repr(m) for m in self.jitter.children())
        return (f"{self.__class__.__name__}([{children}], "
                f"same_for_neutral={self.same_for_neutral})")
