"""Stop or skip a training step whose loss is NaN or infinite, before the update.

A non-finite loss back-propagates non-finite gradients: one optimizer step
with them poisons every parameter (and Adam's moments) for good, and every
checkpoint saved afterwards. The policy lives in one place, the optimizer
wrapper through which every errkit model updates
(:class:`~errkit.engine.optimizers.NaNGuardOptimWrapper`, selected by the
schedule configs), which checks the loss of each update *before* ``backward``
with its ``nan_policy``:

- ``'stop'`` (default): raise :class:`NonFiniteLossError` naming the update and
  the iteration. Nothing is updated and no checkpoint is saved after it, so the
  last checkpoint is good and ``--resume`` restarts from it.
- ``'skip'``: log a warning naming the update and the iteration, leave the
  parameters (and the buffers of the skipped forward pass) as they were;
  training goes on.

:class:`~errkit.engine.hooks.NaNGuardHook` checks every term a model logs after
each iteration: it names the terms of skipped updates and keeps them out of the
logs, and stops models trained with a wrapper that does not guard its updates.
"""

from __future__ import annotations

import logging
from typing import List, Mapping, Sequence

import torch
from mmengine.logging import MessageHub, print_log

__all__ = ["NAN_POLICIES", "NonFiniteLossError", "TooManySkippedUpdatesError",
           "check_nan_policy", "non_finite_terms", "check_finite", "current_iteration"]

#: What to do with a non-finite loss: raise, or skip the update.
NAN_POLICIES = ("stop", "skip")


class NonFiniteLossError(FloatingPointError):
    """A loss term is NaN or infinite; training stopped before applying it.

    Args:
        terms (Sequence[str]): The non-finite terms, with their values.
        iteration (int): The training iteration (1-based, as in the logs).
        where (str): Who detected it (optimizer wrapper or hook). Defaults to
            ``''``.
        applied (bool): The update was already applied (detected after the
            step, by :class:`~errkit.engine.hooks.NaNGuardHook`). Defaults to False.
    """

    def __init__(self, terms: Sequence[str], iteration: int, where: str = "",
                 applied: bool = False) -> None:
        self.terms = list(terms)
        self.iteration = iteration
        who = f"{where}: " if where else ""
        update = ("The update was applied, but nothing was saved after it"
                  if applied else "The update was not applied and nothing was saved after it")
        super().__init__(
            f"{who}non-finite loss at iteration {iteration}: {', '.join(self.terms)}. "
            f"{update}; resume from the last good checkpoint with `--resume`, lower the "
            "learning rate, or give the optimizer wrapper nan_policy='skip' (optim_wrapper "
            "config) to skip such updates.")


class TooManySkippedUpdatesError(FloatingPointError):
    """Too many iterations skipped an update for a non-finite loss; training stopped.

    ``nan_policy='skip'`` is meant for a rare bad batch. When most updates are
    skipped, the run trains nothing while it seems to go on;
    :class:`~errkit.engine.hooks.NaNGuardHook` ends it with this error (see its
    ``max_skip_ratio``).

    Args:
        skipped (int): Iterations with a skipped update in the window.
        seen (int): Iterations in the window.
        iteration (int): The training iteration (1-based).
        max_skip_ratio (float): The limit that was passed.
        total (int): Updates skipped since training started.
    """

    def __init__(self, skipped: int, seen: int, iteration: int, max_skip_ratio: float,
                 total: int) -> None:
        self.skipped, self.seen, self.iteration = skipped, seen, iteration
        super().__init__(
            f"NaNGuardHook: {skipped} of the last {seen} iterations skipped an update for a "
            f"non-finite loss ({skipped / seen:.0%}, more than the limit of "
            f"{max_skip_ratio:.0%}); training stopped at iteration {iteration} after {total} "
            "skipped update(s) in all. Saved checkpoints hold no skipped update. Lower the "
            "learning rate or check the data, then --resume; or raise "
            "default_hooks.nan_guard.max_skip_ratio.")


def check_nan_policy(policy: str, owner: str) -> str:
    """Validate a ``nan_policy`` argument.

    Raises:
        ValueError: ``policy`` is not one of :data:`NAN_POLICIES`.
    """
    if policy not in NAN_POLICIES:
        raise ValueError(f"{owner}: nan_policy must be one of {NAN_POLICIES}, got {policy!r}")
    return policy


def _values(value) -> List[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (list, tuple)):
        return [v for v in value if isinstance(v, torch.Tensor)]
    if isinstance(value, (int, float)):
        return [torch.tensor(float(value))]
    return []


def non_finite_terms(losses: Mapping[str, object]) -> List[str]:
    """Names (with values) of the ``loss``-terms of ``losses`` that are not finite.

    Only keys containing ``'loss'`` are checked (those that mmengine's
    ``parse_losses`` sums). One device synchronisation when all are finite.

    Args:
        losses (Mapping[str, Tensor | list[Tensor] | float]): Loss terms.

    Returns:
        list[str]: ``'name=value'`` entries, empty when all are finite.

    Examples:
        >>> non_finite_terms({'loss_a': torch.tensor(1.0), 'loss_b': torch.tensor(float('nan'))})
        ['loss_b=nan']
    """
    keys, flags = [], []
    for key, value in losses.items():
        if "loss" not in key:
            continue
        for tensor in _values(value):
            keys.append((key, tensor))
            flags.append(torch.isfinite(tensor.detach()).all())
    if not flags or bool(torch.stack([f.to(flags[0].device) for f in flags]).all()):
        return []
    bad, seen = [], set()
    for (key, tensor), flag in zip(keys, flags):
        if not bool(flag) and key not in seen:
            seen.add(key)
            detached = tensor.detach().float()
            shown = detached.item() if detached.numel() == 1 else "non-finite values"
            bad.append(f"{key}={shown}")
    # The total is only at fault alone when the terms are finite (an overflowing sum).
    if len(bad) > 1:
        bad = [b for b in bad if not b.startswith("loss=")]
    return bad


def current_iteration(fallback: int = 0) -> int:
    """The runner's current training iteration, 1-based (as mmengine logs it).

    Args:
        fallback (int): 0-based count used outside a runner. Defaults to 0.

    Returns:
        int: ``runner.iter + 1`` from mmengine's message hub, else ``fallback + 1``.
    """
    iteration = MessageHub.get_current_instance().get_info("iter")
    return (int(iteration) if iteration is not None else int(fallback)) + 1


def check_finite(losses: Mapping[str, object], iteration: int, action: str = "stop",
                 where: str = "") -> bool:
    """Check a step's loss terms before ``backward``.

    Args:
        losses (Mapping[str, Tensor]): The step's terms (``loss_*`` and totals).
        iteration (int): Training iteration for the message (1-based).
        action (str): ``'stop'`` or ``'skip'``. Defaults to ``'stop'``.
        where (str): Name of the caller for the message. Defaults to ``''``.

    Returns:
        bool: True when every term is finite (update as usual); False with
        ``action='skip'`` when one is not (the caller skips the update).

    Raises:
        NonFiniteLossError: A term is not finite and ``action='stop'``.

    Examples:
        >>> check_finite({'loss_cls': torch.tensor(0.5)}, iteration=3)
        True
        >>> check_finite({'loss_cls': torch.tensor(float('inf'))}, 3)
        Traceback (most recent call last):
        ...
        errkit.engine.nan_guard.NonFiniteLossError: non-finite loss at iteration 3: ...
    """
    check_nan_policy(action, "check_finite")
    bad = non_finite_terms(losses)
    if not bad:
        return True
    if action == "stop":
        raise NonFiniteLossError(bad, iteration, where)
    who = f"{where}: " if where else ""
    print_log(f"{who}non-finite loss at iteration {iteration}: {', '.join(bad)}; skipped "
              "this update (nan_policy='skip')", logger="current", level=logging.WARNING)
    return False

