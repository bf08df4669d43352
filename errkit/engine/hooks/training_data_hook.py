"""Record in every checkpoint what data the model was trained on."""

from __future__ import annotations

from typing import Optional

from mmengine.hooks import Hook

from errkit.datasets.training_data import describe_training_data
from errkit.registry import HOOKS

__all__ = ["TrainingDataHook", "TRAINING_DATA_KEY"]

#: The key of the description in a checkpoint's ``meta``.
TRAINING_DATA_KEY = "training_data"


@HOOKS.register_module()
class TrainingDataHook(Hook):
    """Store :func:`~errkit.datasets.training_data.describe_training_data` in checkpoints.

    Every checkpoint saved while training gets ``meta['training_data']``: the
    type, root and size of each training dataset, the class names and whether
    all of them are synthetic faces. :class:`~errkit.apis.ExpressionRemover`
    reads it to warn when a model trained on synthetic faces only is applied to
    real photos. :func:`errkit.engine.build_runner` adds this hook to every
    runner whose config does not list it.
    """

    priority = "VERY_LOW"

    def __init__(self) -> None:
        self._description: Optional[dict] = None

    def before_train(self, runner) -> None:
        self._description = describe_training_data(runner.train_dataloader.dataset)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if self._description is None:
            self._description = describe_training_data(runner.train_dataloader.dataset)
        checkpoint.setdefault("meta", {})[TRAINING_DATA_KEY] = self._description
