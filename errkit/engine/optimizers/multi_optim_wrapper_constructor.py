"""One optimizer wrapper per group of sub-networks (GAN training)."""

from __future__ import annotations

from typing import Dict, List, Tuple

import torch.nn as nn
from mmengine.logging import print_log
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapperDict
from mmengine.registry import DefaultScope

from errkit.registry import OPTIM_WRAPPER_CONSTRUCTORS


def _module_names(key: str, cfg: dict) -> Tuple[str, ...]:
    names = cfg.pop("modules", key)
    names = (names,) if isinstance(names, str) else tuple(names)
    if not names or not all(isinstance(n, str) and n for n in names):
        raise TypeError(f"optim_wrapper.{key}.modules must name attributes of the model, "
                        f"got {names!r}")
    return names


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class MultiOptimWrapperConstructor:
    """Build an :class:`~mmengine.optim.OptimWrapperDict`, one wrapper per key.

    Each key of the config names a wrapper; its value is an ordinary
    optimizer-wrapper config (``type``, ``optimizer``, optional
    ``paramwise_cfg``) plus an optional ``modules``: the attribute names of the
    sub-networks whose parameters the wrapper updates (default: the key
    itself). The wrapper is built for those sub-networks' parameters alone by
    mmengine's :class:`~mmengine.optim.DefaultOptimWrapperConstructor`;
    parameter names (for ``paramwise_cfg.custom_keys``) start with the
    attribute name (``recognizer.head.fc.weight``).

    A sub-network that the model sets to ``None`` (e.g. ERR-Net without
    discriminator) is skipped, and a key whose sub-networks are all ``None``
    builds no wrapper, so variants that switch a sub-network off keep the
    schedule of their base. A name that is no attribute of the model is an
    error naming the key and the sub-networks that exist. Each wrapper gets
    its key as ``name`` (used in messages, e.g. by
    :class:`~errkit.engine.optimizers.NaNGuardOptimWrapper`).

    Args:
        optim_wrapper_cfg (dict): ``{key: optim wrapper config}``.
        paramwise_cfg (dict, optional): Must be None; give ``paramwise_cfg``
            per key instead.

    Examples:
        >>> import torch.nn as nn
        >>> class GAN(nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.generator = nn.Linear(2, 2)
        ...         self.recognizer = nn.Linear(2, 3)
        ...         self.discriminator = None
        >>> cfg = dict(generator=dict(modules=('generator', 'recognizer'),
        ...                           optimizer=dict(type='Adam', lr=1e-3)),
        ...            discriminator=dict(optimizer=dict(type='Adam', lr=4e-3)))
        >>> wrappers = MultiOptimWrapperConstructor(cfg)(GAN())
        >>> sorted(wrappers.keys())
        ['generator']
        >>> len(wrappers['generator'].param_groups[0]['params'])
        4
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: dict = None) -> None:
        if not isinstance(optim_wrapper_cfg, dict) or not optim_wrapper_cfg:
            raise TypeError("optim_wrapper must be a dict of {key: optim wrapper config}, "
                            f"got {optim_wrapper_cfg!r}")
        if paramwise_cfg is not None:
            raise ValueError("give paramwise_cfg inside each key's optim wrapper config")
        self.constructors: Dict[str, Tuple[Tuple[str, ...], DefaultOptimWrapperConstructor]] = {}
        for key, cfg in optim_wrapper_cfg.items():
            if not isinstance(cfg, dict):
                raise TypeError(f"optim_wrapper.{key} must be a dict, got {type(cfg).__name__}")
            cfg = dict(cfg)
            modules = _module_names(key, cfg)
            paramwise = cfg.pop("paramwise_cfg", None)
            self.constructors[key] = (modules, DefaultOptimWrapperConstructor(cfg, paramwise))

    def __call__(self, model: nn.Module) -> OptimWrapperDict:
        module = model.module if hasattr(model, "module") else model
        children = [name for name, _ in module.named_children()]
        wrappers = {}
        for key, (names, constructor) in self.constructors.items():
            parts: List[Tuple[str, nn.Module]] = []
            for name in names:
                if not hasattr(module, name):
                    raise KeyError(
                        f"optim_wrapper.{key} names the sub-network '{name}', but "
                        f"{type(module).__name__} has none of that name (it has: "
                        f"{', '.join(children)})")
                sub = getattr(module, name)
                if sub is None:
                    continue  # switched off in this variant
                if not isinstance(sub, nn.Module):
                    raise TypeError(f"optim_wrapper.{key}: {type(module).__name__}.{name} is a "
                                    f"{type(sub).__name__}, not a sub-network")
                parts.append((name, sub))
            if not parts:
                print_log(f"optim_wrapper.{key}: no wrapper built, {type(module).__name__} has "
                          f"no {' / '.join(names)}", logger="current")
                continue
            with DefaultScope.overwrite_default_scope("errkit"):
                wrappers[key] = constructor(nn.ModuleDict(parts))
            wrappers[key].name = key
        return OptimWrapperDict(**wrappers)
