"""What ``tools/*.py`` and the ``errkit`` command share: config resolution,
argument merging and plugin switches."""

from __future__ import annotations

import argparse
import os
import os.path as osp
import sys
from typing import List, Optional

from mmengine.config import Config, DictAction

__all__ = ["ConfigNotFoundError", "resolve_config", "load_config", "add_common_args",
           "apply_plugin_args", "fail"]


class ConfigNotFoundError(FileNotFoundError):
    """A config path that is neither a file nor found in any plugin's config folder."""


def resolve_config(path: str) -> str:
    """Find a config file by path, or relative to errkit's and plugins' config folders.

    Args:
        path (str): ``configs/errnet_ckplus.py``, ``errnet_ckplus.py`` or a path
            relative to a folder contributed by ``errkit_config_paths``.

    Returns:
        str: An existing file path.

    Raises:
        ConfigNotFoundError: Nothing matches; the message lists where it looked.
    """
    if osp.isfile(path):
        return path
    from errkit.plugin_manager import get_config_paths

    searched = []
    for folder in get_config_paths():
        for candidate in (path, path[len("configs/"):] if path.startswith("configs/") else None):
            if candidate:
                full = osp.join(folder, candidate)
                searched.append(full)
                if osp.isfile(full):
                    return full
    raise ConfigNotFoundError(
        f"config file not found: {path}\nLooked in the current folder and in: "
        + (", ".join(sorted({osp.dirname(s) for s in searched})) or "(no config folders)"))


def load_config(path: str, cfg_options: Optional[dict] = None) -> Config:
    """Resolve and load a config, apply ``--cfg-options``, force ``default_scope``."""
    cfg = Config.fromfile(resolve_config(path))
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    cfg.setdefault("default_scope", "errkit")
    return cfg


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """Flags every errkit tool takes."""
    parser.add_argument("--work-dir", help="folder for logs and checkpoints "
                        "(default: work_dirs/<config name>)")
    parser.add_argument("--cfg-options", nargs="+", action=DictAction,
                        help="override config settings, e.g. train_cfg.max_epochs=2")
    parser.add_argument("--launcher", choices=["none", "pytorch"], default="none",
                        help="job launcher (pytorch: started by torchrun)")
    parser.add_argument("--disable-plugin", action="append", default=[], metavar="NAME",
                        help="do not load this plugin (entry-point or distribution name); "
                        "repeatable")
    # torchrun passes --local-rank / --local_rank to older scripts
    parser.add_argument("--local-rank", "--local_rank", type=int, default=0, help=argparse.SUPPRESS)


def apply_plugin_args(args: argparse.Namespace) -> None:
    """Apply ``--disable-plugin`` and the local rank before anything is built."""
    from errkit.plugin_manager import disable_plugins

    disable_plugins(args.disable_plugin)
    if "LOCAL_RANK" not in os.environ:
        os.environ["LOCAL_RANK"] = str(args.local_rank)


def fail(message: str, code: int = 2) -> "None":
    """Print ``message`` to stderr and exit with ``code``."""
    print(f"errkit: error: {message}", file=sys.stderr)
    raise SystemExit(code)


def work_dir_for(cfg: Config, args_work_dir: Optional[str], config_path: str) -> str:
    """``--work-dir``, else the config's ``work_dir``, else ``work_dirs/<name>``."""
    if args_work_dir:
        return args_work_dir
    if cfg.get("work_dir"):
        return cfg.work_dir
    return osp.join("work_dirs", osp.splitext(osp.basename(config_path))[0])


def argv_or_sys(argv: Optional[List[str]]) -> List[str]:
    return sys.argv[1:] if argv is None else list(argv)
