"""One optimizer wrapper per named sub-network (GAN training)."""

from __future__ import annotations

from typing import Dict

import torch.nn as nn
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapperDict

from errkit.registry import OPTIM_WRAPPER_CONSTRUCTORS


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class MultiOptimWrapperConstructor:
    """Build an :class:`~mmengine.optim.OptimWrapperDict` keyed by sub-network.

    Each key of the config names an attribute of the model (``generator``,
    ``discriminator``, ...); its value is an ordinary optimizer-wrapper config
    (``type``, ``optimizer``, optional ``paramwise_cfg``) built for that
    sub-network's parameters alone by mmengine's
    :class:`~mmengine.optim.DefaultOptimWrapperConstructor`. Sub-networks that the
    model lacks, or that are ``None``, are an error naming the key and the
    attributes that exist.

    Args:
        optim_wrapper_cfg (dict): ``{attribute name: optim wrapper config}``.
        paramwise_cfg (dict, optional): Must be None; give ``paramwise_cfg``
            per key instead.

    Examples:
        >>> import torch.nn as nn
        >>> class GAN(nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.generator = nn.Linear(2, 2)
        ...         self.discriminator = nn.Linear(2, 1)
        >>> cfg = dict(generator=dict(optimizer=dict(type='Adam', lr=1e-3)),
        ...            discriminator=dict(optimizer=dict(type='Adam', lr=4e-3)))
        >>> wrappers = MultiOptimWrapperConstructor(cfg)(GAN())
        >>> sorted(wrappers.keys())
        ['discriminator', 'generator']
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: dict = None) -> None:
        if not isinstance(optim_wrapper_cfg, dict) or not optim_wrapper_cfg:
            raise TypeError("optim_wrapper must be a dict of {sub-network: optim wrapper config}, "
                            f"got {optim_wrapper_cfg!r}")
        if paramwise_cfg is not None:
            raise ValueError("give paramwise_cfg inside each sub-network's optim wrapper config")
        self.constructors: Dict[str, DefaultOptimWrapperConstructor] = {}
        for key, cfg in optim_wrapper_cfg.items():
            if not isinstance(cfg, dict):
                raise TypeError(f"optim_wrapper.{key} must be a dict, got {type(cfg).__name__}")
            cfg = dict(cfg)
            paramwise = cfg.pop("paramwise_cfg", None)
            self.constructors[key] = DefaultOptimWrapperConstructor(cfg, paramwise)

    def __call__(self, model: nn.Module) -> OptimWrapperDict:
        module = model.module if hasattr(model, "module") else model
        wrappers = {}
        for key, constructor in self.constructors.items():
            sub = getattr(module, key, None)
            if not isinstance(sub, nn.Module):
                children = [name for name, _ in module.named_children()]
                raise KeyError(
                    f"optim_wrapper has a key '{key}' but {type(module).__name__} has no "
                    f"sub-network of that name (it has: {', '.join(children)})")
            wrappers[key] = constructor(sub)
        return OptimWrapperDict(**wrappers)
