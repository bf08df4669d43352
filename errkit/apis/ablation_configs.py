"""The configs of an ablation study: their row names, loading, and the study's error.

Both kinds of study load their configs here before anything trains: the
one-fold table (:func:`errkit.apis.ablation.run_ablation`) and the comparison
across folds (:mod:`errkit.apis.cross_fold_ablation`). The error of a study,
:class:`~errkit.apis.ablation.AblationError`, is defined here and exported (and
documented) by :mod:`errkit.apis.ablation`.
"""

from __future__ import annotations

import os.path as osp
from typing import Any, Dict, List, NamedTuple, Optional, Sequence

from mmengine.config import Config

from errkit.config import ConfigNotFoundError, load_config, make_smoke_config, set_data_root

from .experiment import ExperimentError, log

__all__ = ["StudyConfig", "config_names", "load_study_configs"]


class AblationError(ExperimentError):
    """An ablation study that cannot run, or configs of it that failed; the message
    names the configs.

    Args:
        message (str): What went wrong.
        table (dict, optional): The table of the completed configs, when configs
            failed after it was written. Defaults to None.

    Attributes:
        table (dict or None): As given.
    """

    def __init__(self, message: str, table: Optional[Dict[str, Any]] = None) -> None:
        super().__init__(message)
        self.table = table


class StudyConfig(NamedTuple):
    """A loaded config of a study."""

    name: str  #: the row name: the config's file stem
    path: str  #: the config file as given
    cfg: Config  #: the loaded config, overrides merged


def config_names(configs: Sequence[str]) -> List[str]:
    """The row name of each config: its file stem.

    Args:
        configs (Sequence[str]): Config files.

    Returns:
        list[str]: The names, in order.

    Raises:
        AblationError: Two configs share a stem (the stem names a row and a
            work dir).

    Examples:
        >>> config_names(['configs/errnet_synthetic.py', 'baselines/timm.py'])
        ['errnet_synthetic', 'timm']
    """
    names: Dict[str, str] = {}
    for path in configs:
        name = osp.splitext(osp.basename(str(path)))[0]
        if name in names:
            raise AblationError(f"configs {names[name]} and {path} share the name '{name}' "
                                "(the file stem names a row and its work dir); rename one")
        names[name] = str(path)
    return list(names)


def load_study_configs(configs: Sequence[str], cfg_options: Optional[dict] = None,
                       data_root: Optional[str] = None,
                       smoke: bool = False) -> List[StudyConfig]:
    """Load every config of a study; the first that cannot be loaded fails it.

    Args:
        configs (Sequence[str]): Config files (paths, or names in a plugin's
            config folder).
        cfg_options (dict, optional): Overrides merged into every config.
            Defaults to None.
        data_root (str, optional): Read every dataset of every config from
            this folder (see :func:`errkit.config.set_data_root`). Defaults to
            None.
        smoke (bool): Make every config a smoke run (see
            :func:`errkit.config.make_smoke_config`). Defaults to False.

    Returns:
        list[StudyConfig]: The configs, in order.

    Raises:
        AblationError: No configs, two with one name, or a config that cannot be
            found, loaded or given the data root (named, with the reason).
    """
    configs = [str(c) for c in configs]
    if not configs:
        raise AblationError("no configs given")
    loaded = []
    for name, path in zip(config_names(configs), configs):
        try:
            cfg = load_config(path, cfg_options)
        except ConfigNotFoundError as exc:
            raise AblationError(f"config '{name}': {exc}") from exc
        except Exception as exc:  # syntax errors, bad _base_, bad cfg_options
            raise AblationError(f"config '{name}' ({path}) cannot be loaded: "
                                f"{type(exc).__name__}: {exc}") from exc
        try:
            if data_root:
                set_data_root(cfg, data_root)
            if smoke:
                log(f"ablation: config '{name}': {make_smoke_config(cfg)}")
        except ValueError as exc:
            raise AblationError(f"config '{name}' ({path}): {exc}") from exc
        loaded.append(StudyConfig(name, path, cfg))
    return loaded
