"""Residual grids: input | generated neutral | residual | true neutral, as one image."""

from __future__ import annotations

from typing import List, Optional, Sequence

import numpy as np
import torch

__all__ = ["to_uint8_image", "signed_colormap", "residual_row", "residual_grid"]


def to_uint8_image(img: torch.Tensor) -> np.ndarray:
    """``(C, H, W)`` in ``[-1, 1]`` -> ``(H, W, 3)`` uint8 RGB.

    Examples:
        >>> to_uint8_image(torch.zeros(1, 2, 2))[0, 0].tolist()
        [128, 128, 128]
    """
    arr = img.detach().float().cpu().clamp(-1, 1).add(1).mul(127.5).round().byte()
    arr = arr.permute(1, 2, 0).numpy()
    return np.repeat(arr, 3, axis=2) if arr.shape[2] == 1 else arr[..., :3]


def signed_colormap(residual: torch.Tensor, limit: Optional[float] = None,
                    cmap: str = "RdBu_r") -> np.ndarray:
    """Show a signed residual ``(C, H, W)`` with a diverging colour map.

    Channels are averaged; zero is white, positive red, negative blue, and the
    colour range is symmetric (``limit`` or the largest magnitude).

    Returns:
        np.ndarray: ``(H, W, 3)`` uint8 RGB.
    """
    from matplotlib import colormaps

    res = residual.detach().float().cpu().mean(dim=0).numpy()
    lim = float(limit) if limit is not None else float(np.abs(res).max())
    lim = max(lim, 1e-6)
    rgba = colormaps[cmap]((res / lim + 1.0) / 2.0)
    return (rgba[..., :3] * 255).round().astype(np.uint8)


def residual_row(input_img: torch.Tensor, neutral: torch.Tensor, residual: torch.Tensor,
                 gt_neutral: Optional[torch.Tensor] = None, pad: int = 2) -> np.ndarray:
    """One row: input | generated neutral | residual (signed colours) | true neutral.

    Args:
        input_img, neutral, residual (Tensor): ``(C, H, W)``, images in ``[-1, 1]``.
        gt_neutral (Tensor, optional): The true neutral, when known.
        pad (int): White pixels between panels. Defaults to 2.

    Returns:
        np.ndarray: ``(H, W_total, 3)`` uint8 RGB.
    """
    panels = [to_uint8_image(input_img), to_uint8_image(neutral), signed_colormap(residual)]
    if gt_neutral is not None:
        panels.append(to_uint8_image(gt_neutral))
    h = panels[0].shape[0]
    gap = np.full((h, pad, 3), 255, np.uint8)
    out: List[np.ndarray] = []
    for i, p in enumerate(panels):
        out += [p] if i == 0 else [gap, p]
    return np.concatenate(out, axis=1)


def residual_grid(rows: Sequence[np.ndarray], pad: int = 2) -> np.ndarray:
    """Stack rows of :func:`residual_row` (padding narrower rows on the right)."""
    width = max(r.shape[1] for r in rows)
    padded = []
    for i, r in enumerate(rows):
        if r.shape[1] < width:
            r = np.concatenate([r, np.full((r.shape[0], width - r.shape[1], 3), 255, np.uint8)], 1)
        if i:
            padded.append(np.full((pad, width, 3), 255, np.uint8))
        padded.append(r)
    return np.concatenate(padded, axis=0)
