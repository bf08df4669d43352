"""Discovery and loading of errkit plugins.

Plugins are modules named in the ``errkit`` entry-point group of any installed
distribution. errkit's own built-in components come from the same group (errkit's
``pyproject.toml`` declares the ``builtins`` entry point), so built-ins and
third-party plugins are loaded by the same code: built-ins first, then the other
distributions in name order.

Loading happens once per process, in two steps. *Discovery* imports every
enabled plugin module, checks its declared plugin API and registers its hooks
with pluggy; :func:`get_config_paths` and :func:`get_plugin_manager` need no
more. *Registration* calls each plugin's ``errkit_register_components`` with
the registries it is handed: the plugin manager does not know errkit's
registries, it receives them. :mod:`errkit.registry` hands over its
:data:`~errkit.registry.ALL_REGISTRIES` on the first lookup in any of them;
:func:`load_plugins` accepts them too. Environment switches:

- ``ERRKIT_DISABLE_PLUGINS``: comma-separated entry-point or distribution names
  that are not loaded (the ``--disable-plugin`` flag of the CLI and tools adds
  to it).
- ``ERRKIT_DISABLE_PLUGIN_AUTOLOAD``: when set to ``1``, only errkit's built-ins
  are loaded; third-party plugins are ignored (keeps test suites hermetic).
- ``ERRKIT_TRACE_PLUGINS``: when set to ``1``, every hook call is logged.
"""

from __future__ import annotations

import importlib
import os
import threading
import warnings
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Tuple

import pluggy
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from errkit import hookspecs
from errkit.version import PLUGIN_API_VERSION, __version__

__all__ = [
    "ENTRY_POINT_GROUP",
    "DISABLE_ENV",
    "AUTOLOAD_ENV",
    "PluginError",
    "PluginConflictError",
    "PluginInfo",
    "PluginRegistries",
    "get_plugin_manager",
    "load_plugins",
    "loaded_plugins",
    "disable_plugins",
    "get_config_paths",
    "reset_plugins",
]

ENTRY_POINT_GROUP = "errkit"
DISABLE_ENV = "ERRKIT_DISABLE_PLUGINS"
AUTOLOAD_ENV = "ERRKIT_DISABLE_PLUGIN_AUTOLOAD"
TRACE_ENV = "ERRKIT_TRACE_PLUGINS"
BUILTIN_DISTRIBUTION = "errkit"
BUILTIN_MODULE = "errkit._builtins"


class PluginError(RuntimeError):
    """A plugin failed to import or to register its components.

    Args:
        message (str): What went wrong.
        distribution (str): The distribution that declares the plugin.
        entry_point (str): The entry point, as ``name = module``.
    """

    def __init__(self, message: str, distribution: str = "?", entry_point: str = "?") -> None:
        self.distribution = distribution
        self.entry_point = entry_point
        super().__init__(message)


class PluginConflictError(PluginError):
    """Two plugins registered the same name in the same registry."""


@dataclass
class PluginInfo:
    """What errkit knows about one entry point of the ``errkit`` group.

    Attributes:
        name (str): Entry-point name.
        value (str): Entry-point target (a module path).
        distribution (str): Name of the distribution that declares it.
        version (str): That distribution's version.
        status (str): ``'loaded'``, ``'disabled'`` or ``'incompatible'``.
        reason (str): Why it was not loaded, when it was not.
        components (dict[str, list[str]]): Names it registered, per registry
            (empty until the plugins' components are registered).
        api (str): The plugin API specifier it declared, or ``''``.
        overrides (dict[str, dict[str, str]]): Names it registered over
            another plugin's (``force=True``), per registry: name -> the
            distribution whose component it replaced.
        overridden (dict[str, dict[str, str]]): Names of this plugin that
            another replaced, per registry: name -> that plugin's distribution.
    """

    name: str
    value: str
    distribution: str
    version: str
    status: str = "loaded"
    reason: str = ""
    components: Dict[str, List[str]] = field(default_factory=dict)
    api: str = ""
    overrides: Dict[str, Dict[str, str]] = field(default_factory=dict)
    overridden: Dict[str, Dict[str, str]] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """``distribution (entry point 'name = value')`` for messages."""
        return f"{self.distribution} (entry point '{self.name} = {self.value}')"


class _RegistryProxy:
    """One registry as a plugin sees it: mmengine's ``register_module`` with a
    clash check that names both plugins."""

    def __init__(self, key: str, registry, owners: Dict, plugin: PluginInfo) -> None:
        self._key = key
        self._registry = registry
        self._owners = owners
        self._plugin = plugin

    @property
    def name(self) -> str:
        """The registry's name."""
        return self._registry.name

    @property
    def module_dict(self) -> Dict[str, Any]:
        """A copy of the names registered so far."""
        return dict(self._registry.module_dict)

    def register_module(self, name: Optional[Any] = None, force: bool = False,
                        module: Optional[type] = None) -> Callable:
        """Register ``module`` (or decorate a class) under ``name``.

        Args:
            name (str | list[str], optional): Registered name(s). Defaults to the
                class name.
            force (bool): Replace an existing name instead of failing.
                Defaults to False.
            module (type, optional): The class or function. When ``None``, a
                decorator is returned.

        Raises:
            PluginConflictError: the name is taken and ``force`` is False.
        """
        if module is None:
            def _decorator(cls):
                self.register_module(name=name, force=force, module=cls)
                return cls
            return _decorator
        names = [name] if isinstance(name, str) else list(name or [module.__name__])
        for n in names:
            if n in self._registry.module_dict and not force:
                owner = self._owners.get((self._key, n))
                owner_label = owner.label if owner is not None else "an unknown module"
                raise PluginConflictError(
                    f"'{n}' is registered twice in the errkit '{self._registry.name}' "
                    f"registry: by {owner_label} and by {self._plugin.label}. Rename one, "
                    f"disable one ({DISABLE_ENV}=name), or register with force=True.",
                    self._plugin.distribution, f"{self._plugin.name} = {self._plugin.value}")
        self._registry.register_module(name=names, force=force, module=module)
        return module


class PluginRegistries:
    """The object handed to :func:`errkit_register_components`.

    One attribute per registry it is built from (errkit's: ``models``,
    ``encoders``, ``residuals``, ``losses``, ``heads``, ``landmark_detectors``,
    ``datasets``, ``data_samplers``, ``transforms``, ``metrics``, ``hooks``,
    ``optimizers``, ``optim_wrappers``, ``optim_wrapper_constructors``,
    ``param_schedulers``, ``visualizers``, ``vis_backends``), each offering
    ``register_module`` as in mmengine, with a clash check that names both plugins.

    Args:
        registries (Mapping[str, Registry]): The registries by attribute name.
        owners (dict): ``(attribute, name) -> PluginInfo`` of every name
            registered so far (updated as plugins register).
        plugin (PluginInfo): The plugin the object is handed to.
    """

    def __init__(self, registries: Mapping[str, Any], owners: Dict, plugin: PluginInfo) -> None:
        self._keys = list(registries)
        for key, registry in registries.items():
            setattr(self, key, _RegistryProxy(key, registry, owners, plugin))

    def __repr__(self) -> str:
        return f"PluginRegistries({', '.join(self._keys)})"


class _State:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.loading = False
        self.discovered = False
        self.registered = False
        self.error: Optional[BaseException] = None
        self.plugins: List[PluginInfo] = []
        #: (info, module) of every plugin whose module was imported and checked.
        self.modules: List[Tuple[PluginInfo, Any]] = []
        #: The registries that plugins were handed (set at registration).
        self.registries: Optional[Mapping[str, Any]] = None
        self.owners: Dict = {}
        #: (registry key, name) -> the component a plugin replaced with force=True.
        self.replaced: Dict = {}
        self.manager: Optional[pluggy.PluginManager] = None


_STATE = _State()


def _normalise(name: str) -> str:
    return name.strip().lower().replace("_", "-")


def _disabled_names() -> set:
    raw = os.environ.get(DISABLE_ENV, "")
    return {_normalise(n) for n in raw.split(",") if n.strip()}


def disable_plugins(names: Iterable[str]) -> None:
    """Add ``names`` to the disabled plugins (before plugins are loaded).

    Args:
        names (Iterable[str]): Entry-point or distribution names.

    Raises:
        RuntimeError: plugins were already loaded in this process.
    """
    names = [n for n in names if n]
    if not names:
        return
    if _STATE.discovered and any(
        p.status == "loaded" and {_normalise(p.name), _normalise(p.distribution)}
        & {_normalise(n) for n in names} for p in _STATE.plugins
    ):
        raise RuntimeError("plugins are already loaded in this process; disable them earlier "
                           f"or set {DISABLE_ENV} before starting")
    current = [n for n in os.environ.get(DISABLE_ENV, "").split(",") if n.strip()]
    os.environ[DISABLE_ENV] = ",".join(current + list(names))


def get_plugin_manager() -> pluggy.PluginManager:
    """The process-wide :class:`pluggy.PluginManager`, plugins discovered.

    Returns:
        pluggy.PluginManager: With errkit's hookspecs and every enabled plugin.

    Raises:
        PluginError: A plugin failed to import.
    """
    with _STATE.lock:
        _discover_plugins()
        assert _STATE.manager is not None
        return _STATE.manager


def _discover() -> List[metadata.EntryPoint]:
    seen = set()
    eps = []
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = ep.dist.name if ep.dist is not None else "?"
        key = (_normalise(dist), ep.name, ep.value)
        if key in seen:
            continue
        seen.add(key)
        eps.append(ep)
    eps.sort(key=lambda e: (_normalise(e.dist.name if e.dist else "?") != BUILTIN_DISTRIBUTION,
                            _normalise(e.dist.name if e.dist else "?"), e.name))
    return eps


def _check_api(info: PluginInfo, module: Any) -> bool:
    spec = getattr(module, "ERRKIT_PLUGIN_API", None)
    if spec is None:
        if info.distribution != BUILTIN_DISTRIBUTION:
            warnings.warn(f"errkit plugin {info.label} does not declare ERRKIT_PLUGIN_API; "
                          f"assuming it works with plugin API {PLUGIN_API_VERSION}", stacklevel=2)
        return True
    info.api = str(spec)
    try:
        ok = Version(PLUGIN_API_VERSION) in SpecifierSet(str(spec))
    except InvalidSpecifier as exc:
        raise PluginError(f"errkit plugin {info.label} declares an invalid ERRKIT_PLUGIN_API "
                          f"{spec!r}: {exc}", info.distribution, info.name) from exc
    if not ok:
        info.status = "incompatible"
        info.reason = (f"needs errkit plugin API {spec}, but errkit {__version__} provides "
                       f"plugin API {PLUGIN_API_VERSION}")
        warnings.warn(f"errkit plugin {info.label} is not loaded: it {info.reason}. "
                      "errkit goes on without it; upgrade the plugin or errkit.", stacklevel=2)
    return ok


def _is_errkit_object(obj: Any) -> bool:
    module = getattr(obj, "__module__", None) or ""
    return module == BUILTIN_DISTRIBUTION or module.startswith(BUILTIN_DISTRIBUTION + ".")


def _snapshot(registries: Mapping[str, Any]) -> Dict[str, Dict[str, Any]]:
    return {k: dict(r.module_dict) for k, r in registries.items()}


def _record_overrides(info: PluginInfo, before: Mapping[str, Mapping[str, Any]],
                      after: Mapping[str, Mapping[str, Any]]) -> None:
    """Note the names whose component ``info`` replaced (``force=True``)."""
    for key, names in after.items():
        for name, obj in names.items():
            previous = before[key].get(name)
            if previous is None or previous is obj:
                continue
            owner = _STATE.owners.get((key, name))
            label = owner.distribution if owner is not None else getattr(
                previous, "__module__", "?")
            info.overrides.setdefault(key, {})[name] = label
            if owner is not None:
                owner.overridden.setdefault(key, {})[name] = info.distribution
            if owner is None or owner.distribution == BUILTIN_DISTRIBUTION:
                _STATE.replaced.setdefault((key, name), previous)
            _STATE.owners[(key, name)] = info
            info.components.setdefault(key, [])
            if name not in info.components[key]:
                info.components[key] = sorted(info.components[key] + [name])


def _register_components(pm: pluggy.PluginManager, info: PluginInfo, module: Any,
                         registries: Mapping[str, Any]) -> None:
    """Call one plugin's ``errkit_register_components``; roll back what it added on failure."""
    before = _snapshot(registries)
    try:
        impls = [i for i in pm.hook.errkit_register_components.get_hookimpls()
                 if i.plugin is module]
        handed = PluginRegistries(registries, _STATE.owners, info)
        for impl in impls:
            impl.function(registries=handed)
    except BaseException as exc:
        after = _snapshot(registries)
        for key, names in after.items():
            for n, obj in names.items():
                if n not in before[key]:
                    registries[key].unregister(n)
                elif before[key][n] is not obj:  # a forced override: put the old one back
                    registries[key].register_module(name=n, force=True, module=before[key][n])
        if pm.is_registered(module):
            pm.unregister(module)
        if isinstance(exc, PluginError):
            raise
        if isinstance(exc, KeyError) and "already registered" in str(exc):
            raise PluginConflictError(
                f"errkit plugin {info.label} registers a name that is taken: {exc}. "
                + _how_to_disable(info),
                info.distribution, info.name) from exc
        raise PluginError(
            f"errkit plugin {info.label} failed while registering its components: "
            f"{type(exc).__name__}: {exc}. " + _how_to_disable(info),
            info.distribution, info.name) from exc
    after = _snapshot(registries)
    _record_overrides(info, before, after)
    for key, names in after.items():
        added = set(names) - set(before[key])
        if info.distribution == BUILTIN_DISTRIBUTION:
            # errkit's own classes, wherever their import happened (a plugin module
            # may import errkit.models before the built-ins' hook runs; after
            # reset_plugins() they are registered already).
            module_dict = registries[key].module_dict
            added |= {n for n in names if _is_errkit_object(module_dict[n])}
        if added:
            info.components[key] = sorted(added)
            for n in added:
                _STATE.owners[(key, n)] = info


def _how_to_disable(info: PluginInfo) -> str:
    if info.distribution == BUILTIN_DISTRIBUTION:
        return "errkit's own components are broken: reinstall errkit (pip install -e .)."
    return f"Disable it with {DISABLE_ENV}={info.name} or --disable-plugin {info.name}."


def _load_one(pm: pluggy.PluginManager, info: PluginInfo, loader: Callable[[], Any]) -> None:
    """Import one plugin module, check its plugin API and register its hooks."""
    try:
        module = loader()
    except SystemExit as exc:  # a plugin must not end errkit
        raise PluginError(
            f"errkit plugin {info.label} called sys.exit({exc.code!r}) while being imported. "
            + _how_to_disable(info),
            info.distribution, info.name) from None
    except Exception as exc:
        raise PluginError(
            f"errkit plugin {info.label} failed to import: {type(exc).__name__}: {exc}. "
            + _how_to_disable(info),
            info.distribution, info.name) from exc
    if not _check_api(info, module):
        return
    try:
        pm.register(module, name=info.name)
    except Exception as exc:  # pluggy: a hook implementation that matches no spec ...
        raise PluginError(f"errkit plugin {info.label} cannot be registered with pluggy: "
                          f"{type(exc).__name__}: {exc}. " + _how_to_disable(info),
                          info.distribution, info.name) from exc
    _STATE.modules.append((info, module))


def _discover_plugins() -> None:
    """Import every enabled plugin and register its hooks (once; lock held)."""
    if _STATE.discovered or _STATE.loading:
        return
    if _STATE.error is not None:
        raise _STATE.error
    _STATE.loading = True
    try:
        pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        pm.add_hookspecs(hookspecs)
        if os.environ.get(TRACE_ENV) == "1":
            pm.trace.root.setwriter(print)
            pm.enable_tracing()
        _STATE.manager = pm
        disabled = _disabled_names()
        autoload = os.environ.get(AUTOLOAD_ENV, "") not in ("1", "true", "yes")
        eps = _discover()
        if not any(_normalise(e.dist.name if e.dist else "") == BUILTIN_DISTRIBUTION
                   for e in eps):
            # Running from a source tree without installation: built-ins still load.
            info = PluginInfo("builtins", BUILTIN_MODULE, BUILTIN_DISTRIBUTION, __version__)
            _STATE.plugins.append(info)
            _load_one(pm, info, lambda: importlib.import_module(BUILTIN_MODULE))
        for ep in eps:
            dist = ep.dist.name if ep.dist is not None else "?"
            version = ep.dist.version if ep.dist is not None else "?"
            info = PluginInfo(ep.name, ep.value, dist, version)
            _STATE.plugins.append(info)
            builtin = _normalise(dist) == BUILTIN_DISTRIBUTION
            if not builtin and not autoload:
                info.status, info.reason = "disabled", f"{AUTOLOAD_ENV} is set"
                continue
            if not builtin and ({_normalise(ep.name), _normalise(dist)} & disabled):
                info.status, info.reason = "disabled", f"named in {DISABLE_ENV}"
                continue
            _load_one(pm, info, ep.load)
        pm.check_pending()
        _STATE.discovered = True
    except BaseException as exc:
        _STATE.error = exc
        raise
    finally:
        _STATE.loading = False


def _register_all(registries: Mapping[str, Any]) -> None:
    """Hand ``registries`` to every discovered plugin, built-ins first (once; lock held)."""
    if _STATE.registered or _STATE.loading:
        return
    _STATE.loading = True
    try:
        _STATE.registries = registries
        for info, module in _STATE.modules:
            _register_components(_STATE.manager, info, module, registries)
        _STATE.registered = True
    except BaseException as exc:
        _STATE.error = exc
        raise
    finally:
        _STATE.loading = False


def load_plugins(registries: Optional[Mapping[str, Any]] = None) -> List[PluginInfo]:
    """Load every enabled plugin once per process and return what was found.

    Plugins are discovered (imported, API-checked, their hooks registered) on
    the first call. Their components are registered into ``registries`` the
    first time registries are given; :mod:`errkit.registry` hands over
    :data:`~errkit.registry.ALL_REGISTRIES` on the first lookup in any errkit
    registry, so components of installed plugins are found by name like the
    built-ins.

    Args:
        registries (Mapping[str, Registry], optional): The registries handed to
            each plugin's ``errkit_register_components``, by the attribute name
            under which the plugin sees them (``{'heads': HEADS, ...}``).
            Defaults to None: plugins are only discovered unless their
            components were registered already.

    Returns:
        list[PluginInfo]: Every entry point of the ``errkit`` group, loaded,
        disabled or incompatible, errkit's built-ins first.

    Raises:
        PluginError: a plugin failed to import or to register (raised again on
            every later call in the same process).
        PluginConflictError: two plugins registered the same name.
        ValueError: ``registries`` differ from those the components were
            registered into (call :func:`reset_plugins` first).

    Examples:
        >>> from errkit.registry import ALL_REGISTRIES
        >>> plugins = load_plugins(ALL_REGISTRIES)
        >>> plugins[0].distribution, 'TimmClassifier' in plugins[0].components['models']
        ('errkit', True)
    """
    with _STATE.lock:
        if _STATE.loading:
            return _STATE.plugins
        if _STATE.error is not None:
            raise _STATE.error
        _discover_plugins()
        if registries is not None:
            if _STATE.registered and registries is not _STATE.registries:
                raise ValueError("plugin components are registered into other registries "
                                 "already; call reset_plugins() before handing new ones")
            _register_all(registries)
        return _STATE.plugins


def loaded_plugins() -> List[PluginInfo]:
    """The plugins found by :func:`load_plugins` (discovering them if needed)."""
    return list(load_plugins())


def get_config_paths() -> List[str]:
    """Config folders contributed through :func:`errkit_config_paths`, in order.

    Returns:
        list[str]: Existing folders, errkit's own ``configs/`` first.
    """
    pm = get_plugin_manager()
    paths: List[str] = []
    order = {id(p): i for i, p in enumerate(pm.get_plugins())}
    impls = sorted(pm.hook.errkit_config_paths.get_hookimpls(),
                   key=lambda i: order.get(id(i.plugin), 0))
    for impl in impls:
        try:
            found = [os.fspath(path) for path in impl.function() or []]
        except (Exception, SystemExit) as exc:
            info = _info_of(impl.plugin)
            label = info.label if info is not None else f"'{impl.plugin_name}'"
            raise PluginError(
                f"errkit plugin {label} failed in errkit_config_paths: "
                f"{type(exc).__name__}: {exc}. "
                + (_how_to_disable(info) if info is not None else ""),
                info.distribution if info is not None else "?", impl.plugin_name) from None
        for path in found:
            if os.path.isdir(path) and path not in paths:
                paths.append(path)
    return paths


def _info_of(module: Any) -> Optional[PluginInfo]:
    """The :class:`PluginInfo` of a discovered plugin module."""
    return next((info for info, mod in _STATE.modules if mod is module), None)


def reset_plugins() -> None:
    """Forget the loading state so the next lookup loads plugins again.

    Components that third-party plugins registered are removed from the
    registries they were handed; errkit's built-ins stay (those a plugin had
    replaced with ``force=True`` are put back). Meant for tests and
    for long-lived processes that install or disable a plugin at run time.
    """
    with _STATE.lock:
        for (key, name), info in list(_STATE.owners.items()):
            if info.distribution != BUILTIN_DISTRIBUTION:
                if _STATE.registries is not None and key in _STATE.registries:
                    _STATE.registries[key].unregister(name)
                    if (key, name) in _STATE.replaced:  # a built-in a plugin had replaced
                        _STATE.registries[key].register_module(
                            name=name, force=True, module=_STATE.replaced[(key, name)])
                del _STATE.owners[(key, name)]
        _STATE.replaced = {}
        _STATE.plugins = []
        _STATE.modules = []
        _STATE.registries = None
        _STATE.discovered = False
        _STATE.registered = False
        _STATE.error = None
        _STATE.manager = None
