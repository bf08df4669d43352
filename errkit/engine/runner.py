"""The one way errkit builds mmengine's :class:`~mmengine.runner.Runner`."""

from __future__ import annotations

from mmengine.config import Config
from mmengine.runner import Runner

from errkit.config import DEFAULT_SCOPE
from errkit.utils.checkpoint import register_safe_globals

from .hooks.training_data_hook import TrainingDataHook

__all__ = ["build_runner"]


def build_runner(cfg: Config) -> Runner:
    """Build mmengine's Runner from an errkit config.

    Training, testing, every k-fold or ablation worker and the soak tool build
    their runner here, so that each gets the same preparation:

    - the classes that mmengine stores in its checkpoints are allow-listed for
      ``torch.load(weights_only=True)``
      (:func:`~errkit.utils.checkpoint.register_safe_globals`), so ``resume``
      and ``load_from`` work with PyTorch >= 2.6 without unsafe unpickling;
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
        Runner: The runner, built by :meth:`Runner.from_cfg`.

    Examples:
        >>> from errkit.config import load_config
        >>> cfg = load_config('errnet_synthetic.py')  # doctest: +SKIP
        >>> cfg.work_dir = 'work_dirs/demo'  # doctest: +SKIP
        >>> build_runner(cfg).train()  # doctest: +SKIP
    """
    register_safe_globals()
    cfg.setdefault("default_scope", DEFAULT_SCOPE)
    runner = Runner.from_cfg(cfg)
    if not any(isinstance(hook, TrainingDataHook) for hook in runner.hooks):
        runner.register_hook(TrainingDataHook())
    return runner
