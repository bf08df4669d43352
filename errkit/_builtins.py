"""errkit's built-in components, registered through the ``errkit`` entry point.

errkit's ``pyproject.toml`` names this module in the ``errkit`` entry-point
group, so the built-ins are loaded by exactly the path that third-party plugins
take (:mod:`errkit.plugin_manager`).
"""

from __future__ import annotations

import os
from typing import List

from errkit.hookspecs import hookimpl
from errkit.registry import ALL_REGISTRIES

ERRKIT_PLUGIN_API = ">=1.0,<2"

#: errkit's own ``configs/`` folder (present in a source checkout).
CONFIG_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir, "configs"))


@hookimpl
def errkit_register_components(registries) -> None:
    """Import the modules named in each registry's ``locations``.

    Their classes register themselves with the decorators of errkit's
    registries (:data:`errkit.registry.ALL_REGISTRIES`, the ones ``registries``
    proxies); the plugin manager attributes every name that appears to errkit.
    """
    for registry in ALL_REGISTRIES.values():
        registry.import_from_location()


@hookimpl
def errkit_config_paths() -> List[str]:
    """errkit's own ``configs/`` folder."""
    return [CONFIG_DIR]
