"""The hooks an errkit plugin may implement.

A plugin is a module (usually the top-level module of a pip package) that is
named in the ``errkit`` entry-point group and implements some of the hooks below
with the :data:`errkit.hookimpl` marker::

    # pyproject.toml of the plugin package
    [project.entry-points.errkit]
    my_residuals = "my_residuals.plugin"

    # my_residuals/plugin.py
    import errkit

    ERRKIT_PLUGIN_API = ">=1,<2"

    @errkit.hookimpl
    def errkit_register_components(registries):
        from my_residuals.flow_residual import FlowResidual
        registries.residuals.register_module(module=FlowResidual)

errkit's own built-in components are registered by the very same hooks, from the
``errkit`` entry point that errkit's own ``pyproject.toml`` declares.

Hooks are grouped by lifecycle: *registration* hooks run once, when errkit first
needs a component (the first registry lookup, ``errkit plugins``, or a tool's
start); *configuration* hooks run when a config file is resolved.
"""

from __future__ import annotations

from typing import List

import pluggy

#: Project name of the hooks (prefix of every hook, name of the entry-point group).
PROJECT_NAME = "errkit"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
#: Marker for plugin hook implementations; also exported as ``errkit.hookimpl``.
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


# --- registration -----------------------------------------------------------------
@hookspec
def errkit_register_components(registries) -> None:
    """Register a plugin's components into errkit's registries.

    Called once per process for every loaded plugin, errkit's built-ins first,
    then third-party plugins in the order of their distribution names. A plugin
    that raises here is reported as a :class:`~errkit.plugin_manager.PluginError`
    naming its distribution and entry point; whatever it registered before
    raising is removed again.

    Args:
        registries (errkit.plugin_manager.PluginRegistries): One attribute per
            registry (``models``, ``encoders``, ``residuals``, ``losses``,
            ``heads``, ``landmark_detectors``, ``datasets``, ``transforms``,
            ``metrics``, ``hooks``, ``optim_wrappers``, ``optim_wrapper_constructors``, ``visualizers``,
            ``vis_backends``), each with
            ``register_module(name=None, force=False, module=None)`` as in
            mmengine. A name that another plugin already registered is an error
            naming both plugins unless ``force=True`` is given.

    Returns:
        None. Any return value is ignored.

    Who implements it: any plugin that contributes components.
    """


# --- configuration ----------------------------------------------------------------
@hookspec
def errkit_config_paths() -> List[str]:
    """Contribute folders in which config files are looked up.

    ``errkit train CONFIG`` and the tools resolve a ``CONFIG`` that is not an
    existing path against every contributed folder, in plugin order (errkit's own
    ``configs/`` first), so a plugin can ship configs that users name relative to
    its folder, e.g. ``errnet_lbp_synthetic.py``.

    Returns:
        list[str]: Absolute folder paths. Folders that do not exist are ignored.

    Who implements it: plugins that ship config files.
    """
