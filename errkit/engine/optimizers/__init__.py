"""Optimizer wrappers and optimizer-wrapper constructors."""

from .multi_optim_wrapper_constructor import MultiOptimWrapperConstructor
from .nan_guard_optim_wrapper import NaNGuardAmpOptimWrapper, NaNGuardOptimWrapper, amp_variant

__all__ = ["MultiOptimWrapperConstructor", "NaNGuardAmpOptimWrapper", "NaNGuardOptimWrapper",
           "amp_variant"]
