"""errkit hooks of errkit-lbp-residual: the ``lbp_residual`` entry point.

errkit imports this module through the ``errkit`` entry-point group declared in
the distribution's ``pyproject.toml``, checks :data:`ERRKIT_PLUGIN_API` against
its own plugin API version, then calls the hooks below.
"""

from __future__ import annotations

import os
from typing import List

import errkit

__all__ = ["ERRKIT_PLUGIN_API", "CONFIG_DIR", "errkit_register_components",
           "errkit_config_paths", "base_config_path"]

#: errkit plugin API versions this plugin works with (a PEP 440 specifier).
ERRKIT_PLUGIN_API = ">=1,<2"

#: The configs shipped with this package (package data).
CONFIG_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "configs")


@errkit.hookimpl
def errkit_register_components(registries) -> None:
    """Register :class:`~errkit_lbp_residual.lbp_residual.LBPResidual` in ``RESIDUALS``."""
    from errkit_lbp_residual.lbp_residual import LBPResidual

    registries.residuals.register_module(module=LBPResidual)


@errkit.hookimpl
def errkit_config_paths() -> List[str]:
    """This package's ``configs/`` folder, so ``errkit train errnet_lbp_synthetic.py`` works."""
    return [CONFIG_DIR]


def base_config_path(name: str) -> str:
    """Absolute path of a config that errkit (or another plugin) ships.

    mmengine resolves a relative ``_base_`` against the folder of the config
    that names it, so a plugin's config cannot reach errkit's configs by a
    relative path once the plugin is installed elsewhere. mmengine evaluates the
    ``_base_`` expression of a Python config, so a plugin config names its base
    as ``_base_ = __import__('errkit_lbp_residual').base_config_path('x.py')``.
    The folders searched are those of :func:`errkit.plugin_manager.get_config_paths`
    (errkit's own ``configs/`` first, then every plugin's), i.e. exactly where
    ``errkit train NAME`` looks.

    Args:
        name (str): Path relative to a config folder, e.g. ``'errnet_synthetic.py'``
            or ``'_base_/models/errnet.py'``.

    Returns:
        str: The absolute path of the first match.

    Raises:
        FileNotFoundError: No config folder holds ``name``; the message lists the
            folders searched.
    """
    from errkit.plugin_manager import get_config_paths

    folders = get_config_paths()
    for folder in folders:
        candidate = os.path.join(folder, name)
        if os.path.isfile(candidate):
            return os.path.abspath(candidate)
    raise FileNotFoundError(
        f"errkit-lbp-residual: base config {name!r} not found in errkit's config folders "
        f"({', '.join(folders) or 'none'}). errkit ships its configs in its source tree "
        "(<errkit checkout>/configs): install errkit from a checkout with `pip install -e .`.")
