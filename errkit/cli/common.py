"""What ``tools/*.py`` and the ``errkit`` command share: argument parsing and
merging, config type checks and plugin switches.

Config loading itself lives in :mod:`errkit.config` (its names are re-exported
here for the tools).
"""

from __future__ import annotations

import argparse
import fnmatch
import inspect
import math
import numbers
import os
import os.path as osp
import sys
import typing
from typing import Any, Dict, Iterator, List, Optional, Tuple, Union

try:
    from types import UnionType  # ``int | None`` annotations
except ImportError:  # Python < 3.10
    UnionType = None

from mmengine.config import Config, DictAction

from errkit import registry
from errkit.config import (SMOKE_BATCH_SIZE, SMOKE_EVAL_SAMPLES, SMOKE_TRAIN_SAMPLES,
                           ConfigNotFoundError, load_config, make_smoke_config, resolve_config,
                           set_data_root, unread_data_root, work_dir_for)
from errkit.plugin_manager import PluginError, disable_plugins, load_plugins

# ConfigNotFoundError, resolve_config, load_config and work_dir_for are importable
# from here too; they are documented in errkit.config.
__all__ = ["CHECKPOINT_HELP", "DATA_ROOT_HELP", "SMOKE_HELP", "ConfigValueError",
           "CONFIG_RANGES", "check_config_types", "check_config_ranges",
           "fail_on_config_problems", "add_common_args", "apply_data_args", "apply_plugin_args",
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
    """Find config values of the wrong type, or out of their range.

    Every dict with a ``type`` that errkit's registries (and their mmengine
    parents) know is checked against the ``__init__`` annotations of that
    class; ``*_dataloader`` keys against :class:`torch.utils.data.DataLoader`'s;
    ``train_cfg`` against mmengine's training loops. Only plain annotations
    (``int``, ``float``, ``bool``, ``str``, ``None`` and unions of them) are
    checked, and ``None`` values are left to the components. Numbers are then
    checked against :data:`CONFIG_RANGES` (epochs, intervals, batch sizes,
    learning rates, loss weights ...).

    Args:
        cfg (Config): The merged config.

    Returns:
        list[str]: One line per problem, naming the field (e.g.
        ``model.num_classes: expected int, got str 'seven' (TimmClassifier)``,
        ``train_cfg.max_epochs: must be >= 1, got -1``).
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
    return problems + check_config_ranges(cfg)


#: ``(pattern, lowest, lowest allowed?, highest (excluded))`` of numeric config
#: values; patterns are :mod:`fnmatch` patterns of the dotted key path (``*``
#: spans dots, so ``model*.loss_weight`` matches the key at any depth).
CONFIG_RANGES: Tuple[Tuple[str, float, bool, Optional[float]], ...] = (
    ("train_cfg.max_epochs", 1, True, None),
    ("train_cfg.max_iters", 1, True, None),
    ("train_cfg.val_interval", 1, True, None),
    ("train_cfg.val_begin", 0, True, None),
    ("*_dataloader.batch_size", 1, True, None),
    ("*_dataloader.num_workers", 0, True, None),
    ("optim_wrapper*optimizer.lr", 0, False, None),
    ("optim_wrapper*optimizer.weight_decay", 0, True, None),
    ("optim_wrapper*optimizer.momentum", 0, True, None),
    ("optim_wrapper*clip_grad.max_norm", 0, False, None),
    ("model*.loss_weight", 0, True, None),
    ("model*.loss_weights.*", 0, True, None),
    ("model*.num_classes", 1, True, None),
    ("default_hooks.logger.interval", 1, True, None),
    ("randomness.seed", 0, True, 2 ** 32),
)


def _numbers(node: Any, path: str) -> Iterator[Tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _numbers(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from _numbers(value, f"{path}[{i}]")
    elif isinstance(node, numbers.Real) and not isinstance(node, bool):
        yield path, node


def check_config_ranges(cfg: Config) -> List[str]:
    """Find numbers that make no sense where they are: :data:`CONFIG_RANGES`.

    ``max_epochs=-1`` trains nothing, ``val_interval=0`` divides by zero, a
    negative loss weight trains towards the opposite of its term; each such
    value, and any NaN or infinite one among them, is one line naming its key
    path.

    Args:
        cfg (Config): The merged config.

    Returns:
        list[str]: One line per value out of range, e.g.
        ``train_cfg.val_interval: must be >= 1, got 0``.

    Examples:
        >>> check_config_ranges(Config(dict(train_cfg=dict(max_epochs=0, val_interval=1))))
        ['train_cfg.max_epochs: must be >= 1, got 0']
    """
    problems = []
    for path, value in _numbers(cfg.to_dict() if hasattr(cfg, "to_dict") else dict(cfg), ""):
        for pattern, low, inclusive, high in CONFIG_RANGES:
            if not fnmatch.fnmatchcase(path, pattern):
                continue
            ok = (value >= low if inclusive else value > low) and math.isfinite(value)
            if high is not None:
                ok = ok and value < high
            if not ok:
                rule = f"{'>=' if inclusive else '>'} {low}"
                if high is not None:
                    rule += f" and < {high}"
                problems.append(f"{path}: must be {rule}, got {value!r}")
            break
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
    """Apply ``--disable-plugin`` and the local rank, then discover the plugins.

    A plugin that fails to import (or calls ``sys.exit`` while importing) ends
    the command here with one line naming it and how to disable it.
    """
    disable_plugins(args.disable_plugin)
    if "LOCAL_RANK" not in os.environ:
        os.environ["LOCAL_RANK"] = str(args.local_rank)
    try:
        load_plugins()
    except PluginError as exc:
        fail(str(exc))


def fail_on_config_problems(cfg: Config, name: str) -> None:
    """Exit with one line per value of ``cfg`` of the wrong type or out of range.

    Args:
        cfg (Config): The merged config.
        name (str): The config's path or name, for the message.
    """
    problems = check_config_types(cfg)
    if problems:
        fail(f"config {name} has invalid values:\n  " + "\n  ".join(problems))


def fail(message: str, code: int = 2) -> "None":
    """Print ``message`` to stderr and exit with ``code``."""
    print(f"errkit: error: {message}", file=sys.stderr)
    raise SystemExit(code)


def argv_or_sys(argv: Optional[List[str]]) -> List[str]:
    return sys.argv[1:] if argv is None else list(argv)
