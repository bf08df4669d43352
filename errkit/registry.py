"""Every registry of errkit, in one place.

Each registry is an :class:`mmengine.registry.Registry` whose parent is mmengine's
root registry of the same kind (directly, or through errkit's :data:`MODELS`), so
that mmengine's :class:`~mmengine.runner.Runner` builds errkit components from
configs once ``default_scope = 'errkit'`` is set. ``locations`` name the modules
that hold the built-in components; they are imported lazily, on first lookup.

Before any lookup, the registries make sure that the plugins of the ``errkit``
entry-point group are loaded (see :mod:`errkit.plugin_manager`): components of
an installed plugin package are found by name like the built-ins.

Registries:

- Models (``MODELS``, child of ``mmengine.registry.MODELS``):
  whole models (:class:`~errkit.models.ERRNet`, baseline classifiers), data
  preprocessors, decoders and discriminators.

  - ``ENCODERS``: feature encoders (timm backbones).
  - ``RESIDUALS``: residual branches (pixel, landmark, third-party).
  - ``LOSSES``: GAN losses and every other loss.
  - ``HEADS``: classifier heads.
  - ``LANDMARK_DETECTORS``: 68-point facial landmark detectors.

- Data (children of mmengine's ``DATASETS`` and ``TRANSFORMS``):
  ``DATASETS`` and ``TRANSFORMS`` (per-sample transforms and GPU batch
  augmentations).
- Evaluation (child of mmengine's ``METRICS``): ``METRICS``.
- Engine (children of mmengine's ``HOOKS``, ``OPTIM_WRAPPERS`` and
  ``OPTIM_WRAPPER_CONSTRUCTORS``): ``HOOKS``, ``OPTIM_WRAPPERS`` (optimizer
  wrappers with a NaN/Inf policy) and ``OPTIM_WRAPPER_CONSTRUCTORS`` (one
  optimizer per group of sub-networks for GAN training).
- Visualisation (children of mmengine's ``VISUALIZERS`` and ``VISBACKENDS``):
  ``VISUALIZERS`` and ``VISBACKENDS``.

An unknown ``type`` raises :class:`UnknownComponentError`, whose message names the
registry, lists its registered names and suggests close matches.
"""

from __future__ import annotations

import difflib
from contextlib import contextmanager
from typing import Any, Dict, Iterator, Optional

from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import VISBACKENDS as MMENGINE_VISBACKENDS
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS
from mmengine.registry import Registry

__all__ = [
    "ErrkitRegistry",
    "UnknownComponentError",
    "MODELS",
    "ENCODERS",
    "RESIDUALS",
    "LOSSES",
    "HEADS",
    "LANDMARK_DETECTORS",
    "DATASETS",
    "TRANSFORMS",
    "METRICS",
    "HOOKS",
    "OPTIM_WRAPPER_CONSTRUCTORS",
    "OPTIM_WRAPPERS",
    "VISUALIZERS",
    "VISBACKENDS",
    "ALL_REGISTRIES",
]


class UnknownComponentError(KeyError):
    """A config names a ``type`` that no registry holds.

    Args:
        registry (ErrkitRegistry | str): The registry that was searched, or a
            ready message (mmengine re-raises errors with a prefixed message).
        key (str, optional): The unknown name.
    """

    def __init__(self, registry: "ErrkitRegistry | str", key: Optional[str] = None) -> None:
        if isinstance(registry, str):
            self.registry_name, self.key, self.close_matches = None, key, []
            super().__init__(registry)
            return
        names = sorted(registry.all_names())
        close = difflib.get_close_matches(key, names, n=3, cutoff=0.5)
        lines = [f"'{key}' is not in the errkit '{registry.name}' registry."]
        if close:
            lines.append("Did you mean: " + ", ".join(f"'{c}'" for c in close) + "?")
        lines.append(f"Registered {registry.name} names: " + (", ".join(names) or "(none)"))
        lines.append(
            "A component of a plugin package appears once the package is installed "
            "(see `errkit plugins`)."
        )
        self.registry_name = registry.name
        self.key = key
        self.close_matches = close
        super().__init__("\n".join(lines))

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0])


class ErrkitRegistry(Registry):
    """An mmengine registry that loads plugins before lookups and explains misses.

    It behaves as :class:`mmengine.registry.Registry`, with these additions:

    - the first lookup loads the ``errkit`` entry-point plugins
      (:func:`errkit.plugin_manager.load_plugins`);
    - a name missing here is also searched in errkit's other registries of the
      same kind (under ``default_scope='errkit'`` mmengine resolves a build in
      ``ENCODERS`` to :data:`MODELS`, the scope's registry);
    - looking up an unknown name raises :class:`UnknownComponentError` instead of
      returning ``None``;
    - :meth:`build` runs in errkit's scope when no default scope is set, and
      builds in errkit's scope stay in this registry.

    Examples:
        >>> from errkit.registry import HEADS
        >>> 'LinearHead' in HEADS
        True
    """

    def _ensure_plugins(self) -> None:
        from errkit.plugin_manager import load_plugins

        load_plugins()

    def lookup(self, key: str) -> Optional[Any]:
        """Find ``key`` without raising; ``None`` when it is unknown.

        Args:
            key (str): A registered name, optionally with a scope prefix.

        Returns:
            The registered class or function, or ``None``.
        """
        self._ensure_plugins()
        obj = super().get(key)
        if obj is None and "." not in key:
            # Under a default scope, mmengine resolves every model-kind build to the
            # scope's registry (MODELS for 'errkit'): search errkit's whole tree of
            # this kind (MODELS and its children ENCODERS, LOSSES, ...).
            top = self
            while isinstance(top.parent, ErrkitRegistry):
                top = top.parent
            obj = top._search_tree(key)
        return obj

    def _search_tree(self, key: str) -> Optional[Any]:
        self.import_from_location()
        if key in self._module_dict:
            return self._module_dict[key]
        for child in self.children.values():
            if isinstance(child, ErrkitRegistry):
                found = child._search_tree(key)
                if found is not None:
                    return found
        return None

    def get(self, key: str) -> Any:
        """Find ``key`` in this registry, its parents or its scope's registry.

        Raises:
            UnknownComponentError: ``key`` is registered nowhere.
        """
        obj = self.lookup(key)
        if obj is None:
            raise UnknownComponentError(self, key)
        return obj

    def build(self, cfg: dict, *args, **kwargs) -> Any:
        """Build ``cfg`` as mmengine does, in errkit's scope unless one is set.

        Components often build their parts through mmengine's root registries
        (``BaseModel`` builds its data preprocessor so); without a default scope
        those lookups would miss errkit's names.
        """
        from mmengine.registry import DefaultScope

        if DefaultScope.get_current_instance() is None:
            with DefaultScope.overwrite_default_scope("errkit"):
                return super().build(cfg, *args, **kwargs)
        return super().build(cfg, *args, **kwargs)

    @contextmanager
    def switch_scope_and_registry(self, scope: Optional[str]) -> Iterator["Registry"]:
        """Stay in this registry for errkit's scope; defer to mmengine otherwise.

        mmengine would switch a build under ``default_scope='errkit'`` to the
        scope's registry of the root (:data:`MODELS` for every model kind);
        errkit's registries resolve names across their tree themselves.
        """
        from mmengine.registry import DefaultScope

        current = DefaultScope.get_current_instance()
        effective = scope if scope is not None else (current.scope_name if current else None)
        if effective in (None, "errkit", self.scope):
            with DefaultScope.overwrite_default_scope(scope):
                yield self
        else:
            with super().switch_scope_and_registry(scope) as registry:
                yield registry

    def __contains__(self, key: str) -> bool:
        return self.lookup(key) is not None

    def all_names(self) -> list:
        """Every name registered here (not in parents), built-ins imported."""
        self._ensure_plugins()
        self.import_from_location()
        return list(self.module_dict.keys())

    def unregister(self, name: str) -> None:
        """Remove ``name`` (used to roll back a plugin that failed to register).

        Args:
            name (str): The registered name.
        """
        self._module_dict.pop(name, None)


def _child(name: str, parent: Registry, scope: str, locations: list) -> ErrkitRegistry:
    return ErrkitRegistry(name, parent=parent, scope=scope, locations=locations)


# Models, and the parts that a model is assembled from.
MODELS = _child("model", MMENGINE_MODELS, "errkit", ["errkit.models"])
# Feature encoders (timm backbones with features_only).
ENCODERS = _child("encoder", MODELS, "errkit_encoder", ["errkit.models.encoders"])
# Residual branches: pixel, landmark and third-party residual types.
RESIDUALS = _child("residual", MODELS, "errkit_residual", ["errkit.models.residuals"])
# GAN losses and every other loss.
LOSSES = _child("loss", MODELS, "errkit_loss", ["errkit.models.losses"])
# Classifier heads.
HEADS = _child("head", MODELS, "errkit_head", ["errkit.models.heads"])
# 68-point facial landmark detectors (FAN, dlib, precomputed files).
LANDMARK_DETECTORS = _child(
    "landmark_detector", MODELS, "errkit_landmark", ["errkit.landmarks.detectors"]
)

# Datasets.
DATASETS = _child("dataset", MMENGINE_DATASETS, "errkit", ["errkit.datasets"])
# Per-sample transforms and GPU batch augmentations.
TRANSFORMS = _child(
    "transform",
    MMENGINE_TRANSFORMS,
    "errkit",
    ["errkit.datasets.transforms", "errkit.datasets.batch_augments"],
)

# Metrics.
METRICS = _child("metric", MMENGINE_METRICS, "errkit", ["errkit.evaluation.metrics"])

# Runner hooks.
HOOKS = _child("hook", MMENGINE_HOOKS, "errkit", ["errkit.engine.hooks"])

# Optimizer-wrapper constructors (one optimizer per sub-network).
OPTIM_WRAPPER_CONSTRUCTORS = _child(
    "optim_wrapper_constructor", MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS, "errkit",
    ["errkit.engine.optimizers"])

# Optimizer wrappers (stop or skip an update whose loss is NaN or infinite).
OPTIM_WRAPPERS = _child("optim_wrapper", MMENGINE_OPTIM_WRAPPERS, "errkit",
                        ["errkit.engine.optimizers"])

# Visualizers and their storage backends.
VISUALIZERS = _child("visualizer", MMENGINE_VISUALIZERS, "errkit", ["errkit.visualization"])
VISBACKENDS = _child("vis_backend", MMENGINE_VISBACKENDS, "errkit", ["errkit.visualization"])

#: Every errkit registry by the attribute name under which plugins receive it.
ALL_REGISTRIES: Dict[str, ErrkitRegistry] = {
    "models": MODELS,
    "encoders": ENCODERS,
    "residuals": RESIDUALS,
    "losses": LOSSES,
    "heads": HEADS,
    "landmark_detectors": LANDMARK_DETECTORS,
    "datasets": DATASETS,
    "transforms": TRANSFORMS,
    "metrics": METRICS,
    "hooks": HOOKS,
    "optim_wrapper_constructors": OPTIM_WRAPPER_CONSTRUCTORS,
    "optim_wrappers": OPTIM_WRAPPERS,
    "visualizers": VISUALIZERS,
    "vis_backends": VISBACKENDS,
}
