"""MultiOptimWrapperConstructor groups sub-networks per wrapper and skips absent ones."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from errkit.engine.optimizers import MultiOptimWrapperConstructor, amp_variant


class GAN(nn.Module):
    def __init__(self, with_discriminator=True):
        super().__init__()
        self.generator = nn.Linear(2, 2)
        self.recognizer = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
        self.discriminator = nn.Linear(2, 1) if with_discriminator else None


def _cfg(**generator):
    adam = dict(type="NaNGuardOptimWrapper", optimizer=dict(type="Adam", lr=1e-3))
    return dict(generator=dict(adam, **generator),
                discriminator=dict(adam, optimizer=dict(type="Adam", lr=4e-3)))


def _ids(wrapper):
    return {id(p) for group in wrapper.param_groups for p in group["params"]}


def test_one_wrapper_for_several_sub_networks():
    model = GAN()
    wrappers = MultiOptimWrapperConstructor(_cfg(modules=("generator", "recognizer")))(model)
    assert sorted(wrappers.keys()) == ["discriminator", "generator"]
    assert _ids(wrappers["generator"]) == {id(p) for m in (model.generator, model.recognizer)
                                           for p in m.parameters()}
    assert _ids(wrappers["discriminator"]) == {id(p) for p in model.discriminator.parameters()}
    assert wrappers["generator"].name == "generator"
    assert type(wrappers["generator"]).__name__ == "NaNGuardOptimWrapper"
    assert wrappers["discriminator"].param_groups[0]["lr"] == 4e-3


def test_absent_sub_networks_are_skipped():
    wrappers = MultiOptimWrapperConstructor(_cfg(modules=("generator", "recognizer")))(
        GAN(with_discriminator=False))
    assert list(wrappers.keys()) == ["generator"]


def test_paramwise_names_start_with_the_sub_network():
    model = GAN()
    cfg = _cfg(modules=("generator", "recognizer"),
               paramwise_cfg=dict(custom_keys={"recognizer": dict(lr_mult=0.1)}))
    wrapper = MultiOptimWrapperConstructor(cfg)(model)["generator"]
    lrs = {id(p): g["lr"] for g in wrapper.param_groups for p in g["params"]}
    assert all(lrs[id(p)] == pytest.approx(1e-4) for p in model.recognizer.parameters())
    assert all(lrs[id(p)] == 1e-3 for p in model.generator.parameters())


def test_unknown_sub_network_is_a_clear_error():
    with pytest.raises(KeyError, match=r"optim_wrapper\.generator names the sub-network "
                                       r"'recogniser', but GAN has none of that name \(it has: "
                                       r"generator, recognizer, discriminator\)"):
        MultiOptimWrapperConstructor(_cfg(modules=("generator", "recogniser")))(GAN())
    with pytest.raises(TypeError, match="modules must name attributes"):
        MultiOptimWrapperConstructor(_cfg(modules=()))
    with pytest.raises(TypeError, match=r"optim_wrapper\.generator must be a dict"):
        MultiOptimWrapperConstructor(dict(generator=1))


def test_amp_variant():
    assert amp_variant("NaNGuardOptimWrapper") == "NaNGuardAmpOptimWrapper"
    assert amp_variant("OptimWrapper") == "AmpOptimWrapper"
    assert amp_variant("NaNGuardAmpOptimWrapper") == "NaNGuardAmpOptimWrapper"
    with pytest.raises(ValueError, match="no mixed-precision variant"):
        amp_variant("MyWrapper")


def test_wrapper_updates_train_the_model():
    torch.manual_seed(0)
    model = GAN()
    wrappers = MultiOptimWrapperConstructor(_cfg(modules=("generator", "recognizer")))(model)
    before = model.recognizer[0].weight.clone()
    gen = wrappers["generator"]
    with gen.optim_context(model.generator), gen.optim_context(model.recognizer):
        loss = model.recognizer(model.generator(torch.randn(4, 2))).pow(2).mean()
    gen.update_params(loss)
    assert not torch.equal(model.recognizer[0].weight, before)
