"""Safe checkpoint loading: ``weights_only`` with an explicit allow-list.

PyTorch >= 2.6 loads checkpoints with ``weights_only=True``: only tensors,
containers and allow-listed classes are unpickled, so a malicious checkpoint
cannot run code. mmengine 0.10.7 stores a few non-tensor objects in its
checkpoints (the message hub's :class:`~mmengine.logging.HistoryBuffer` and the
numpy arrays and scalars it holds), which the default refuses. errkit
allow-lists exactly those classes, never falling back to unrestricted
unpickling.
"""

from __future__ import annotations

import glob
import os
import os.path as osp
import re
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import torch
import torch.nn as nn

__all__ = ["SAFE_GLOBALS", "register_safe_globals", "safe_load", "load_backbone_weights",
           "find_resumable_checkpoint", "CheckpointError"]

#: Names of the periodic checkpoints that auto-resume considers (not ``best_*``).
_PERIODIC_CKPT = re.compile(r"^(epoch|iter)_(\d+)\.pth$")


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
    import pickle

    from mmengine.logging import HistoryBuffer

    if (obj is HistoryBuffer or isinstance(obj, HistoryBuffer)) and name in HISTORY_BUFFER_METHODS:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f"checkpoint asks for attribute {name!r} of {type(obj).__name__}: not allowed")


def _mmengine_globals() -> List[Any]:
    from mmengine.logging import HistoryBuffer

    return [HistoryBuffer, (restricted_getattr, "__builtin__.getattr"),
            (restricted_getattr, "builtins.getattr"), (_codecs_encode, "_codecs.encode")]


def _codecs_encode(obj: Any, encoding: str = "utf-8", errors: str = "strict") -> bytes:
    """``_codecs.encode`` for the byte strings inside pickled numpy arrays."""
    import codecs

    if not isinstance(obj, str) or encoding not in ("latin1", "latin-1", "utf-8", "utf8"):
        import pickle

        raise pickle.UnpicklingError("checkpoint calls _codecs.encode with unexpected arguments")
    return codecs.encode(obj, encoding, errors)


#: Every class that errkit allows ``torch.load`` to reconstruct beyond PyTorch's own.
SAFE_GLOBALS: List[Any] = _numpy_globals() + _mmengine_globals()

_REGISTERED = False


def register_safe_globals() -> None:
    """Allow-list :data:`SAFE_GLOBALS` for ``torch.load(weights_only=True)``.

    Idempotent. Called when :mod:`errkit.engine` is imported, so mmengine's
    ``Runner(resume=True)`` and ``load_checkpoint`` work with PyTorch >= 2.6
    without unsafe unpickling.
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
        lines = [ln for ln in str(exc).splitlines() if "GLOBAL" in ln or "not allowed" in ln]
        text = (lines or str(exc).splitlines() or [type(exc).__name__])[0].strip()
        if any(k in str(exc).lower() for k in ("unsupported global", "not an allowed global",
                                               "is blocked", "not allowed",
                                               "unexpected arguments")):
            raise CheckpointError(
                f"refused to load {path}: it contains objects that are not allowed in an errkit "
                f"checkpoint ({text}). Nothing from it was executed. Only load checkpoints "
                "from sources you trust; errkit never unpickles arbitrary objects.") from exc
        raise CheckpointError(f"cannot read checkpoint {path}: {type(exc).__name__}: {text} "
                              "(truncated or not a PyTorch checkpoint?)") from exc


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
    """
    if path.endswith(".safetensors"):
        from safetensors.torch import load_file

        if not os.path.isfile(path):
            raise CheckpointError(f"checkpoint file not found: {path}")
        state = load_file(path)
    else:
        state = safe_load(path)
    for key in ("state_dict", "model", "state_dict_ema"):
        if isinstance(state, dict) and key in state and isinstance(state[key], dict):
            state = state[key]
            break
    if prefix:
        state = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    own = module.state_dict()
    if skip_classifier:
        state = {k: v for k, v in state.items() if k not in own or own[k].shape == v.shape}
    result = module.load_state_dict(state, strict=False)
    return {"missing": list(result.missing_keys), "unexpected": list(result.unexpected_keys)}


def find_resumable_checkpoint(work_dir: str) -> Tuple[Optional[str], List[str]]:
    """The newest checkpoint of ``work_dir`` that loads, for ``--resume`` without a path.

    Candidates, newest first: the file named by ``last_checkpoint``, then every
    ``epoch_N.pth`` / ``iter_N.pth`` by modification time. Each is loaded with
    :func:`~errkit.engine.checkpoint.safe_load` until one reads; the ones
    skipped on the way (missing, truncated, corrupt) are reported.

    Args:
        work_dir (str): The run's work dir.

    Returns:
        tuple: The checkpoint path (None when the folder holds none) and a list
        of warnings, one per skipped candidate.
    """
    candidates: List[str] = []
    pointer = osp.join(work_dir, "last_checkpoint")
    if osp.isfile(pointer):
        with open(pointer, encoding="utf-8") as f:
            named = f.read().strip()
        if named:
            candidates.append(named)
    periodic = [p for p in glob.glob(osp.join(work_dir, "*.pth"))
                if _PERIODIC_CKPT.match(osp.basename(p))]
    periodic.sort(key=lambda p: (os.stat(p).st_mtime,
                                 int(_PERIODIC_CKPT.match(osp.basename(p)).group(2))),
                  reverse=True)
    candidates += [p for p in periodic
                   if osp.abspath(p) not in {osp.abspath(c) for c in candidates}]
    skipped: List[str] = []
    for path in candidates:
        try:
            safe_load(path)
        except CheckpointError as exc:
            skipped.append(str(exc))
            continue
        return path, skipped
    return None, skipped
