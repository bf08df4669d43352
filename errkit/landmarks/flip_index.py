"""Horizontal-flip permutation of the 68-point (iBUG 300-W) landmark layout.

Mirroring an image moves every landmark to ``x' = W - 1 - x`` (the pixel-centre
convention of :func:`kornia.geometry.transform.hflip`), but the point that was
the subject's right eye corner now sits where a left eye corner belongs. To keep
each index meaning the same facial part, the mirrored points are re-indexed with
:data:`FLIP_INDEX_68`: ``flipped[i] = mirrored[FLIP_INDEX_68[i]]``.
"""

from __future__ import annotations

from typing import TypeVar, Union

import numpy as np
import torch

__all__ = ["FLIP_INDEX_68", "flip_landmarks"]


def _build_flip_index() -> np.ndarray:
    pairs = (
        [(i, 16 - i) for i in range(8)]                 # jaw 0-16
        + [(17 + i, 26 - i) for i in range(5)]          # brows 17-21 / 22-26
        + [(31, 35), (32, 34)]                          # nostrils
        + [(36, 45), (37, 44), (38, 43), (39, 42),      # eye corners and lids
           (40, 47), (41, 46)]
        + [(48, 54), (49, 53), (50, 52),                # outer upper lip
           (55, 59), (56, 58)]                          # outer lower lip
        + [(60, 64), (61, 63), (65, 67)]                # inner lips
    )
    index = list(range(68))
    for a, b in pairs:
        index[a], index[b] = b, a
    array = np.asarray(index, dtype=np.int64)
    array.setflags(write=False)
    return array


#: For each of the 68 points, the index of its mirror partner under a horizontal
#: flip (0<->16, 17<->26, 36<->45, 39<->42, 48<->54, ...). The nose bridge 27-30,
#: the nose tip 33 and the lip mid-points 51, 57, 62, 66 map to themselves. The
#: permutation is an involution: applying it twice gives the identity. A
#: read-only int64 array, so ``points[FLIP_INDEX_68]`` re-indexes a ``(68, 2)``
#: numpy array directly (``torch.from_numpy`` needs a ``.copy()``).
FLIP_INDEX_68: np.ndarray = _build_flip_index()

ArrayLike = TypeVar("ArrayLike", np.ndarray, torch.Tensor)


def flip_landmarks(points: ArrayLike, width: Union[int, float]) -> ArrayLike:
    """Mirror 68-point landmarks horizontally and restore their identities.

    Each point moves to ``x' = width - 1 - x`` (``y`` unchanged), as it does
    under :func:`kornia.geometry.transform.hflip` of an image ``width`` pixels
    wide, and the points are then re-indexed with :data:`FLIP_INDEX_68`, so
    index 36 still denotes the subject's right outer eye corner.

    Args:
        points (np.ndarray | torch.Tensor): Pixel ``(x, y)`` landmarks.
        width (int | float): Width of the image the points live in, in pixels.

    Returns:
        np.ndarray | torch.Tensor: The flipped landmarks, same type, dtype and
        device as ``points`` (a new array; the input is not modified).

    Raises:
        ValueError: If ``points`` is not shaped ``(..., 68, 2)``.

    Shape:
        - points: ``(..., 68, 2)``.
        - output: ``(..., 68, 2)``.

    Examples:
        >>> import numpy as np
        >>> pts = np.zeros((68, 2), dtype=np.float32)
        >>> pts[36] = (10, 20)   # subject's right eye, outer corner (image left)
        >>> pts[45] = (50, 20)   # subject's left eye, outer corner (image right)
        >>> out = flip_landmarks(pts, width=64)
        >>> out[36].tolist(), out[45].tolist()
        ([13.0, 20.0], [53.0, 20.0])
    """
    if points.ndim < 2 or tuple(points.shape[-2:]) != (68, 2):
        raise ValueError(
            f"flip_landmarks expects points shaped (..., 68, 2), got {tuple(points.shape)}")
    if isinstance(points, torch.Tensor):
        index = torch.tensor(FLIP_INDEX_68.tolist(), dtype=torch.long, device=points.device)
        out = points.index_select(-2, index).clone()
    else:
        out = np.take(np.asarray(points), FLIP_INDEX_68, axis=-2).copy()
    out[..., 0] = (width - 1) - out[..., 0]
    return out
