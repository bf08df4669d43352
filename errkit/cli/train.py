"""``tools/train.py`` and ``errkit train``: train a model from a config with
mmengine's Runner."""

from __future__ import annotations

import argparse
from typing import List, Optional

from errkit.cli.common import (ConfigNotFoundError, add_common_args, apply_plugin_args, fail,
                               load_config, work_dir_for)

__all__ = ["parse_args", "merge_args", "main"]


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the training flags (the same as mmpretrain's ``tools/train.py``)."""
    parser = argparse.ArgumentParser(prog="errkit train", description=__doc__)
    parser.add_argument("config", help="config file (path, or name in a plugin's config folder)")
    add_common_args(parser)
    parser.add_argument("--resume", nargs="?", type=str, const="auto",
                        help="resume from a checkpoint; without a path, from the latest "
                        "checkpoint in the work dir")
    parser.add_argument("--amp", action="store_true", help="mixed precision "
                        "(bfloat16 where supported, else float16)")
    parser.add_argument("--no-validate", action="store_true", help="skip validation")
    return parser.parse_args(argv)


def merge_args(cfg, args: argparse.Namespace):
    """Fold the command-line flags into the config."""
    cfg.work_dir = work_dir_for(cfg, args.work_dir, args.config)
    cfg.launcher = args.launcher
    if args.resume == "auto":
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    if args.amp:
        import torch

        wrapper = cfg.optim_wrapper
        dtype = "bfloat16" if (not torch.cuda.is_available()
                               or torch.cuda.is_bf16_supported()) else "float16"
        if wrapper.get("constructor") == "MultiOptimWrapperConstructor":
            for key, sub in wrapper.items():
                if isinstance(sub, dict) and "optimizer" in sub:
                    sub["type"] = "AmpOptimWrapper"
                    sub["dtype"] = dtype
        else:
            wrapper["type"] = "AmpOptimWrapper"
            wrapper["dtype"] = dtype
    if args.no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None
    return cfg


def main(argv: Optional[List[str]] = None) -> None:
    """Entry point of ``tools/train.py`` and ``errkit train``."""
    args = parse_args(argv)
    apply_plugin_args(args)
    import errkit.engine  # noqa: F401  (allow-lists checkpoint globals)
    from mmengine.runner import Runner

    from errkit.datasets.errors import DatasetNotFoundError

    try:
        cfg = load_config(args.config, args.cfg_options)
    except ConfigNotFoundError as exc:
        fail(str(exc))
    cfg = merge_args(cfg, args)
    try:
        runner = Runner.from_cfg(cfg)
        runner.train()
    except DatasetNotFoundError as exc:
        fail(str(exc))


if __name__ == "__main__":
    main()
