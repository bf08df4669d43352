"""Watch every loss term a model logs for NaN and infinity."""

from __future__ import annotations

import logging
from typing import Optional

from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from errkit.engine.nan_guard import NonFiniteLossError, non_finite_terms
from errkit.registry import HOOKS

__all__ = ["NaNGuardHook"]

#: Actions of :class:`NaNGuardHook`.
HOOK_ACTIONS = ("stop", "warn")


@HOOKS.register_module()
class NaNGuardHook(Hook):
    """Check the loss terms of every training iteration; report skipped steps.

    After each iteration the terms that the model returned (``loss`` and every
    ``loss_*``) are checked. By then the model's update has been applied, so
    this hook is the second line of defence: errkit's models check their terms
    *before* the update themselves (their ``nan_policy``, see
    :mod:`errkit.engine.nan_guard`), and in ``'skip'`` mode they do not return
    the skipped terms. The hook catches models that do not guard themselves:
    with ``action='stop'`` it raises before any later hook (the checkpoint hook
    included) runs, so no checkpoint holds the poisoned weights.

    At the end of each training epoch it logs how many steps the model skipped
    (its ``nan_skipped_steps`` counter) and stores the count in the message
    hub as ``nan_skipped_steps``.

    Args:
        action (str): ``'stop'`` (raise
            :class:`~errkit.engine.nan_guard.NonFiniteLossError`) or ``'warn'``.
            Defaults to ``'stop'``.

    Examples:
        In a config (``configs/_base_/default_runtime.py`` does this)::

            default_hooks = dict(nan_guard=dict(type='NaNGuardHook'))
    """

    # Before the checkpoint (VERY_LOW) and logger (BELOW_NORMAL) hooks.
    priority = "HIGH"

    def __init__(self, action: str = "stop") -> None:
        if action not in HOOK_ACTIONS:
            raise ValueError(f"NaNGuardHook: action must be one of {HOOK_ACTIONS}, got {action!r}")
        self.action = action
        self._reported_skips = 0

    @staticmethod
    def _model(runner):
        return runner.model.module if is_model_wrapper(runner.model) else runner.model

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        """Raise or warn when a logged loss term is not finite."""
        if not outputs:
            return
        bad = non_finite_terms(outputs)
        if not bad:
            return
        iteration = runner.iter + 1
        if self.action == "stop":
            raise NonFiniteLossError(bad, iteration, "NaNGuardHook", applied=True)
        print_log(f"NaNGuardHook: non-finite loss at iteration {iteration}: {', '.join(bad)} "
                  "(the update was applied)", logger="current", level=logging.WARNING)

    def after_train_epoch(self, runner) -> None:
        """Log the model's skipped steps when their number grew."""
        skipped = int(getattr(self._model(runner), "nan_skipped_steps", 0))
        runner.message_hub.update_info("nan_skipped_steps", skipped)
        if skipped > self._reported_skips:
            print_log(f"NaNGuardHook: {skipped} training step(s) skipped so far for a "
                      "non-finite loss", logger="current", level=logging.WARNING)
            self._reported_skips = skipped
