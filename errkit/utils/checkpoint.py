"""Safe checkpoint loading: ``weights_only`` with an explicit allow-list.

PyTorch >= 2.6 loads checkpoints with ``weights_only=True``: only tensors,
containers and allow-listed classes are unpickled, so a malicious checkpoint
cannot run code. mmengine 0.10.7 stores a few non-tensor objects in its
checkpoints (the message hub's :class:`~mmengine.logging.HistoryBuffer` and the
numpy arrays and scalars it holds), which the default refuses. errkit
allow-lists exactly those classes, never falling back to unrestricted
unpickling.

Every part of errkit that reads a checkpoint goes through this module:
:func:`safe_load` reads the file, :func:`state_dict_from_checkpoint` finds the
state dict inside it, :func:`load_backbone_weights` fills a network from it.
:func:`errkit.engine.build_runner` calls :func:`register_safe_globals` so that
mmengine's own loading (``resume``, ``load_from``) works too.
"""

from __future__ import annotations

import codecs
import os
import pickle
import re
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import torch
import torch.nn as nn
from mmengine.logging import HistoryBuffer

__all__ = ["CheckpointError", "SAFE_GLOBALS", "STATE_DICT_KEYS", "register_safe_globals",
           "restricted_getattr", "safe_load", "state_dict_from_checkpoint",
           "load_backbone_weights"]

#: Keys of a checkpoint dict that may hold its state dict, in the order they are
#: tried (mmengine: ``state_dict``; timm's training script: ``model``,
#: ``state_dict_ema``).
STATE_DICT_KEYS = ("state_dict", "model", "state_dict_ema")


class CheckpointError(RuntimeError):
    """A checkpoint could not be loaded (missing, corrupt, untrusted or mismatched)."""


def _numpy_globals() -> List[Any]:
    core = getattr(np, "_core", None) or np.core  # numpy 2 moved np.core to np._core
    found = [core.multiarray._reconstruct, core.multiarray.scalar, np.ndarray, np.dtype]
    # The concrete dtype classes (numpy >= 1.25) that pickled arrays and scalars name.
    dtypes = getattr(np, "dtypes", None)
    if dtypes is not None:
        for name in ("Float64DType", "Float32DType", "Float16DType", "Int64DType", "Int32DType",
                     "Int16DType", "Int8DType", "UInt8DType", "BoolDType", "UInt16DType",
                     "UInt32DType", "UInt64DType", "StrDType", "ObjectDType"):
            if hasattr(dtypes, name):
                found.append(getattr(dtypes, name))
    return found


#: The only attributes that an mmengine checkpoint fetches with ``getattr``:
#: :class:`~mmengine.logging.HistoryBuffer` pickles its statistics methods as
#: ``getattr(HistoryBuffer, name)``.
HISTORY_BUFFER_METHODS = frozenset({"min", "max", "mean", "current"})


def restricted_getattr(obj: Any, name: str, *default: Any) -> Any:
    """The ``getattr`` that unpickling may call: HistoryBuffer's statistics only.

    PyTorch's ``weights_only`` loader refuses the builtin ``getattr`` (it would
    reach any attribute of any allowed object). errkit maps the pickled
    ``builtins.getattr`` to this function, which serves exactly the accesses
    mmengine's checkpoints make and refuses every other.

    Raises:
        pickle.UnpicklingError: Any other attribute access.
    """
    if (obj is HistoryBuffer or isinstance(obj, HistoryBuffer)) and name in HISTORY_BUFFER_METHODS:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f"checkpoint asks for attribute {name!r} of {type(obj).__name__}: not allowed")


def _mmengine_globals() -> List[Any]:
    return [HistoryBuffer, (restricted_getattr, "__builtin__.getattr"),
            (restricted_getattr, "builtins.getattr"), (_codecs_encode, "_codecs.encode")]


def _codecs_encode(obj: Any, encoding: str = "utf-8", errors: str = "strict") -> bytes:
    """``_codecs.encode`` for the byte strings inside pickled numpy arrays."""
    if not isinstance(obj, str) or encoding not in ("latin1", "latin-1", "utf-8", "utf8"):
        raise pickle.UnpicklingError("checkpoint calls _codecs.encode with unexpected arguments")
    return codecs.encode(obj, encoding, errors)


#: Every class that errkit allows ``torch.load`` to reconstruct beyond PyTorch's own.
SAFE_GLOBALS: List[Any] = _numpy_globals() + _mmengine_globals()

_REGISTERED = False


def register_safe_globals() -> None:
    """Allow-list :data:`SAFE_GLOBALS` for ``torch.load(weights_only=True)``.

    Idempotent. :func:`safe_load` calls it, and so does
    :func:`errkit.engine.build_runner`, so that mmengine's ``Runner(resume=True)``
    and ``load_checkpoint`` work with PyTorch >= 2.6 without unsafe unpickling.
    """
    global _REGISTERED
    if _REGISTERED:
        return
    add = getattr(torch.serialization, "add_safe_globals", None)
    if add is not None:
        add(list(SAFE_GLOBALS))
    _REGISTERED = True


def safe_load(path: str, map_location: Any = "cpu") -> Dict[str, Any]:
    """Load a checkpoint file with ``weights_only=True`` and clear errors.

    Args:
        path (str): The checkpoint file.
        map_location: As in :func:`torch.load`. Defaults to ``'cpu'``.

    Returns:
        dict: The checkpoint.

    Raises:
        CheckpointError: The file is missing, truncated, or holds objects outside
            the allow-list (then nothing of it was executed).
    """
    register_safe_globals()
    if not os.path.isfile(path):
        raise CheckpointError(f"checkpoint file not found: {path}")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # UnpicklingError, RuntimeError (zip), EOFError ...
        text = _load_failure(exc)
        if any(k in str(exc).lower() for k in ("unsupported global", "not an allowed global",
                                               "is blocked", "not allowed",
                                               "unexpected arguments")):
            raise CheckpointError(
                f"refused to load {path}: it contains objects that are not allowed in an errkit "
                f"checkpoint ({text}). Nothing from it was executed. Only load checkpoints "
                "from sources you trust; errkit never unpickles arbitrary objects.") from exc
        raise CheckpointError(f"cannot read checkpoint {path}: {text} "
                              "(truncated or not a PyTorch checkpoint?)") from exc


#: Lines of PyTorch's load errors that advise switching the safety off; never repeated.
_ADVICE = ("weights_only", "weights only", "trusted source", "add_safe_globals",
           "safe_globals", "file an issue", "documentation of torch.load")


def _load_failure(exc: BaseException) -> str:
    """The cause of a failed ``torch.load``, in one line, without PyTorch's advice.

    PyTorch's message suggests ``weights_only=False`` or allow-listing the
    offending global; errkit never does either, so only the cause is kept (the
    global it names, the unpickler's complaint, or the exception's first line).
    """
    message = str(exc)
    found = re.search(r"Unsupported global: GLOBAL ([\w.]+)", message)
    if found:
        return f"it names {found.group(1)}"
    lines = [ln.strip() for ln in message.splitlines() if ln.strip()]
    causes = [ln for ln in lines if not any(a in ln.lower() for a in _ADVICE)]
    cause = causes[0] if causes else ""
    if cause.startswith("WeightsUnpickler error:"):
        cause = cause[len("WeightsUnpickler error:"):].strip()
    cause = cause.split(". ")[0].rstrip(".")  # the first sentence
    return f"{type(exc).__name__}: {cause}" if cause else type(exc).__name__


def state_dict_from_checkpoint(checkpoint: Any, source: str = "checkpoint",
                               keys: Sequence[str] = STATE_DICT_KEYS) -> Dict[str, Any]:
    """The state dict inside a loaded checkpoint.

    The first of ``keys`` that holds a dict is taken (a bare state dict is its
    own); the ``module.`` prefix that ``DistributedDataParallel`` puts before
    every key is removed.

    Args:
        checkpoint: What :func:`safe_load` returned.
        source (str): The checkpoint's file, for error messages. Defaults to
            ``'checkpoint'``.
        keys (Sequence[str]): Keys that may hold the state dict. Defaults to
            :data:`STATE_DICT_KEYS`.

    Returns:
        dict: Parameter name -> value.

    Raises:
        CheckpointError: ``checkpoint`` is not a dict.

    Examples:
        >>> import torch
        >>> ckpt = {'meta': {}, 'state_dict': {'module.fc.weight': torch.zeros(2)}}
        >>> list(state_dict_from_checkpoint(ckpt))
        ['fc.weight']
    """
    if not isinstance(checkpoint, dict):
        raise CheckpointError(f"{source} holds a {type(checkpoint).__name__}, not a "
                              "checkpoint dict")
    state = checkpoint
    for key in keys:
        if isinstance(checkpoint.get(key), dict):
            state = checkpoint[key]
            break
    if state and all(isinstance(k, str) and k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}
    return state


def load_backbone_weights(module: nn.Module, path: str, skip_classifier: bool = True,
                          prefix: Optional[str] = None) -> Dict[str, List[str]]:
    """Load a local timm (or errkit) checkpoint into ``module``, non-strictly.

    Args:
        module (nn.Module): The network to fill.
        path (str): A local ``.pth``/``.bin``/``.safetensors`` file.
        skip_classifier (bool): Drop classifier weights (``fc.``, ``head.``,
            ``classifier.``) whose shapes differ. Defaults to True.
        prefix (str, optional): Keep only keys under this prefix, stripped.

    Returns:
        dict: ``missing`` and ``unexpected`` key lists.

    Raises:
        CheckpointError: The file is missing, unreadable or untrusted.
    """
    if path.endswith(".safetensors"):
        from safetensors.torch import load_file  # only for .safetensors files

        if not os.path.isfile(path):
            raise CheckpointError(f"checkpoint file not found: {path}")
        state = load_file(path)
    else:
        state = state_dict_from_checkpoint(safe_load(path), path)
    if prefix:
        state = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    own = module.state_dict()
    if skip_classifier:
        state = {k: v for k, v in state.items() if k not in own or own[k].shape == v.shape}
    result = module.load_state_dict(state, strict=False)
    return {"missing": list(result.missing_keys), "unexpected": list(result.unexpected_keys)}
