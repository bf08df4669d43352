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
state dict inside it, :func:`check_state_dict_matches` checks that it fits a
model, :func:`load_backbone_weights` fills a network from it. The runner that
:func:`errkit.engine.build_runner` builds reads ``resume`` and ``load_from``
checkpoints through :func:`safe_load` too, and so do mmengine's own loaders
(``init_cfg`` pretrained weights) while that runner exists.

``weights_only=True`` is always passed explicitly, so the environment variable
``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD`` (which only changes calls that leave
``weights_only`` unset) cannot switch the allow-list off. PyTorch older than
:data:`MIN_TORCH_VERSION` lacks parts of the allow-list machinery; errkit
refuses to read checkpoints with it instead of falling back.

Checkpoints pickled under numpy 1.x name numpy's array and scalar constructors
``numpy.core.multiarray.*`` (numpy 2 moved them to ``numpy._core``); both names
of these same functions are allowed.
"""

from __future__ import annotations

import codecs
import errno
import os
import pickle
import re
from typing import Any, Dict, List, Mapping, Optional, Sequence

import numpy as np
import torch
import torch.nn as nn
from mmengine.logging import HistoryBuffer

__all__ = ["CheckpointError", "CheckpointRefusedError", "CheckpointMismatchError",
           "INFERENCE_OPTIONAL_PREFIXES", "MIN_TORCH_VERSION", "SAFE_GLOBALS",
           "STATE_DICT_KEYS", "check_torch_version",
           "register_safe_globals",
           "restricted_getattr", "safe_load", "state_dict_from_checkpoint",
           "check_state_dict_matches", "load_backbone_weights"]

#: The oldest PyTorch whose ``weights_only`` loader takes errkit's allow-list
#: (``add_safe_globals`` with ``(object, name)`` pairs).
MIN_TORCH_VERSION = (2, 6)

#: Keys of a checkpoint dict that may hold its state dict, in the order they are
#: tried (mmengine: ``state_dict``; timm's training script: ``model``,
#: ``state_dict_ema``).
STATE_DICT_KEYS = ("state_dict", "model", "state_dict_ema")

#: Model keys that evaluation and inference can do without: the discriminator
#: and the losses' own weights (a checkpoint may leave them out).
INFERENCE_OPTIONAL_PREFIXES = ("discriminator.", "loss_modules.")


class CheckpointError(RuntimeError):
    """A checkpoint could not be loaded (missing, corrupt, untrusted or mismatched)."""


class CheckpointRefusedError(CheckpointError):
    """A checkpoint holds objects outside the allow-list; nothing of it was executed.

    The file may be intact (a checkpoint of another toolkit, or a malicious
    one): it is refused, not broken, so errkit never advises deleting it.
    """


class CheckpointMismatchError(CheckpointError):
    """A checkpoint's state dict does not fit the model it is loaded into."""


def _numpy_globals() -> List[Any]:
    core = getattr(np, "_core", None) or np.core  # numpy 2 moved np.core to np._core
    found: List[Any] = [core.multiarray._reconstruct, core.multiarray.scalar, np.ndarray,
                        np.dtype]
    # The same two functions under the module name of the other numpy major version:
    # numpy 1.x pickles name numpy.core.multiarray, numpy 2 pickles numpy._core.multiarray.
    for module in ("numpy.core.multiarray", "numpy._core.multiarray"):
        for func in (core.multiarray._reconstruct, core.multiarray.scalar):
            found.append((func, f"{module}.{func.__name__}"))
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
    check_torch_version()
    torch.serialization.add_safe_globals(list(SAFE_GLOBALS))
    _REGISTERED = True


def check_torch_version(version: str = torch.__version__) -> None:
    """Refuse a PyTorch too old for errkit's allow-listed loading.

    Args:
        version (str): A PyTorch version. Defaults to the installed one.

    Raises:
        CheckpointError: ``version`` is older than :data:`MIN_TORCH_VERSION`.
    """
    numbers = tuple(int(p) for p in re.findall(r"\d+", version.split("+")[0])[:2])
    if numbers < MIN_TORCH_VERSION:
        wanted = ".".join(map(str, MIN_TORCH_VERSION))
        raise CheckpointError(f"errkit reads checkpoints only with torch >= {wanted} (its "
                              f"weights_only loader with an allow-list); torch {version} is "
                              f"installed: upgrade it (pip install 'torch>={wanted}')")


def _missing_file_error(path: str) -> CheckpointError:
    """Why ``path`` is no readable file: absent, a folder, a dangling or looping link."""
    if os.path.islink(path):
        try:
            os.stat(path)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                return CheckpointError(f"checkpoint {path} is a symbolic link that loops")
            return CheckpointError(f"checkpoint {path} is a symbolic link to "
                                   f"{os.readlink(path)}, which does not exist")
    if os.path.isdir(path):
        return CheckpointError(f"checkpoint {path} is a folder, not a file")
    return CheckpointError(f"checkpoint file not found: {path}")


#: Phrases of PyTorch's ``weights_only`` refusals (as opposed to unreadable files).
_REFUSAL_PHRASES = ("unsupported global", "not an allowed global", "is blocked", "not allowed",
                    "unexpected arguments")
#: Lines of PyTorch's loading errors that give advice rather than the error itself.
_ADVICE = ("weights only load failed", "weights_only", "check the documentation")


def safe_load(path: str, map_location: Any = "cpu") -> Dict[str, Any]:
    """Load a checkpoint file with ``weights_only=True`` and clear errors.

    ``weights_only=True`` is passed explicitly, so
    ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD`` does not apply. Errors are one line
    and are raised without the PyTorch error they come from (whose text
    suggests ``weights_only=False``).

    Args:
        path (str): The checkpoint file.
        map_location: As in :func:`torch.load`. Defaults to ``'cpu'``.

    Returns:
        dict: The checkpoint.

    Raises:
        CheckpointRefusedError: The file holds objects outside the allow-list
            (nothing of it was executed).
        CheckpointError: The file is missing, a folder, a dangling link,
            truncated or no PyTorch checkpoint; or PyTorch is older than
            :data:`MIN_TORCH_VERSION`.

    Examples:
        >>> import os, tempfile, torch
        >>> path = os.path.join(tempfile.mkdtemp(), 'w.pth')
        >>> torch.save({'state_dict': {'w': torch.ones(2)}}, path)
        >>> safe_load(path)['state_dict']['w']
        tensor([1., 1.])
    """
    register_safe_globals()
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise _missing_file_error(path)
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # UnpicklingError, RuntimeError (zip), EOFError ...
        message = str(exc)
        facts = [ln.strip() for ln in message.splitlines()
                 if ln.strip() and not any(a in ln.lower() for a in _ADVICE)]
        named = re.search(r"GLOBAL ([\w.]+)", message)
        lines = [ln for ln in facts if "not allowed" in ln]
        text = (named.group(1) if named else
                (lines or facts or ["empty or cut-off file"])[0])
        if any(k in message.lower() for k in _REFUSAL_PHRASES):
            raise CheckpointRefusedError(
                f"refused to load {path}: it contains objects that are not allowed in an errkit "
                f"checkpoint ({text}). Nothing from it was executed. Only load checkpoints "
                "from sources you trust; errkit never unpickles arbitrary objects.") from None
        raise CheckpointError(f"cannot read checkpoint {path}: {type(exc).__name__}: {text} "
                              "(truncated or not a PyTorch checkpoint?)") from None


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


def check_state_dict_matches(model_state: Mapping[str, Any], state: Mapping[str, Any],
                             source: str, target: str,
                             optional_prefixes: Sequence[str] = ()) -> None:
    """Refuse a state dict that does not fit a model: missing, unexpected, reshaped keys.

    Args:
        model_state (Mapping[str, Any]): The model's ``state_dict()``.
        state (Mapping[str, Any]): The checkpoint's state dict (see
            :func:`state_dict_from_checkpoint`).
        source (str): The checkpoint, for the message.
        target (str): The model, for the message (``'the model of config x.py'``).
        optional_prefixes (Sequence[str]): Model keys the checkpoint may lack
            (parts that the use at hand does not need). Defaults to ``()``.

    Raises:
        CheckpointMismatchError: One line with the count and the first three
            keys of each kind of difference.

    Examples:
        >>> check_state_dict_matches({'w': torch.zeros(2)}, {'v': torch.zeros(2)}, 'a.pth', 'net')
        Traceback (most recent call last):
        ...
        errkit.utils.checkpoint.CheckpointMismatchError: checkpoint a.pth does not match net: ...
    """
    prefixes = tuple(optional_prefixes)
    missing = [k for k in model_state if k not in state and not k.endswith("_extra_state")
               and not (prefixes and k.startswith(prefixes))]
    unexpected = [k for k in state if k not in model_state]
    shapes = [f"{k}: checkpoint {tuple(v.shape)} vs model {tuple(model_state[k].shape)}"
              for k, v in state.items() if k in model_state and torch.is_tensor(v)
              and torch.is_tensor(model_state[k]) and v.shape != model_state[k].shape]
    if missing or unexpected or shapes:
        parts = [f"{len(v)} {what} (e.g. {', '.join(v[:3])})" for what, v in (
            ("keys missing from the checkpoint", missing),
            ("unexpected keys in the checkpoint", unexpected),
            ("tensors of another shape", shapes)) if v]
        raise CheckpointMismatchError(
            f"checkpoint {source} does not match {target}: " + "; ".join(parts)
            + ". Was it trained with another config (or other --cfg-options)?")


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
