"""``tools/test.py`` and ``errkit test``: evaluate a checkpoint on the test split."""

from __future__ import annotations

import argparse
import os.path as osp
from typing import List, Optional

from errkit.cli.common import (ConfigNotFoundError, add_common_args, apply_plugin_args,
                               fail, fail_on_config_problems, load_config, work_dir_for)
from errkit.plugin_manager import PluginError
from errkit.utils.atomic_io import atomic_write_json
from errkit.utils.output_paths import OutputPathError, check_output_dir, check_output_file

__all__ = ["parse_args", "merge_args", "resolve_checkpoint", "main"]


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the test flags (the same as mmpretrain's ``tools/test.py``)."""
    parser = argparse.ArgumentParser(prog="errkit test", description=__doc__)
    parser.add_argument("config", help="config file")
    parser.add_argument("checkpoint", help="checkpoint file, a work dir, or its last_checkpoint")
    add_common_args(parser)
    parser.add_argument("--show-dir", help="write residual grids (input | neutral | residual | "
                        "true neutral) as PNG into this folder")
    parser.add_argument("--out", help="write the metrics as JSON to this file")
    return parser.parse_args(argv)


def resolve_checkpoint(path: str) -> str:
    """Accept a checkpoint file, a work dir, or mmengine's ``last_checkpoint`` file.

    Raises:
        FileNotFoundError: Nothing usable at ``path`` (or a ``last_checkpoint``
            that names no path).
    """
    # Imported here, so that --help answers at once (the engine imports torch).
    from errkit.engine.checkpoint import CheckpointError, read_checkpoint_pointer

    if osp.isdir(path):
        path = osp.join(path, "last_checkpoint")
    if osp.basename(path) == "last_checkpoint" and osp.isfile(path):
        try:
            path = read_checkpoint_pointer(path)
        except CheckpointError as exc:
            raise FileNotFoundError(str(exc)) from None
    if not osp.isfile(path):
        raise FileNotFoundError(f"checkpoint not found: {path}")
    return path


def merge_args(cfg, args: argparse.Namespace):
    """Fold the command-line flags into the config."""
    cfg.work_dir = work_dir_for(cfg, args.work_dir, args.config)
    cfg.launcher = args.launcher
    cfg.load_from = resolve_checkpoint(args.checkpoint)
    if args.show_dir:
        hooks = cfg.setdefault("custom_hooks", [])
        existing = [h for h in hooks if h.get("type") == "ResidualVisualizationHook"]
        if existing:
            existing[0]["test_out_dir"] = args.show_dir
        else:
            hooks.append(dict(type="ResidualVisualizationHook", test_out_dir=args.show_dir))
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
        cfg = merge_args(cfg, args)
    except (ConfigNotFoundError, FileNotFoundError, PluginError) as exc:
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
