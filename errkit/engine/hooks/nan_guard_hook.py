"""Watch every loss term a model logs for NaN and infinity."""

from __future__ import annotations

import logging
from collections import deque
from typing import Deque, List, Optional

import torch
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.optim import OptimWrapperDict

from errkit.engine.nan_guard import NonFiniteLossError, TooManySkippedUpdatesError, non_finite_terms
from errkit.registry import HOOKS

__all__ = ["NaNGuardHook"]

#: Actions of :class:`NaNGuardHook`.
HOOK_ACTIONS = ("stop", "warn")


def _non_finite_keys(outputs: dict) -> List[str]:
    return [key for key, value in outputs.items()
            if isinstance(value, torch.Tensor) and not bool(torch.isfinite(value).all())]


@HOOKS.register_module()
class NaNGuardHook(Hook):
    """Check the loss terms of every training iteration; report skipped updates.

    The NaN/Inf policy itself belongs to the optimizer wrapper
    (:class:`~errkit.engine.optimizers.NaNGuardOptimWrapper`), which checks
    each update's loss *before* applying it. After each iteration this hook
    checks every term the model returned (``loss`` and every ``loss_*``):

    - when a wrapper skipped an update in this iteration
      (``nan_policy='skip'``), it names the non-finite terms in a warning and
      removes them from the iteration's outputs, so the logs stay finite (the
      hook runs before mmengine's ``RuntimeInfoHook`` records them);
    - otherwise the update was applied (a wrapper without a policy): with
      ``action='stop'`` it raises
      :class:`~errkit.engine.nan_guard.NonFiniteLossError` before any later
      hook (the checkpoint hook included) runs, so no checkpoint holds the
      poisoned weights.

    Skipping is meant for a rare bad batch. When more than ``max_skip_ratio``
    of the last ``window`` iterations skipped an update (of all iterations so
    far, while fewer have run; checked from ``min_iters`` iterations on), the
    hook raises :class:`~errkit.engine.nan_guard.TooManySkippedUpdatesError`
    with a summary, before the checkpoint hook runs: ``errkit train`` exits
    with status 1 instead of training nothing to the end.

    At the end of each training epoch it logs how many updates the wrappers
    skipped and stores the count in the message hub as
    ``nan_skipped_updates``; at the end of training it logs the total.

    Args:
        action (str): ``'stop'`` (raise
            :class:`~errkit.engine.nan_guard.NonFiniteLossError`) or ``'warn'``.
            Defaults to ``'stop'``.
        max_skip_ratio (float, optional): The largest share of iterations in
            the window that may skip an update, in ``[0, 1]``. None: no limit.
            Defaults to 0.5.
        window (int): Number of most recent iterations the share is taken
            over. Defaults to 50.
        min_iters (int): Iterations to run before the share is checked.
            Defaults to 10.

    Examples:
        In a config (``configs/_base_/default_runtime.py`` does this)::

            default_hooks = dict(nan_guard=dict(type='NaNGuardHook'))
            # tolerate up to one skipped update in five over 100 iterations
            default_hooks = dict(nan_guard=dict(max_skip_ratio=0.2, window=100))
    """

    # Before RuntimeInfoHook (VERY_HIGH), which records the outputs for the
    # logs, and the checkpoint (VERY_LOW) and logger (BELOW_NORMAL) hooks.
    priority = "HIGHEST"

    def __init__(self, action: str = "stop", max_skip_ratio: Optional[float] = 0.5,
                 window: int = 50, min_iters: int = 10) -> None:
        if action not in HOOK_ACTIONS:
            raise ValueError(f"NaNGuardHook: action must be one of {HOOK_ACTIONS}, got {action!r}")
        if max_skip_ratio is not None and not 0 <= max_skip_ratio <= 1:
            raise ValueError(f"NaNGuardHook: max_skip_ratio must lie in [0, 1] (or be None), "
                             f"got {max_skip_ratio!r}")
        if window < 1 or min_iters < 1:
            raise ValueError(f"NaNGuardHook: window and min_iters must be >= 1, got {window} "
                             f"and {min_iters}")
        self.action = action
        self.max_skip_ratio = max_skip_ratio
        self.window = int(window)
        self.min_iters = int(min_iters)
        self._recent: Deque[bool] = deque(maxlen=self.window)
        self._seen_skips = 0
        self._reported_skips = 0

    @staticmethod
    def _skipped_updates(runner) -> int:
        wrapper = getattr(runner, "optim_wrapper", None)
        if wrapper is None:
            return 0
        wrappers = wrapper.values() if isinstance(wrapper, OptimWrapperDict) else [wrapper]
        return sum(int(getattr(w, "skipped_updates", 0)) for w in wrappers)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        """Report the terms of a skipped update, or raise/warn for an applied one;
        stop when too many iterations skipped an update."""
        skipped = self._skipped_updates(runner)
        skipped_now, self._seen_skips = skipped > self._seen_skips, skipped
        self._recent.append(skipped_now)
        self._check_skip_share(runner, skipped)
        if not outputs:
            return
        bad = non_finite_terms(outputs)
        if not bad:
            return
        iteration = runner.iter + 1
        if skipped_now:
            for key in _non_finite_keys(outputs):
                outputs.pop(key)
            print_log(f"NaNGuardHook: non-finite loss at iteration {iteration}: {', '.join(bad)}; "
                      "the update was skipped (nan_policy='skip') and these values are left "
                      "out of the logs", logger="current", level=logging.WARNING)
            return
        if self.action == "stop":
            raise NonFiniteLossError(bad, iteration, "NaNGuardHook", applied=True)
        print_log(f"NaNGuardHook: non-finite loss at iteration {iteration}: {', '.join(bad)} "
                  "(the update was applied)", logger="current", level=logging.WARNING)

    def _check_skip_share(self, runner, total: int) -> None:
        seen, share = len(self._recent), sum(self._recent)
        if (self.max_skip_ratio is None or seen < min(self.min_iters, self.window)
                or share <= self.max_skip_ratio * seen):
            return
        raise TooManySkippedUpdatesError(share, seen, runner.iter + 1, self.max_skip_ratio,
                                         total)

    def after_train(self, runner) -> None:
        """Log how many updates were skipped over the whole run."""
        skipped = self._skipped_updates(runner)
        if skipped:
            print_log(f"NaNGuardHook: {skipped} update(s) skipped for a non-finite loss in "
                      f"this run (of {runner.iter} iterations)", logger="current",
                      level=logging.WARNING)

    def after_train_epoch(self, runner) -> None:
        """Log the wrappers' skipped updates when their number grew."""
        skipped = self._skipped_updates(runner)
        runner.message_hub.update_info("nan_skipped_updates", skipped)
        if skipped > self._reported_skips:
            print_log(f"NaNGuardHook: {skipped} update(s) skipped so far for a non-finite "
                      "loss", logger="current", level=logging.WARNING)
            self._reported_skips = skipped
