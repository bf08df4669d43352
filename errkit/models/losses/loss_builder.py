"""Build a loss from its config; its weight is part of the config."""

from __future__ import annotations

import torch.nn as nn

from errkit.registry import LOSSES


def build_loss(cfg: dict, field: str) -> nn.Module:
    """Build a ``LOSSES`` config and check its ``loss_weight``.

    errkit follows OpenMMLab's convention: each loss config carries the weight
    of its term (``loss_weight``) and the loss multiplies by it; models add the
    terms as they are. A weight of 0 tells the model to drop the term.

    Args:
        cfg (dict): ``LOSSES`` config.
        field (str): Where the config sits (e.g. ``'model.losses.l1'``), for
            the error message.

    Returns:
        nn.Module: The loss.

    Raises:
        ValueError: The loss's ``loss_weight`` is negative.

    Examples:
        >>> build_loss(dict(type='MaskedL1Loss', loss_weight=10.0), 'model.losses.l1')
        MaskedL1Loss(loss_weight=10.0)
    """
    loss = LOSSES.build(cfg)
    weight = getattr(loss, "loss_weight", None)
    if weight is not None and float(weight) < 0:
        raise ValueError(f"{field}.loss_weight must be >= 0, got {weight} (0 drops the term)")
    return loss


def loss_weight(loss: nn.Module) -> float:
    """The weight of a built loss (1 for losses without ``loss_weight``).

    Args:
        loss (nn.Module): A loss.

    Returns:
        float: Its ``loss_weight``.
    """
    return float(getattr(loss, "loss_weight", 1.0))
