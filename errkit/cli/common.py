"""What ``tools/*.py`` and the ``errkit`` command share: argument parsing and
merging, config type checks and plugin switches.

Config loading itself lives in :mod:`errkit.config` (its names are re-exported
here for the tools).
"""

from __future__ import annotations

import argparse
import inspect
import os
import os.path as osp
import sys
import typing
from typing import Any, Dict, List, Optional, Union

try:
    from types import UnionType  # ``int | None`` annotations
except ImportError:  # Python < 3.10
    UnionType = None

from mmengine.config import Config, DictAction

from errkit import registry
from errkit.config import (SMOKE_BATCH_SIZE, SMOKE_EVAL_SAMPLES, SMOKE_TRAIN_SAMPLES,
                           ConfigNotFoundError, load_config, make_smoke_config, resolve_config,
                           set_data_root, unread_data_root, work_dir_for)
from errkit.plugin_manager import disable_plugins

# ConfigNotFoundError, resolve_config, load_config and work_dir_for are importable
# from here too; they are documented in errkit.config.
__all__ = ["CHECKPOINT_HELP", "DATA_ROOT_HELP", "SMOKE_HELP", "ConfigValueError",
           "check_config_types", "add_common_args", "apply_data_args", "apply_plugin_args",
           "fail"]

#: Help of the checkpoint argument of ``test``, ``infer`` and ``export``.
CHECKPOINT_HELP = ("checkpoint: a .pth file, a run's last_checkpoint file, or a work dir "
                   "holding one")


class ConfigValueError(ValueError):
    """Config values whose type contradicts the argument they are passed to."""


def _annotations(func) -> Dict[str, Any]:
    """Evaluated parameter annotations of ``func``; those that cannot be evaluated are left out."""
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):
        return {}
    namespace = dict(getattr(func, "__globals__", {}))
    namespace.update(vars(typing))
    hints = {}
    for name, param in params.items():
        hint = param.annotation
        if hint is inspect.Parameter.empty:
            continue
        if isinstance(hint, str):
            try:
                hint = eval(hint, namespace)  # noqa: S307 (the library's own annotation text)
            except Exception:
                continue
        hints[name] = hint
    return hints


def _matches(value: Any, hint: Any) -> Optional[bool]:
    """Whether ``value`` fits a simple annotation; None when that cannot be told."""
    origin = typing.get_origin(hint)
    if origin is Union or (UnionType is not None and origin is UnionType):
        verdicts = [_matches(value, arg) for arg in typing.get_args(hint)]
        if any(v is True for v in verdicts):
            return True
        return False if all(v is False for v in verdicts) else None
    if hint is type(None):
        return value is None
    if hint in (int, bool):
        return isinstance(value, (int, bool))
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    return None


def _hint_name(hint: Any) -> str:
    if typing.get_origin(hint) in (Union, UnionType):
        return " | ".join(_hint_name(a) for a in typing.get_args(hint))
    return "None" if hint is type(None) else getattr(hint, "__name__", str(hint))


def _find_class(name: str):
    """The class a config ``type`` names in errkit's registries (or their parents)."""
    for reg_name in registry.__all__:
        reg = getattr(registry, reg_name)
        lookup = getattr(reg, "lookup", None)
        if callable(lookup) and isinstance(reg, registry.ErrkitRegistry):
            try:
                found = lookup(name)
            except Exception:
                found = None
            if inspect.isclass(found):
                return found
    return None


def check_config_types(cfg: Config) -> List[str]:
    """Find config values whose type contradicts the argument they are given to.

    Every dict with a ``type`` that errkit's registries (and their mmengine
    parents) know is checked against the ``__init__`` annotations of that
    class; ``*_dataloader`` keys against :class:`torch.utils.data.DataLoader`'s;
    ``train_cfg`` against mmengine's training loops. Only plain annotations
    (``int``, ``float``, ``bool``, ``str``, ``None`` and unions of them) are
    checked, and ``None`` values are left to the components.

    Args:
        cfg (Config): The merged config.

    Returns:
        list[str]: One line per problem, naming the field (e.g.
        ``model.num_classes: expected int, got str 'seven' (TimmClassifier)``).
    """
    problems: List[str] = []

    def check(node: Any, path: str, hints: Dict[str, Any], owner: str) -> None:
        for key, value in node.items():
            if key == "type" or value is None:
                continue
            hint = hints.get(key)
            if hint is not None and _matches(value, hint) is False:
                problems.append(f"{path}.{key}: expected {_hint_name(hint)}, got "
                                f"{type(value).__name__} {value!r} ({owner})")

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            kind = node.get("type")
            cls = _find_class(kind) if isinstance(kind, str) else None
            if cls is not None:
                check(node, path, _annotations(cls.__init__), kind)
            for key, value in node.items():
                walk(value, f"{path}.{key}" if path else str(key))
        elif isinstance(node, (list, tuple)):
            for i, value in enumerate(node):
                walk(value, f"{path}[{i}]")

    # torch and mmengine's runner load in seconds: imported here, so that
    # ``--help`` and argument errors answer at once.
    import torch.utils.data
    from mmengine.runner import EpochBasedTrainLoop, IterBasedTrainLoop

    loader_hints = _annotations(torch.utils.data.DataLoader.__init__)
    for key in ("train_dataloader", "val_dataloader", "test_dataloader"):
        if isinstance(cfg.get(key), dict):
            check(cfg[key], key, loader_hints, "DataLoader")
    train_cfg = cfg.get("train_cfg")
    if isinstance(train_cfg, dict) and "type" not in train_cfg:
        loop = EpochBasedTrainLoop if train_cfg.get("by_epoch", True) else IterBasedTrainLoop
        check(train_cfg, "train_cfg", _annotations(loop.__init__), loop.__name__)
    for key in cfg.keys():
        walk(cfg[key], key)
    return problems


#: Help of ``--data-root`` (train, test, kfold, ablation).
DATA_ROOT_HELP = ("read every dataset (train, val, test) from this folder instead of the "
                  "config's data_root")
#: Help of ``--smoke`` (train, kfold, ablation).
SMOKE_HELP = (f"smoke run: one epoch on the first {SMOKE_TRAIN_SAMPLES} training and "
              f"{SMOKE_EVAL_SAMPLES} validation/test samples of each dataset, batches of at "
              f"most {SMOKE_BATCH_SIZE}, every iteration logged (default work dir: "
              "work_dirs/<config name>_smoke)")


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """Flags every errkit tool takes."""
    parser.add_argument("--work-dir", help="folder for logs and checkpoints "
                        "(default: work_dirs/<config name>)")
    parser.add_argument("--data-root", metavar="DIR", help=DATA_ROOT_HELP)
    parser.add_argument("--cfg-options", nargs="+", action=DictAction,
                        help="override config settings, e.g. train_cfg.max_epochs=2")
    parser.add_argument("--launcher", choices=["none", "pytorch"], default="none",
                        help="job launcher (pytorch: started by torchrun)")
    parser.add_argument("--disable-plugin", action="append", default=[], metavar="NAME",
                        help="do not load this plugin (entry-point or distribution name); "
                        "repeatable")
    # torchrun passes --local-rank / --local_rank to older scripts
    parser.add_argument("--local-rank", "--local_rank", type=int, default=0, help=argparse.SUPPRESS)


def apply_data_args(cfg: Config, args: argparse.Namespace) -> None:
    """Apply ``--data-root`` and ``--smoke`` to a loaded config, saying what they do.

    Raises:
        ValueError: The config has no dataset to set, or one that cannot take
            a subset (see :func:`errkit.config.make_smoke_config`).
    """
    if getattr(args, "data_root", None):
        set_data_root(cfg, args.data_root)
        print(f"errkit: every dataset reads {osp.abspath(osp.expanduser(args.data_root))}",
              file=sys.stderr)
    else:
        unread = unread_data_root(cfg)
        if unread:
            print(f"errkit: warning: {unread}", file=sys.stderr)
    if getattr(args, "smoke", False):
        print(f"errkit: {make_smoke_config(cfg)}", file=sys.stderr)


def apply_plugin_args(args: argparse.Namespace) -> None:
    """Apply ``--disable-plugin`` and the local rank before anything is built."""
    disable_plugins(args.disable_plugin)
    if "LOCAL_RANK" not in os.environ:
        os.environ["LOCAL_RANK"] = str(args.local_rank)


def fail(message: str, code: int = 2) -> "None":
    """Print ``message`` to stderr and exit with ``code``."""
    print(f"errkit: error: {message}", file=sys.stderr)
    raise SystemExit(code)


def argv_or_sys(argv: Optional[List[str]]) -> List[str]:
    return sys.argv[1:] if argv is None else list(argv)
