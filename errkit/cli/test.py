"""``tools/test.py`` and ``errkit test``: evaluate a checkpoint on the test split."""

from __future__ import annotations

import argparse
from typing import List, Optional

from errkit.cli.common import (CHECKPOINT_HELP, ConfigNotFoundError, add_common_args,
                               apply_data_args, apply_plugin_args, fail,
                               fail_on_config_problems, load_config, work_dir_for)
from errkit.plugin_manager import PluginError
from errkit.utils.atomic_io import atomic_write_json
from errkit.utils.help_text import HelpFormatter, plain_text
from errkit.utils.output_paths import OutputPathError, check_output_dir, check_output_file

__all__ = ["parse_args", "merge_args", "main"]


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the test flags (the same as mmpretrain's ``tools/test.py``)."""
    parser = argparse.ArgumentParser(prog="errkit test", description=plain_text(__doc__),
                                     formatter_class=HelpFormatter)
    parser.add_argument("config", help="config file")
    parser.add_argument("checkpoint", help=CHECKPOINT_HELP)
    add_common_args(parser)
    parser.add_argument("--show-dir", help="write residual grids (input | generated neutral | "
                        "residual | true neutral, with each face's true and predicted class) "
                        "as PNG into this folder: one per face and residual_grid.png")
    parser.add_argument("--residual-scale", default="fixed", metavar="SCALE",
                        help="colour scale of the residuals in --show-dir: fixed (+-0.25 "
                        "intensity), per-image, or a half-range in intensity units "
                        "(default: fixed)")
    parser.add_argument("--out", help="write the metrics as JSON to this file")
    return parser.parse_args(argv)


def merge_args(cfg, args: argparse.Namespace):
    """Fold the command-line flags into the config.

    Raises:
        CheckpointNotFoundError: ``args.checkpoint`` names no checkpoint (see
            :func:`errkit.utils.checkpoint_path.resolve_checkpoint`).
        ValueError: A ``--residual-scale`` that is not one.
    """
    # Imported here, so that --help answers without importing torch.
    from errkit.utils.checkpoint_path import resolve_checkpoint
    from errkit.visualization.residual_grid import check_residual_scale

    cfg.work_dir = work_dir_for(cfg, args.work_dir, args.config)
    cfg.launcher = args.launcher
    cfg.load_from = resolve_checkpoint(args.checkpoint)
    if args.show_dir:
        hooks = cfg.setdefault("custom_hooks", [])
        existing = [h for h in hooks if h.get("type") == "ResidualVisualizationHook"]
        scale = check_residual_scale(getattr(args, "residual_scale", "fixed"))
        if existing:
            existing[0].update(test_out_dir=args.show_dir, scale=scale)
        else:
            hooks.append(dict(type="ResidualVisualizationHook", test_out_dir=args.show_dir,
                              scale=scale))
    return cfg


def main(argv: Optional[List[str]] = None) -> dict:
    """Entry point of ``tools/test.py`` and ``errkit test``.

    Returns:
        dict: The test metrics.
    """
    args = parse_args(argv)
    apply_plugin_args(args)
    # After argument parsing, so that --help answers at once: the engine imports
    # torch and mmengine's runner.
    from errkit.datasets.errors import DatasetNotFoundError
    from errkit.engine import CheckpointError, build_runner

    try:
        cfg = load_config(args.config, args.cfg_options)
        apply_data_args(cfg, args)
        cfg = merge_args(cfg, args)
    except (ConfigNotFoundError, FileNotFoundError, ValueError, CheckpointError,
            PluginError) as exc:
        fail(str(exc))
    fail_on_config_problems(cfg, args.config)
    try:
        if args.out:
            check_output_file(args.out, "--out")
        if args.show_dir:
            check_output_dir(args.show_dir, "--show-dir")
        runner = build_runner(cfg)
        metrics = runner.test()
    except (DatasetNotFoundError, CheckpointError, OutputPathError, PluginError) as exc:
        fail(str(exc))
    if args.out:
        atomic_write_json(args.out, metrics)
    return metrics


if __name__ == "__main__":
    main()
