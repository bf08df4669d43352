"""Optimizer-wrapper constructors."""

from .multi_optim_wrapper_constructor import MultiOptimWrapperConstructor

__all__ = ["MultiOptimWrapperConstructor"]
