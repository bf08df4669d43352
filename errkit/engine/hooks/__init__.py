"""Runner hooks."""

from .atomic_checkpoint_hook import AtomicCheckpointHook
from .nan_guard_hook import NaNGuardHook
from .residual_visualization_hook import ResidualVisualizationHook
from .training_data_hook import TrainingDataHook

__all__ = ["AtomicCheckpointHook", "NaNGuardHook", "ResidualVisualizationHook",
           "TrainingDataHook"]
