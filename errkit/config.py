"""Config loading: find a config file, load it, apply overrides, set errkit's scope.

The one place that turns a config name into an :class:`mmengine.config.Config`.
The training, test and k-fold entry points, the inference API and the
benchmarks all load configs through :func:`load_config`, so a config name
resolves the same way everywhere: as a path, else relative to errkit's own
``configs/`` folder and to every folder that a plugin contributes through the
``errkit_config_paths`` hook (see :func:`errkit.plugin_manager.get_config_paths`).
"""

from __future__ import annotations

import os.path as osp
from typing import Optional

from mmengine.config import Config

from errkit.plugin_manager import get_config_paths

__all__ = ["DEFAULT_SCOPE", "ConfigNotFoundError", "resolve_config", "load_config",
           "work_dir_for"]

#: The mmengine scope that every errkit config builds in.
DEFAULT_SCOPE = "errkit"


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

    Examples:
        >>> resolve_config('errnet_synthetic.py').endswith('configs/errnet_synthetic.py')
        True
    """
    if osp.isfile(path):
        return path
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
    """Resolve and load a config, apply ``cfg_options``, default the scope to errkit's.

    Args:
        path (str): A config path or name (see :func:`resolve_config`).
        cfg_options (dict, optional): Overrides, as ``--cfg-options`` gives
            them (``{'train_cfg.max_epochs': 2}``). Defaults to None.

    Returns:
        Config: The merged config; ``default_scope`` is ``'errkit'`` unless the
        config sets another.

    Raises:
        ConfigNotFoundError: The config cannot be found.
    """
    cfg = Config.fromfile(resolve_config(path))
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    cfg.setdefault("default_scope", DEFAULT_SCOPE)
    return cfg


def work_dir_for(cfg: Config, work_dir: Optional[str], config_path: str) -> str:
    """The work dir of a run: ``work_dir``, else the config's, else ``work_dirs/<name>``.

    Args:
        cfg (Config): The loaded config.
        work_dir (str, optional): An explicit work dir (``--work-dir``).
        config_path (str): The config's path; its stem names the default folder.

    Returns:
        str: The work dir.

    Examples:
        >>> work_dir_for(Config({}), None, 'configs/errnet_ckplus.py')
        'work_dirs/errnet_ckplus'
    """
    if work_dir:
        return work_dir
    if cfg.get("work_dir"):
        return cfg.work_dir
    return osp.join("work_dirs", osp.splitext(osp.basename(config_path))[0])
