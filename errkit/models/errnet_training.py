"""ERR-Net's training: its loss configs, its optimizer keys and the helpers of its step."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Dict, Iterator, List, Optional, Sequence

import torch
import torch.nn as nn
from mmengine.optim import OptimWrapperDict

from .losses.loss_builder import build_loss, loss_weight

#: Optimizer-wrapper key of the generator and the recognizer (one wrapper for
#: both: ``modules=('generator', 'recognizer')`` in the config).
GENERATOR = "generator"
#: Optimizer-wrapper key of the discriminator.
DISCRIMINATOR = "discriminator"
#: The sub-networks that each optimizer wrapper updates.
OPTIM_WRAPPER_MODULES = {GENERATOR: ("generator", "recognizer"),
                         DISCRIMINATOR: ("discriminator",)}

#: Loss configs used for the keys a config's ``losses`` leaves out. Each
#: config carries the weight of its term (``loss_weight``, default 1).
DEFAULT_LOSSES = dict(
    gan_loss=dict(type="GANLoss", gan_type="lsgan"),
    gradient_penalty=None,
    l1=dict(type="MaskedL1Loss", loss_weight=10.0),
    cls=dict(type="CrossEntropyLoss"),
    segment=dict(type="SegmentLoss", margin=1.0),
    perceptual=None,
)


def build_errnet_losses(losses: Optional[dict]) -> nn.ModuleDict:
    """ERR-Net's losses: the configs of ``losses`` over :data:`DEFAULT_LOSSES`.

    Args:
        losses (dict, optional): Loss configs by key; ``None`` switches a term
            off, a missing key takes its default.

    Returns:
        nn.ModuleDict: The built losses, keyed as in :data:`DEFAULT_LOSSES`.

    Raises:
        KeyError: ``losses`` has a key that ERR-Net does not know.
        ValueError: ``cls`` is switched off, or a ``loss_weight`` is negative.
    """
    unknown = set(losses or {}) - set(DEFAULT_LOSSES)
    if unknown:
        raise KeyError(f"ERRNet: unknown keys {sorted(unknown)} in `losses`; known: "
                       f"{sorted(DEFAULT_LOSSES)}")
    cfgs = {**DEFAULT_LOSSES, **(losses or {})}
    if cfgs["cls"] is None:
        raise ValueError("ERRNet: losses.cls (the classification loss) cannot be None")
    return nn.ModuleDict({key: build_loss(cfg, f"model.losses.{key}")
                          for key, cfg in cfgs.items() if cfg is not None})


def check_optim_wrapper(model: nn.Module, optim_wrapper, check_params: bool = True) -> None:
    """Raise a clear error unless ``optim_wrapper`` suits ``model`` (an ERR-Net).

    The keys must be :data:`GENERATOR` and, when the model has a discriminator,
    :data:`DISCRIMINATOR`; with ``check_params`` each wrapper must hold the
    trainable parameters of the sub-networks of :data:`OPTIM_WRAPPER_MODULES`.

    Args:
        model (nn.Module): The ERR-Net.
        optim_wrapper (OptimWrapperDict): What ``train_step`` received.
        check_params (bool): Check the parameters too (once is enough).
            Defaults to True.

    Raises:
        TypeError: ``optim_wrapper`` is not an ``OptimWrapperDict``.
        KeyError: Its keys are not the expected ones.
        ValueError: A wrapper does not update one of its sub-networks.
    """
    with_disc = getattr(model, "discriminator", None) is not None
    expected = [GENERATOR] + ([DISCRIMINATOR] if with_disc else [])
    hint = ("optim_wrapper=dict(constructor='MultiOptimWrapperConstructor', "
            "generator=dict(modules=('generator', 'recognizer'), optimizer=...)"
            + (", discriminator=dict(optimizer=...)" if with_disc else "") + ")")
    if not isinstance(optim_wrapper, OptimWrapperDict):
        raise TypeError(f"ERRNet.train_step needs an OptimWrapperDict with keys {expected} "
                        f"(config: {hint}), got {type(optim_wrapper).__name__}")
    if sorted(optim_wrapper.keys()) != sorted(expected):
        raise KeyError(f"ERRNet.train_step: optim_wrapper has keys "
                       f"{sorted(optim_wrapper.keys())}, expected {expected} (config: {hint})")
    for key in expected if check_params else ():
        held = {id(p) for group in optim_wrapper[key].param_groups for p in group["params"]}
        for name in OPTIM_WRAPPER_MODULES[key]:
            if any(p.requires_grad and id(p) not in held
                   for p in getattr(model, name).parameters()):
                raise ValueError(f"ERRNet: optim_wrapper['{key}'] does not update the {name}; "
                                 f"give it modules={OPTIM_WRAPPER_MODULES[key]!r} (config: {hint})")


def active_loss(losses: nn.ModuleDict, key: str) -> Optional[nn.Module]:
    """The loss of ``key`` when its term is on (built, with a non-zero weight).

    Args:
        losses (nn.ModuleDict): What :func:`build_errnet_losses` returned.
        key (str): A key of :data:`DEFAULT_LOSSES`.

    Returns:
        nn.Module | None: The loss, or None when the term is off.
    """
    loss = losses[key] if key in losses else None
    return loss if loss is not None and loss_weight(loss) != 0.0 else None


def select_faces(flags: Sequence[bool], *tensors: torch.Tensor) -> List[torch.Tensor]:
    """The rows of ``tensors`` whose flag is set, chosen on the host.

    The flags come from the data samples' meta information, so the selection
    does not read a device mask back (the step does not wait for the device);
    nothing is indexed when all flags are set.

    Args:
        flags (Sequence[bool]): One flag per row, at least one set.
        *tensors (Tensor): Tensors of ``len(flags)`` rows.

    Returns:
        list[Tensor]: The selected rows of each tensor.
    """
    if all(flags):
        return list(tensors)
    index = torch.tensor([i for i, flag in enumerate(flags) if flag], dtype=torch.long)
    index = index.to(tensors[0].device, non_blocking=True)
    return [t[index] for t in tensors]


def mean_log_vars(steps: Sequence[Dict[str, torch.Tensor]]) -> Dict[str, torch.Tensor]:
    """Average the logged values of several updates, key by key.

    Args:
        steps (Sequence[dict]): The log values of each update.

    Returns:
        dict[str, Tensor]: Each key's mean over the updates that logged it.

    Examples:
        >>> mean_log_vars([{'loss': torch.tensor(1.0)}, {'loss': torch.tensor(3.0)}])
        {'loss': tensor(2.)}
    """
    if len(steps) == 1:
        return dict(steps[0])
    keys = dict.fromkeys(key for step in steps for key in step)
    return {key: torch.stack([step[key].detach().float() for step in steps if key in step]).mean()
            for key in keys}


@contextmanager
def frozen(module: Optional[nn.Module]) -> Iterator[None]:
    """Switch off the gradients of ``module``'s parameters inside the block.

    The generator's adversarial term back-propagates *through* the
    discriminator without giving it gradients. ``None`` is allowed (no-op).

    Args:
        module (nn.Module, optional): The module to freeze.
    """
    params = [p for p in module.parameters() if p.requires_grad] if module is not None else []
    for param in params:
        param.requires_grad_(False)
    try:
        yield
    finally:
        for param in params:
            param.requires_grad_(True)


__all__ = ["GENERATOR", "DISCRIMINATOR", "OPTIM_WRAPPER_MODULES", "DEFAULT_LOSSES",
           "build_errnet_losses", "check_optim_wrapper", "active_loss", "select_faces",
           "mean_log_vars", "frozen"]
