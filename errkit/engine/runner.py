"""The one way errkit builds mmengine's :class:`~mmengine.runner.Runner`."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Dict, Iterator, Optional, Union

from mmengine.config import Config
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner
from mmengine.runner.checkpoint import _load_checkpoint_to_model

from errkit.config import DEFAULT_SCOPE
from errkit.engine.checkpoint_loader import load_checkpoint_file, use_safe_checkpoint_loader
from errkit.engine.finite_state import NonFiniteStateError, first_non_finite
from errkit.utils.checkpoint import (INFERENCE_OPTIONAL_PREFIXES, CheckpointError,
                                     CheckpointMismatchError, check_state_dict_matches,
                                     register_safe_globals, state_dict_from_checkpoint)
from errkit.utils.output_paths import check_output_dir

from .hooks.training_data_hook import TrainingDataHook

__all__ = ["ErrkitRunner", "build_runner"]


class ErrkitRunner(Runner):
    """mmengine's Runner whose checkpoints are read safely and must fit the model.

    The same Runner, except in :meth:`load_checkpoint`, which ``load_from``
    and ``resume`` go through:

    - the file is read with :func:`~errkit.utils.checkpoint.safe_load`
      (``weights_only=True`` with errkit's allow-list, whatever
      ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD`` says); a remote name is refused;
    - for :meth:`test` and :meth:`val` the checkpoint must hold every
      parameter and buffer of the model that evaluation uses (the
      discriminator and the losses may be absent), and nothing else;
    - for :meth:`resume` it must be a training checkpoint (``meta``,
      ``message_hub``) of exactly this model;
    - for ``load_from`` in training (fine-tuning), mmengine's non-strict load
      with its warning stays, but a checkpoint that shares no parameter with
      the model is refused.

    A refusal raises :class:`~errkit.utils.checkpoint.CheckpointError` (or its
    :class:`~errkit.utils.checkpoint.CheckpointMismatchError`) with a one-line
    message, before the model is changed.

    :meth:`save_checkpoint` refuses a model whose weights or buffers hold NaN
    or infinite values (:class:`~errkit.engine.finite_state.NonFiniteStateError`,
    naming the first such tensor); nothing is written.
    """

    #: What a checkpoint must hold: None (fine-tuning), 'eval' or 'resume'.
    _checkpoint_fit: Optional[str] = None

    @contextmanager
    def _fit(self, mode: str) -> Iterator[None]:
        previous, self._checkpoint_fit = self._checkpoint_fit, mode
        try:
            yield
        finally:
            self._checkpoint_fit = previous

    def test(self) -> Dict[str, float]:
        """Test as mmengine does; the checkpoint must fit the model (see the class)."""
        with self._fit("eval"):
            return super().test()

    def val(self) -> Dict[str, float]:
        """Validate as mmengine does; the checkpoint must fit the model (see the class)."""
        with self._fit("eval"):
            return super().val()

    def resume(self, filename: str, resume_optimizer: bool = True,
               resume_param_scheduler: bool = True,
               map_location: Union[str, Callable] = "default") -> None:
        """Resume as mmengine does, from a training checkpoint of exactly this model."""
        with self._fit("resume"):
            super().resume(filename, resume_optimizer, resume_param_scheduler, map_location)

    def _check_fit(self, model, checkpoint: Any, filename: str) -> None:
        state = state_dict_from_checkpoint(checkpoint, filename)
        own = model.state_dict()
        name = f"the model of config {self.cfg.filename}" if self.cfg.filename else "the model"
        if self._checkpoint_fit == "resume":
            meta = checkpoint.get("meta")
            if not (isinstance(meta, dict) and "epoch" in meta and "iter" in meta
                    and "message_hub" in checkpoint):
                raise CheckpointError(
                    f"cannot resume from {filename}: it holds no training state (meta, "
                    f"message_hub), only weights; start from them with load_from={filename} "
                    "instead")
            check_state_dict_matches(own, state, filename, name)
        elif self._checkpoint_fit == "eval":
            check_state_dict_matches(own, state, filename, name, INFERENCE_OPTIONAL_PREFIXES)
        elif state and not any(key in own for key in state):
            raise CheckpointMismatchError(
                f"checkpoint {filename} shares no parameter with {name} ({len(state)} keys, "
                f"e.g. {', '.join(list(state)[:3])}): nothing of it would be loaded")

    def load_checkpoint(self, filename: str, map_location: Union[str, Callable] = "cpu",
                        strict: bool = False,
                        revise_keys: Optional[list] = None) -> Dict[str, Any]:
        """Load a checkpoint into the model, read safely and checked (see the class).

        Args:
            filename (str): A local checkpoint file.
            map_location (str | Callable): As in :func:`torch.load`. Defaults
                to ``'cpu'``.
            strict (bool): Passed to ``load_state_dict``. Defaults to False.
            revise_keys (list, optional): ``(pattern, replacement)`` pairs
                applied to the keys, as in mmengine. Defaults to None (remove
                ``module.``).

        Returns:
            dict: The checkpoint.

        Raises:
            CheckpointError: The file is unreadable, refused, remote, or does
                not fit the model.
        """
        checkpoint = load_checkpoint_file(filename, map_location=map_location)
        self.call_hook("after_load_checkpoint", checkpoint=checkpoint)
        model = self.model.module if is_model_wrapper(self.model) else self.model
        self._check_fit(model, checkpoint, filename)
        checkpoint = _load_checkpoint_to_model(
            model, checkpoint, strict,
            revise_keys=[(r"^module.", "")] if revise_keys is None else revise_keys)
        self._has_loaded = True
        self.logger.info(f"Load checkpoint from {filename}")
        return checkpoint

    def save_checkpoint(self, out_dir: str, filename: str, *args, **kwargs) -> None:
        """Save as mmengine does, unless the model holds a NaN or infinite value.

        Every rank checks (their weights are the same), so that all stop
        together.

        Args:
            out_dir (str): The folder.
            filename (str): The checkpoint's file name.
            *args: The other arguments of :meth:`mmengine.runner.Runner.save_checkpoint`.
            **kwargs: The other arguments of :meth:`mmengine.runner.Runner.save_checkpoint`.

        Raises:
            NonFiniteStateError: A parameter or buffer is not finite; nothing
                was written.
        """
        model = self.model.module if is_model_wrapper(self.model) else self.model
        bad = first_non_finite(model.state_dict())
        if bad is not None:
            name, count, total = bad
            kind = "parameter" if name in dict(model.named_parameters()) else "buffer"
            raise NonFiniteStateError(
                f"refused to save checkpoint {filename}: the model's {kind} {name} holds "
                f"{count} of {total} values that are NaN or infinite; nothing was written. "
                "Resume from the last checkpoint with --resume and lower the learning rate "
                "(or check the data of the last iterations).")
        super().save_checkpoint(out_dir, filename, *args, **kwargs)


def build_runner(cfg: Config) -> ErrkitRunner:
    """Build errkit's Runner from an errkit config.

    Training, testing, every k-fold or ablation worker and the soak tool build
    their runner here, so that each gets the same preparation:

    - the work dir is checked first (a folder, writable), so that a bad one
      ends with one line naming it instead of a traceback;
    - every checkpoint read goes through errkit's allow-listed loader:
      ``load_from`` and ``resume`` through :class:`ErrkitRunner`, and
      mmengine's own loading through the loaders that
      :func:`~errkit.engine.checkpoint_loader.use_safe_checkpoint_loader`
      registers; the classes that mmengine stores in its checkpoints are
      allow-listed (:func:`~errkit.utils.checkpoint.register_safe_globals`);
    - ``default_scope`` is ``'errkit'`` unless the config names another, so
      every ``type`` resolves in errkit's registries (and through them in
      mmengine's);
    - a :class:`~errkit.engine.hooks.TrainingDataHook` records in every
      checkpoint what data the model was trained on (unless the config lists
      one already).

    Args:
        cfg (Config): A loaded config (see :func:`errkit.config.load_config`)
            with ``work_dir`` set; it is not changed unless it lacks
            ``default_scope``.

    Returns:
        ErrkitRunner: The runner, built by :meth:`Runner.from_cfg`.

    Raises:
        OutputPathError: The work dir is not a writable folder.
        CheckpointError: PyTorch is too old to read checkpoints safely.

    Examples:
        >>> from errkit.config import load_config
        >>> cfg = load_config('errnet_synthetic.py')  # doctest: +SKIP
        >>> cfg.work_dir = 'work_dirs/demo'  # doctest: +SKIP
        >>> build_runner(cfg).train()  # doctest: +SKIP
    """
    register_safe_globals()
    use_safe_checkpoint_loader()
    cfg.setdefault("default_scope", DEFAULT_SCOPE)
    if cfg.get("work_dir"):
        check_output_dir(cfg.work_dir, "work dir")
    runner = ErrkitRunner.from_cfg(cfg)
    if not any(isinstance(hook, TrainingDataHook) for hook in runner.hooks):
        runner.register_hook(TrainingDataHook())
    return runner
