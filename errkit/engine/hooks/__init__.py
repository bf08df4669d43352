"""Runner hooks."""

from .residual_visualization_hook import ResidualVisualizationHook

__all__ = ["ResidualVisualizationHook"]
