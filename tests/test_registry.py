"""The registries: parents, locations, building from configs, unknown names."""

from __future__ import annotations

import mmengine.registry as mmreg
import pytest
import torch

from errkit import registry as reg
from errkit.registry import UnknownComponentError

EXPECTED = {
    # name: (registry, mmengine root of the same kind, locations)
    "MODELS": (reg.MODELS, mmreg.MODELS, ["errkit.models"]),
    "ENCODERS": (reg.ENCODERS, mmreg.MODELS, ["errkit.models.encoders"]),
    "RESIDUALS": (reg.RESIDUALS, mmreg.MODELS, ["errkit.models.residuals"]),
    "LOSSES": (reg.LOSSES, mmreg.MODELS, ["errkit.models.losses"]),
    "HEADS": (reg.HEADS, mmreg.MODELS, ["errkit.models.heads"]),
    "LANDMARK_DETECTORS": (reg.LANDMARK_DETECTORS, mmreg.MODELS, ["errkit.landmarks.detectors"]),
    "DATASETS": (reg.DATASETS, mmreg.DATASETS, ["errkit.datasets"]),
    "TRANSFORMS": (reg.TRANSFORMS, mmreg.TRANSFORMS,
                   ["errkit.datasets.transforms", "errkit.datasets.batch_augments"]),
    "WEIGHT_INITIALIZERS": (reg.WEIGHT_INITIALIZERS, mmreg.WEIGHT_INITIALIZERS,
                            ["errkit.models"]),
    "DATA_SAMPLERS": (reg.DATA_SAMPLERS, mmreg.DATA_SAMPLERS, ["errkit.datasets"]),
    "METRICS": (reg.METRICS, mmreg.METRICS, ["errkit.evaluation.metrics"]),
    "EVALUATORS": (reg.EVALUATORS, mmreg.EVALUATOR, ["errkit.evaluation"]),
    "HOOKS": (reg.HOOKS, mmreg.HOOKS, ["errkit.engine.hooks"]),
    "LOOPS": (reg.LOOPS, mmreg.LOOPS, ["errkit.engine"]),
    "LOG_PROCESSORS": (reg.LOG_PROCESSORS, mmreg.LOG_PROCESSORS, ["errkit.engine"]),
    "MODEL_WRAPPERS": (reg.MODEL_WRAPPERS, mmreg.MODEL_WRAPPERS, ["errkit.engine"]),
    "OPTIMIZERS": (reg.OPTIMIZERS, mmreg.OPTIMIZERS, ["errkit.engine.optimizers"]),
    "OPTIM_WRAPPERS": (reg.OPTIM_WRAPPERS, mmreg.OPTIM_WRAPPERS, ["errkit.engine.optimizers"]),
    "OPTIM_WRAPPER_CONSTRUCTORS": (reg.OPTIM_WRAPPER_CONSTRUCTORS,
                                   mmreg.OPTIM_WRAPPER_CONSTRUCTORS, ["errkit.engine.optimizers"]),
    "PARAM_SCHEDULERS": (reg.PARAM_SCHEDULERS, mmreg.PARAM_SCHEDULERS,
                         ["errkit.engine.optimizers"]),
    "VISUALIZERS": (reg.VISUALIZERS, mmreg.VISUALIZERS, ["errkit.visualization"]),
    "VISBACKENDS": (reg.VISBACKENDS, mmreg.VISBACKENDS, ["errkit.visualization"]),
}


def _root(registry):
    while registry.parent is not None:
        registry = registry.parent
    return registry


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_registry_parent_and_locations(name):
    registry, root, locations = EXPECTED[name]
    assert _root(registry) is root, f"{name} must descend from mmengine's {root.name}"
    assert registry._locations == locations
    assert registry.scope.startswith("errkit")


def test_every_registry_is_listed_and_handed_to_plugins():
    assert set(reg.ALL_REGISTRIES.values()) == {r for r, _, _ in EXPECTED.values()}
    assert set(reg.__all__) >= set(EXPECTED)


def test_mmengine_root_finds_errkit_scope():
    # mmengine's Runner builds with the root registry and default_scope='errkit'.
    from mmengine.registry import DefaultScope

    with DefaultScope.overwrite_default_scope("errkit"):
        model = mmreg.MODELS.build(dict(type="TimmClassifier", model_name="resnet10t",
                                        num_classes=3, in_channels=1))
    assert type(model).__name__ == "TimmClassifier"


@pytest.mark.parametrize("registry,cfg", [
    (reg.MODELS, dict(type="FERDataPreprocessor", num_channels=1)),
    (reg.ENCODERS, dict(type="TimmEncoder", model_name="resnet10t", in_channels=1)),
    (reg.OPTIM_WRAPPER_CONSTRUCTORS, dict(type="MultiOptimWrapperConstructor",
                                          optim_wrapper_cfg=dict(
                                              generator=dict(optimizer=dict(type="Adam"))))),
])
def test_build_builtins_from_config(registry, cfg):
    obj = registry.build(cfg)
    assert type(obj).__name__ == cfg["type"]


def test_mmengine_builds_errkit_optim_wrappers_in_errkit_scope():
    # mmengine's DefaultOptimWrapperConstructor builds with the root registry.
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import DefaultScope

    with DefaultScope.overwrite_default_scope("errkit"):
        wrapper = build_optim_wrapper(torch.nn.Linear(2, 1), dict(
            type="NaNGuardOptimWrapper", nan_policy="skip", optimizer=dict(type="SGD", lr=0.1)))
    assert type(wrapper).__name__ == "NaNGuardOptimWrapper" and wrapper.nan_policy == "skip"


def test_unknown_type_names_registry_and_suggests():
    with pytest.raises(UnknownComponentError) as info:
        reg.MODELS.build(dict(type="TimmClasifier"))
    message = str(info.value)
    assert "'TimmClasifier' is not in the errkit 'model' registry" in message
    assert "Did you mean: 'TimmClassifier'" in message
    assert "FERDataPreprocessor" in message  # the registered names are listed
    assert isinstance(info.value, KeyError)


def test_unknown_type_inside_nested_build_keeps_message():
    # mmengine re-raises errors of nested builds with a prefix: the class must accept that.
    with pytest.raises(KeyError, match="not in the errkit 'encoder' registry"):
        reg.ENCODERS.build(dict(type="TimEncoder"))


def test_lookup_and_contains_do_not_raise():
    assert reg.HEADS.lookup("NoSuchHead") is None
    assert "NoSuchHead" not in reg.HEADS
    assert "TimmClassifier" in reg.MODELS


def test_child_falls_back_to_mmengine_parent():
    # mmengine's own components stay reachable through errkit's registries.
    import mmengine.runner  # noqa: F401  (registers mmengine's hooks, as the Runner does)

    assert reg.HOOKS.get("CheckpointHook") is mmreg.HOOKS.get("CheckpointHook")
    assert reg.MODELS.get("BaseDataPreprocessor") is not None


def test_preprocessor_in_model_normalises():
    model = reg.MODELS.build(dict(type="TimmClassifier", model_name="resnet10t", num_classes=2,
                                  in_channels=1))
    data = {"inputs": {"img": [torch.full((1, 16, 16), 255, dtype=torch.uint8)]},
            "data_samples": None}
    out = model.data_preprocessor(data)
    assert torch.allclose(out["inputs"]["img"], torch.ones(1, 1, 16, 16))


def test_child_registries_build_under_errkit_scope():
    # The Runner sets default_scope='errkit'; mmengine then resolves builds in ENCODERS,
    # LOSSES or HEADS to MODELS, which must find the children's names.
    from mmengine.registry import DefaultScope

    with DefaultScope.overwrite_default_scope("errkit"):
        enc = reg.ENCODERS.build(dict(type="TimmEncoder", model_name="resnet10t", in_channels=1))
        loss = reg.LOSSES.build(dict(type="GANLoss", gan_type="lsgan"))
    assert type(enc).__name__ == "TimmEncoder" and type(loss).__name__ == "GANLoss"


@pytest.mark.parametrize("registry,kind", [
    (reg.DATA_SAMPLERS, "DefaultSampler"), (reg.OPTIMIZERS, "AdamW"),
    (reg.OPTIM_WRAPPERS, "AmpOptimWrapper"), (reg.PARAM_SCHEDULERS, "CosineAnnealingLR"),
])
def test_kinds_errkit_takes_from_mmengine_resolve_in_errkits_scope(registry, kind):
    import mmengine.runner  # noqa: F401  (registers mmengine's components, as the Runner does)
    from mmengine.registry import DefaultScope

    root = registry.parent
    with DefaultScope.overwrite_default_scope("errkit"):
        with root.switch_scope_and_registry(None) as found:
            assert found is registry  # the 'errkit' scope has a registry of this kind
            assert found.get(kind) is root.get(kind)


def test_unknown_optimizer_suggests_mmengines_names():
    import mmengine.runner  # noqa: F401

    with pytest.raises(UnknownComponentError) as info:
        reg.OPTIMIZERS.get("AdamW2")
    assert "Did you mean: 'AdamW'" in str(info.value)
    assert "Registered optimizer names (mmengine's): " in str(info.value)
