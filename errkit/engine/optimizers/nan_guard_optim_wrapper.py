"""Optimizer wrappers that stop or skip an update whose loss is NaN or infinite."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Dict, Iterator, Optional, Tuple

import torch
import torch.nn as nn
from mmengine.optim import AmpOptimWrapper, OptimWrapper

from errkit.engine.nan_guard import check_finite, check_nan_policy, current_iteration
from errkit.registry import OPTIM_WRAPPERS

__all__ = ["NaNGuardOptimWrapper", "NaNGuardAmpOptimWrapper", "amp_variant"]


class _NaNGuardMixin:
    """The NaN/Inf policy, added to an mmengine optimizer wrapper.

    ``update_params(loss)`` checks ``loss`` before ``backward``:

    - ``nan_policy='stop'``: raise
      :class:`~errkit.engine.nan_guard.NonFiniteLossError` naming the wrapper
      (``optim_wrapper.<key>``), the iteration and the value; nothing is updated.
    - ``nan_policy='skip'``: log a warning, leave the parameters, their
      gradients and the optimizer state as they were, count the update in
      :attr:`skipped_updates`, and restore the buffers (BatchNorm running
      statistics, spectral-norm vectors) of every module that ran inside
      :meth:`optim_context` since the last update, so that the skipped forward
      pass leaves no trace.
    """

    def __init__(self, *args, nan_policy: str = "stop", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.nan_policy = check_nan_policy(nan_policy, type(self).__name__)
        #: Key of the wrapper in the model's ``OptimWrapperDict`` (set by
        #: :class:`~errkit.engine.optimizers.MultiOptimWrapperConstructor`), for messages.
        self.name: Optional[str] = None
        #: Updates skipped for a non-finite loss (``nan_policy='skip'``).
        self.skipped_updates = 0
        self._calls = 0
        # id(module) -> (module, iteration of the snapshot, buffers before the forward)
        self._buffer_snapshots: Dict[int, Tuple[nn.Module, Optional[int], Dict]] = {}

    @contextmanager
    def optim_context(self, model: nn.Module) -> Iterator[None]:
        """mmengine's context (AMP autocast, ``no_sync``), plus a snapshot of
        ``model``'s buffers under ``nan_policy='skip'``.

        Args:
            model (nn.Module): The module (or sub-network) about to run.
        """
        if self.nan_policy == "skip":
            self._snapshot_buffers(model)
        with super().optim_context(model):
            yield

    def _snapshot_buffers(self, model: nn.Module) -> None:
        from mmengine.logging import MessageHub

        iteration = MessageHub.get_current_instance().get_info("iter")
        held = self._buffer_snapshots.get(id(model))
        if held is not None and held[1] == iteration:
            return  # already taken before this update's first forward pass
        buffers = {name: buf.detach().clone() for name, buf in model.named_buffers()}
        self._buffer_snapshots[id(model)] = (model, iteration, buffers)

    def _restore_buffers(self) -> None:
        with torch.no_grad():
            for model, _, buffers in self._buffer_snapshots.values():
                for name, buf in model.named_buffers():
                    if name in buffers:
                        buf.copy_(buffers[name])

    def update_params(self, loss: torch.Tensor, step_kwargs: Optional[Dict] = None,
                      zero_kwargs: Optional[Dict] = None) -> None:
        """Apply the NaN/Inf policy to ``loss``, then update as mmengine does.

        Args:
            loss (Tensor): The scalar objective.
            step_kwargs (dict, optional): Arguments of ``optimizer.step``.
            zero_kwargs (dict, optional): Arguments of ``optimizer.zero_grad``.

        Raises:
            NonFiniteLossError: ``loss`` is not finite and ``nan_policy='stop'``.
        """
        self._calls += 1
        where = f"optim_wrapper.{self.name}" if self.name else "optim_wrapper"
        finite = check_finite({"loss": loss}, current_iteration(self._calls - 1),
                              self.nan_policy, where)
        if finite:
            super().update_params(loss, step_kwargs, zero_kwargs)
        else:
            self._restore_buffers()
            self.skipped_updates += 1
        self._buffer_snapshots.clear()


@OPTIM_WRAPPERS.register_module()
class NaNGuardOptimWrapper(_NaNGuardMixin, OptimWrapper):
    """mmengine's :class:`~mmengine.optim.OptimWrapper` with a NaN/Inf policy.

    A non-finite loss back-propagates non-finite gradients; one optimizer step
    with them poisons every parameter (and Adam's moments) for good. This
    wrapper checks the loss that :meth:`update_params` receives *before*
    ``backward``:

    - ``nan_policy='stop'`` (default): raise
      :class:`~errkit.engine.nan_guard.NonFiniteLossError` naming the wrapper,
      the iteration and the value. Nothing is updated and no checkpoint is
      saved after it, so ``--resume`` restarts from a good one.
    - ``nan_policy='skip'``: log a warning and skip the update: parameters,
      gradients and optimizer state stay as they were, and the buffers of the
      modules that ran inside :meth:`optim_context` since the last update
      (BatchNorm running statistics, spectral-norm vectors) are restored, so
      the skipped forward pass leaves no trace. Skips are counted in
      ``skipped_updates``; :class:`~errkit.engine.hooks.NaNGuardHook` reports
      them and leaves the skipped values out of the logs.

    Every errkit model updates through ``update_params``, so the policy is the
    same for all of them; the schedule configs select this wrapper.

    Args:
        nan_policy (str): ``'stop'`` or ``'skip'``. Defaults to ``'stop'``.
        **kwargs: :class:`~mmengine.optim.OptimWrapper`'s arguments
            (``optimizer``, ``accumulative_counts``, ``clip_grad``).

    Examples:
        >>> import torch
        >>> layer = torch.nn.Linear(2, 1)
        >>> wrapper = NaNGuardOptimWrapper(
        ...     optimizer=torch.optim.SGD(layer.parameters(), lr=0.1), nan_policy='skip')
        >>> with wrapper.optim_context(layer):
        ...     loss = layer(torch.ones(1, 2)).sum() * float('nan')
        >>> wrapper.update_params(loss)
        >>> wrapper.skipped_updates
        1

        In a config::

            optim_wrapper = dict(type='NaNGuardOptimWrapper', nan_policy='skip',
                                 optimizer=dict(type='AdamW', lr=1e-3))
    """


@OPTIM_WRAPPERS.register_module()
class NaNGuardAmpOptimWrapper(_NaNGuardMixin, AmpOptimWrapper):
    """mmengine's :class:`~mmengine.optim.AmpOptimWrapper` (mixed precision) with
    the NaN/Inf policy of :class:`NaNGuardOptimWrapper`.

    Args:
        nan_policy (str): ``'stop'`` or ``'skip'``. Defaults to ``'stop'``.
        **kwargs: :class:`~mmengine.optim.AmpOptimWrapper`'s arguments
            (``optimizer``, ``dtype``, ``loss_scale``, ...).

    Examples:
        In a config (needs a GPU)::

            optim_wrapper = dict(type='NaNGuardAmpOptimWrapper', dtype='bfloat16',
                                 optimizer=dict(type='AdamW', lr=1e-3))
    """


#: Optimizer-wrapper types and their mixed-precision counterparts.
AMP_VARIANTS = {
    "OptimWrapper": "AmpOptimWrapper",
    "NaNGuardOptimWrapper": "NaNGuardAmpOptimWrapper",
}


def amp_variant(wrapper_type: str) -> str:
    """The mixed-precision counterpart of an optimizer-wrapper type.

    Args:
        wrapper_type (str): A wrapper ``type`` of a config.

    Returns:
        str: Its AMP variant (itself when it already is one).

    Raises:
        ValueError: ``wrapper_type`` has no known AMP variant.

    Examples:
        >>> amp_variant('NaNGuardOptimWrapper')
        'NaNGuardAmpOptimWrapper'
    """
    if wrapper_type in AMP_VARIANTS.values():
        return wrapper_type
    if wrapper_type not in AMP_VARIANTS:
        raise ValueError(f"no mixed-precision variant of optimizer wrapper {wrapper_type!r}; "
                         f"known: {', '.join(AMP_VARIANTS)}")
    return AMP_VARIANTS[wrapper_type]
