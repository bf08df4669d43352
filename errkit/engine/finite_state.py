"""Never save a checkpoint whose weights or buffers are NaN or infinite.

A skipped or stopped update keeps the parameters finite, but a forward pass
can still poison a buffer (a BatchNorm running statistic fed a non-finite
activation), and a model without a guarded optimizer wrapper can poison
everything. A checkpoint written then is useless, and ``--resume`` would pick
it. :class:`~errkit.engine.ErrkitRunner` checks the model's state with
:func:`first_non_finite` before every save and raises
:class:`NonFiniteStateError` instead of writing.
"""

from __future__ import annotations

from typing import Mapping, Optional, Tuple

import torch

__all__ = ["NonFiniteStateError", "first_non_finite"]


class NonFiniteStateError(FloatingPointError):
    """The model holds NaN or infinite weights or buffers; nothing was saved."""


def first_non_finite(state: Mapping[str, object]) -> Optional[Tuple[str, int, int]]:
    """The first floating-point tensor of ``state`` with a NaN or infinite value.

    Args:
        state (Mapping[str, object]): A state dict (non-tensors are skipped).

    Returns:
        tuple | None: ``(name, non-finite count, numel)``, or None when every
        tensor is finite.

    Examples:
        >>> state = {'w': torch.ones(2), 'bn.running_var': torch.tensor([1.0, float('nan')])}
        >>> first_non_finite(state)
        ('bn.running_var', 1, 2)
    """
    for name, value in state.items():
        if torch.is_tensor(value) and (value.is_floating_point() or value.is_complex()):
            finite = torch.isfinite(value.detach())
            if not bool(finite.all()):
                return name, int((~finite).sum()), value.numel()
    return None
