"""Residual grids: input | generated neutral | residual | true neutral, as one image.

The residual ``input - neutral`` is drawn with a diverging colour map (zero
white, red where the input is brighter, blue where it is darker) on a scale
given in **intensity units**: the images scaled to ``[0, 1]``, so a residual
of ``+0.25`` is a pixel a quarter of the full grey range brighter than the
neutral face. The scale is fixed by default (:data:`RESIDUAL_SCALE`), so the
colours of two faces, two epochs or two models compare; ``'per_image'``
stretches each residual to its own largest value instead (every image then
looks equally strong).
"""

from __future__ import annotations

from typing import List, Optional, Sequence, Union

import numpy as np
import torch

__all__ = ["RESIDUAL_SCALE", "ResidualScale", "check_residual_scale", "residual_limit",
           "to_uint8_image", "signed_colormap", "residual_panels", "residual_row",
           "residual_grid"]

#: Half-range of the fixed residual colour scale, in intensity units (images in
#: ``[0, 1]``). On the synthetic faces, 99.5 % of the pixels of the true residual
#: (expressive peak minus its exact neutral face) lie within +-0.25; the largest
#: value of one face lies between 0.15 and 0.52 (10th to 90th percentile), so the
#: strongest movements (an opened mouth) saturate and subtle ones stay visible.
RESIDUAL_SCALE = 0.25

#: A residual colour scale: ``'fixed'`` (:data:`RESIDUAL_SCALE`), ``'per_image'``,
#: or a half-range in intensity units.
ResidualScale = Union[str, float]


def _as_array(residual: Union[torch.Tensor, np.ndarray]) -> np.ndarray:
    if isinstance(residual, torch.Tensor):
        return residual.detach().float().cpu().numpy()
    return np.asarray(residual, dtype=np.float32)


def check_residual_scale(scale: ResidualScale) -> ResidualScale:
    """Validate a residual colour scale and bring it to its canonical form.

    Args:
        scale (str | float): ``'fixed'``, ``'per_image'`` (or ``'per-image'``),
            or a positive half-range in intensity units (a number or its text).

    Returns:
        str | float: ``'fixed'``, ``'per_image'`` or a float.

    Raises:
        ValueError: Anything else; the message says what is accepted.

    Examples:
        >>> check_residual_scale('per-image'), check_residual_scale('0.4')
        ('per_image', 0.4)
    """
    if isinstance(scale, str):
        if scale in ("fixed", "per_image", "per-image"):
            return scale.replace("-", "_")
        try:
            scale = float(scale)
        except ValueError:
            scale = None
    if isinstance(scale, (int, float)) and not isinstance(scale, bool) and scale > 0:
        return float(scale)
    raise ValueError(f"residual scale must be 'fixed', 'per_image' or a positive half-range "
                     f"in intensity units (0 to 1), got {scale!r}")


def residual_limit(residual: Union[torch.Tensor, np.ndarray, None],
                   scale: ResidualScale = "fixed") -> float:
    """Half-range of the colour scale of a residual, in intensity units.

    Args:
        residual (Tensor | np.ndarray | None): The residual in the model's
            ``[-1, 1]`` image units (read only for ``'per_image'``).
        scale (str | float): ``'fixed'``, ``'per_image'`` or a half-range in
            intensity units. Defaults to ``'fixed'``.

    Returns:
        float: The half-range, at least ``1e-6``.

    Raises:
        ValueError: An invalid scale (see :func:`check_residual_scale`), or
            ``'per_image'`` without a residual.

    Examples:
        >>> residual_limit(None), round(residual_limit(torch.tensor([-0.8, 0.2]), 'per_image'), 3)
        (0.25, 0.4)
    """
    scale = check_residual_scale(scale)
    if scale == "fixed":
        return RESIDUAL_SCALE
    if scale == "per_image":
        if residual is None:
            raise ValueError("a per-image residual scale needs the residual")
        return max(float(np.abs(_as_array(residual)).max()) / 2.0, 1e-6)
    return float(scale)


def to_uint8_image(img: torch.Tensor) -> np.ndarray:
    """``(C, H, W)`` in ``[-1, 1]`` -> ``(H, W, 3)`` uint8 RGB.

    Examples:
        >>> to_uint8_image(torch.zeros(1, 2, 2))[0, 0].tolist()
        [128, 128, 128]
    """
    arr = img.detach().float().cpu().clamp(-1, 1).add(1).mul(127.5).round().byte()
    arr = arr.permute(1, 2, 0).numpy()
    return np.repeat(arr, 3, axis=2) if arr.shape[2] == 1 else arr[..., :3]


def signed_colormap(residual: Union[torch.Tensor, np.ndarray], scale: ResidualScale = "fixed",
                    cmap: str = "RdBu_r") -> np.ndarray:
    """Show a signed residual with a diverging colour map.

    Channels are averaged; zero is white, positive red, negative blue. The
    residual is converted to intensity units (half of the model's ``[-1, 1]``
    units) and drawn on a symmetric range given by ``scale`` (see
    :func:`residual_limit`); values beyond it take the end colours.

    Args:
        residual (Tensor | np.ndarray): ``(C, H, W)`` (a tensor) or ``(H, W, C)``
            / ``(H, W)`` (an array), in the model's ``[-1, 1]`` image units.
        scale (str | float): ``'fixed'``, ``'per_image'`` or a half-range in
            intensity units. Defaults to ``'fixed'``.
        cmap (str): A matplotlib colour map. Defaults to ``'RdBu_r'``.

    Returns:
        np.ndarray: ``(H, W, 3)`` uint8 RGB.

    Examples:
        >>> signed_colormap(torch.zeros(1, 2, 2))[0, 0].tolist()  # zero is white
        [247, 246, 246]
        >>> signed_colormap(torch.full((1, 1, 1), 0.5))[0, 0].tolist()  # +0.25: full red
        [103, 0, 31]
    """
    from matplotlib import colormaps  # only to draw figures

    arr = _as_array(residual)
    if isinstance(residual, torch.Tensor) and arr.ndim == 3:
        arr = arr.mean(axis=0)
    elif arr.ndim == 3:
        arr = arr.mean(axis=2)
    limit = residual_limit(arr, scale)
    rgba = colormaps[cmap](np.clip((arr / 2.0) / limit, -1.0, 1.0) / 2.0 + 0.5)
    return (rgba[..., :3] * 255).round().astype(np.uint8)


def residual_panels(input_img: torch.Tensor, neutral: torch.Tensor, residual: torch.Tensor,
                    gt_neutral: Optional[torch.Tensor] = None,
                    scale: ResidualScale = "fixed") -> List[np.ndarray]:
    """The panels of one face: input, generated neutral, residual, true neutral.

    Args:
        input_img, neutral, residual (Tensor): ``(C, H, W)``, in ``[-1, 1]``.
        gt_neutral (Tensor, optional): The true neutral, when known.
        scale (str | float): Colour scale of the residual (see
            :func:`residual_limit`). Defaults to ``'fixed'``.

    Returns:
        list[np.ndarray]: Three or four ``(H, W, 3)`` uint8 RGB panels.
    """
    panels = [to_uint8_image(input_img), to_uint8_image(neutral),
              signed_colormap(residual, scale)]
    if gt_neutral is not None:
        panels.append(to_uint8_image(gt_neutral))
    return panels


def residual_row(input_img: torch.Tensor, neutral: torch.Tensor, residual: torch.Tensor,
                 gt_neutral: Optional[torch.Tensor] = None, pad: int = 2,
                 scale: ResidualScale = "fixed") -> np.ndarray:
    """One row: input | generated neutral | residual (signed colours) | true neutral.

    Args:
        input_img, neutral, residual (Tensor): ``(C, H, W)``, images in ``[-1, 1]``.
        gt_neutral (Tensor, optional): The true neutral, when known.
        pad (int): White pixels between panels. Defaults to 2.
        scale (str | float): Colour scale of the residual (see
            :func:`residual_limit`). Defaults to ``'fixed'``.

    Returns:
        np.ndarray: ``(H, W_total, 3)`` uint8 RGB.
    """
    panels = residual_panels(input_img, neutral, residual, gt_neutral, scale)
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
