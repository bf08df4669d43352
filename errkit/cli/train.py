"""``tools/train.py`` and ``errkit train``: train a model from a config with
mmengine's Runner."""

from __future__ import annotations

import argparse
import sys
from contextlib import contextmanager
from typing import Iterator, List, Optional

import torch
import torch.distributed as dist

from errkit.cli.common import (SMOKE_HELP, ConfigNotFoundError, add_common_args,
                               apply_data_args, apply_plugin_args, fail,
                               fail_on_config_problems, load_config, work_dir_for)
from errkit.datasets.errors import DatasetNotFoundError
from errkit.engine import CheckpointError, build_runner, find_resumable_checkpoint
from errkit.engine.finite_state import NonFiniteStateError
from errkit.engine.nan_guard import NonFiniteLossError, TooManySkippedUpdatesError
from errkit.engine.optimizers import amp_variant
from errkit.plugin_manager import PluginError
from errkit.registry import MODELS, UnknownComponentError
from errkit.utils.help_text import HelpFormatter, plain_text
from errkit.utils.output_paths import OutputPathError

__all__ = ["parse_args", "merge_args", "main"]


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the training flags (the same as mmpretrain's ``tools/train.py``)."""
    parser = argparse.ArgumentParser(prog="errkit train", description=plain_text(__doc__),
                                     formatter_class=HelpFormatter)
    parser.add_argument("config", help="config file (path, or name in a plugin's config folder)")
    add_common_args(parser)
    parser.add_argument("--resume", nargs="?", type=str, const="auto",
                        help="resume from a checkpoint; without a path, from the latest "
                        "checkpoint in the work dir")
    parser.add_argument("--amp", action="store_true", help="mixed precision "
                        "(bfloat16 where supported, else float16)")
    parser.add_argument("--no-validate", action="store_true", help="skip validation")
    parser.add_argument("--smoke", action="store_true", help=SMOKE_HELP)
    return parser.parse_args(argv)


def merge_args(cfg, args: argparse.Namespace):
    """Fold the command-line flags into the config.

    ``--smoke`` without ``--work-dir`` writes to the work dir's name plus
    ``_smoke``. ``--resume`` without a path resumes from the newest checkpoint
    of the work dir that loads (see :func:`find_resumable_checkpoint`),
    warning about newer ones that do not.
    """
    cfg.work_dir = work_dir_for(cfg, args.work_dir, args.config)
    if getattr(args, "smoke", False) and not args.work_dir:
        cfg.work_dir += "_smoke"  # never mixed with the checkpoints of the real run
    cfg.launcher = args.launcher
    if args.resume == "auto":
        found, skipped = find_resumable_checkpoint(cfg.work_dir)
        for item in skipped:
            kind = "a refused" if item.refused else "an unreadable"
            print(f"errkit: warning: not resuming from {kind} checkpoint: {item.reason}",
                  file=sys.stderr)
        if found is None and any(item.refused for item in skipped):
            # A refused checkpoint may be intact: never advise deleting it.
            fail(f"no checkpoint in {cfg.work_dir} can be resumed from: errkit refused to load "
                 f"{', '.join(i.path for i in skipped if i.refused)}; pass --resume PATH with "
                 "a checkpoint errkit can load, or train into another --work-dir")
        if found is None and skipped:
            fail(f"no readable checkpoint to resume from in {cfg.work_dir}; remove the broken "
                 "ones to start afresh, or pass --resume PATH")
        if skipped:
            print(f"errkit: warning: resuming from {found}, the newest readable checkpoint",
                  file=sys.stderr)
        cfg.resume = found is not None  # None: nothing saved yet, start afresh
        cfg.load_from = found
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    if args.amp:
        wrapper = cfg.optim_wrapper
        dtype = "bfloat16" if (not torch.cuda.is_available()
                               or torch.cuda.is_bf16_supported()) else "float16"
        if wrapper.get("constructor") == "MultiOptimWrapperConstructor":
            for key, sub in wrapper.items():
                if isinstance(sub, dict) and "optimizer" in sub:
                    sub["type"] = amp_variant(sub.get("type", "OptimWrapper"))
                    sub["dtype"] = dtype
        else:
            wrapper["type"] = amp_variant(wrapper.get("type", "OptimWrapper"))
            wrapper["dtype"] = dtype
    if args.no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None
    return cfg


@contextmanager
def _process_group(launcher: str) -> Iterator[None]:
    """Hold the process group of a ``--launcher pytorch`` run for the run's length.

    mmengine's launcher always calls ``torch.cuda.set_device``; it skips its own
    initialisation when a process group exists, so CPU-only runs start a gloo
    group here. Whoever started it, the group is destroyed when the run ends
    (normally or not): a group left to the interpreter's exit can abort a rank
    while its communication threads are torn down, failing a finished run.
    """
    if launcher == "pytorch" and not torch.cuda.is_available() and not dist.is_initialized():
        dist.init_process_group(backend="gloo")
    try:
        yield
    finally:
        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()


def main(argv: Optional[List[str]] = None) -> None:
    """Entry point of ``tools/train.py`` and ``errkit train``.

    Config mistakes (missing file, unknown ``type``, a value of the wrong
    type or out of range, missing data, a work dir that cannot be written), a
    checkpoint that cannot be loaded and a non-finite loss end with one
    ``errkit: error: ...`` message instead of a traceback: exit status 2 for
    the config and the checkpoint, 1 for the loss.
    """
    args = parse_args(argv)
    apply_plugin_args(args)
    try:
        cfg = load_config(args.config, args.cfg_options)
        if isinstance(cfg.get("model"), dict) and isinstance(cfg.model.get("type"), str):
            MODELS.get(cfg.model.type)  # before the runner logs the whole config
        apply_data_args(cfg, args)
    except (ConfigNotFoundError, UnknownComponentError, ValueError, PluginError) as exc:
        fail(str(exc))
    fail_on_config_problems(cfg, args.config)
    cfg = merge_args(cfg, args)
    try:
        with _process_group(cfg.launcher):
            runner = build_runner(cfg)
            runner.train()
    except (DatasetNotFoundError, UnknownComponentError, CheckpointError, OutputPathError,
            PluginError) as exc:
        fail(str(exc))
    except (NonFiniteLossError, NonFiniteStateError, TooManySkippedUpdatesError) as exc:
        fail(str(exc), code=1)


if __name__ == "__main__":
    main()
