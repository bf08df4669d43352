"""A NaN/Inf loss stops training before its update (or skips it); checkpoints stay good.

The policy lives in the optimizer wrapper (NaNGuardOptimWrapper) that every errkit
model updates through; NaNGuardHook names the terms of skipped updates.
"""

from __future__ import annotations

import glob
import textwrap
from pathlib import Path

import pytest
import torch
import torch.nn as nn

from errkit.engine.checkpoint import safe_load
from errkit.engine.nan_guard import NonFiniteLossError, check_finite, non_finite_terms
from errkit.engine.optimizers import NaNGuardOptimWrapper
from errkit.registry import LOSSES, OPTIM_WRAPPERS
from tests.helpers import make_fer_batch

NAN_AT = 9  # the third iteration of the second epoch (6 iterations per epoch)


class NaNInjectionLoss(nn.Module):
    """Wraps a loss; its value is NaN at the given (1-based) calls."""

    def __init__(self, inner: dict, at_calls=()) -> None:
        super().__init__()
        self.inner = LOSSES.build(inner)
        self.at_calls = set(at_calls)
        self.calls = 0

    def forward(self, *args, **kwargs):
        self.calls += 1
        loss = self.inner(*args, **kwargs)
        return loss * float("nan") if self.calls in self.at_calls else loss


@pytest.fixture
def nan_loss_registered():
    LOSSES.register_module(name="NaNInjectionLoss", module=NaNInjectionLoss, force=True)
    yield
    LOSSES._module_dict.pop("NaNInjectionLoss", None)


def _errnet_config(tmp_path: Path, classifier_cfg: Path) -> Path:
    """ERR-Net (small) on the tiny CK+ set, its segment loss wrapped for injection."""
    cfg = tmp_path / "tiny_errnet.py"
    cfg.write_text(textwrap.dedent(f"""
        _base_ = ['{classifier_cfg}']
        adam = dict(type='NaNGuardOptimWrapper',
                    optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999)))
        optim_wrapper = dict(_delete_=True, constructor='MultiOptimWrapperConstructor',
                             generator=dict(adam, modules=('generator', 'recognizer')),
                             discriminator=adam)
        model = dict(
            _delete_=True, type='ERRNet', num_classes=7,
            data_preprocessor=dict(type='FERDataPreprocessor', num_channels=1),
            encoder=dict(type='TimmEncoder', model_name='test_resnet', in_channels=1),
            latent=dict(type='SegmentLatent', segment_dim=4),
            decoder=dict(type='UNetResidualDecoder', base_channels=8),
            discriminator=dict(type='PatchDiscriminator', base_channels=8, num_layers=2),
            residuals=[dict(type='PixelResidual', feat_channels=8, num_stages=2)],
            losses=dict(segment=dict(type='NaNInjectionLoss', inner=dict(type='SegmentLoss'),
                                     at_calls=[{NAN_AT}])))
        pipeline = [dict(type='LoadFaceImages', color_type='grey'),
                    dict(type='AlignFace', size=32), dict(type='PackFERInputs')]
        train_dataloader = dict(dataset=dict(pipeline=pipeline))
        val_dataloader = dict(dataset=dict(pipeline=pipeline))
        test_dataloader = val_dataloader
        train_cfg = dict(max_epochs=2)
        param_scheduler = []
        """))
    return cfg


#: The optimizer wrapper whose update sees the NaN, and the options for nan_policy='skip'.
UPDATE = {"ERRNet": "optim_wrapper.generator", "TimmClassifier": "optim_wrapper"}
SKIP = {"ERRNet": ["optim_wrapper.generator.nan_policy=skip",
                   "optim_wrapper.discriminator.nan_policy=skip"],
        "TimmClassifier": ["optim_wrapper.nan_policy=skip"]}


def _setup(model: str, tmp_path: Path, ckplus_config: Path, monkeypatch):
    """The config, its term name and the options that inject NaN (or not)."""
    if model == "ERRNet":
        cfg = _errnet_config(tmp_path, ckplus_config)
        inject = ["model.losses.segment.at_calls=[%d]" % NAN_AT]
        clean = ["model.losses.segment.at_calls=[]"]
        return cfg, "loss_segment", inject, clean
    real_ce = torch.nn.functional.cross_entropy
    calls = {"n": 0, "at": set()}

    def cross_entropy(*args, **kwargs):
        calls["n"] += 1
        loss = real_ce(*args, **kwargs)
        return loss * float("nan") if calls["n"] in calls["at"] else loss

    monkeypatch.setattr(torch.nn.functional, "cross_entropy", cross_entropy)
    inject = ["model.model_name=test_resnet", "train_cfg.max_epochs=2"]
    calls["at"] = {NAN_AT}
    return ckplus_config, "loss_cls", inject, (calls, inject)


def _logs(work_dir: Path) -> str:
    return "".join(Path(p).read_text() for p in glob.glob(str(work_dir / "*" / "*.log")))


def _finite_state(ckpt: dict) -> bool:
    return all(torch.isfinite(v).all() for v in ckpt["state_dict"].values()
               if torch.is_tensor(v) and v.is_floating_point())


@pytest.mark.slow
@pytest.mark.parametrize("model", ["TimmClassifier", "ERRNet"])
def test_stop_keeps_last_good_checkpoint_and_resumes(model, tmp_path, ckplus_config,
                                                     nan_loss_registered, monkeypatch, capsys):
    from errkit.cli.train import main as train

    cfg, term, inject, clean = _setup(model, tmp_path, ckplus_config, monkeypatch)
    work_dir = tmp_path / "work"
    with pytest.raises(SystemExit) as info:
        train([str(cfg), "--work-dir", str(work_dir), "--cfg-options", *inject])
    assert info.value.code == 1
    err = capsys.readouterr().err
    assert f"{UPDATE[model]}: non-finite loss at iteration {NAN_AT}: loss=nan" in err
    assert "The update was not applied" in err and "--resume" in err
    assert "Traceback" not in err
    # the bad step was never applied nor saved: epoch 1 is the last, and good
    assert not (work_dir / "epoch_2.pth").exists()
    good = safe_load(str(work_dir / "epoch_1.pth"))
    assert good["meta"]["epoch"] == 1 and _finite_state(good)

    if model == "TimmClassifier":
        clean[0]["at"] = set()
        clean = clean[1]
    train([str(cfg), "--work-dir", str(work_dir), "--resume", "--cfg-options", *clean])
    final = safe_load(str(work_dir / "epoch_2.pth"))
    assert final["meta"]["epoch"] == 2 and _finite_state(final)
    assert "resumed epoch: 1" in _logs(work_dir)


@pytest.mark.slow
@pytest.mark.parametrize("model", ["TimmClassifier", "ERRNet"])
def test_skip_finishes_with_finite_parameters(model, tmp_path, ckplus_config,
                                              nan_loss_registered, monkeypatch):
    from errkit.cli.train import main as train

    cfg, term, inject, clean = _setup(model, tmp_path, ckplus_config, monkeypatch)
    if model == "TimmClassifier":
        clean[0]["at"] = {3, NAN_AT}
    else:
        inject = ["model.losses.segment.at_calls=[3,%d]" % NAN_AT]
    work_dir = tmp_path / "work"
    train([str(cfg), "--work-dir", str(work_dir), "--cfg-options", *SKIP[model], *inject])
    final = safe_load(str(work_dir / "epoch_2.pth"))
    assert final["meta"]["epoch"] == 2 and _finite_state(final)
    logs = _logs(work_dir)
    for it in (3, NAN_AT):
        assert f"{UPDATE[model]}: non-finite loss at iteration {it}: loss=nan; skipped" in logs
        # the hook names the term and keeps it out of the logs
        assert f"NaNGuardHook: non-finite loss at iteration {it}: {term}=nan; the update was " \
               "skipped" in logs
    assert "2 update(s) skipped" in logs  # NaNGuardHook's count
    assert "loss: nan" not in logs and f"{term}: nan" not in logs


def test_check_finite_policies():
    good = {"loss_a": torch.tensor(0.1), "acc": torch.tensor(float("nan"))}  # acc is no loss
    assert check_finite(good, 1) and non_finite_terms(good) == []
    bad = {"loss_a": torch.tensor(0.1), "loss_b": [torch.tensor(1.0), torch.tensor(float("inf"))]}
    with pytest.raises(NonFiniteLossError, match="iteration 7: loss_b=inf"):
        check_finite(bad, 7)
    assert check_finite(bad, 7, action="skip") is False
    with pytest.raises(ValueError, match="nan_policy"):
        check_finite(bad, 7, action="ignore")


def test_nan_guard_hook_stops_unguarded_models():
    from types import SimpleNamespace

    from errkit.engine.hooks import NaNGuardHook

    hook = NaNGuardHook()
    runner = SimpleNamespace(iter=4)
    hook.after_train_iter(runner, 0, outputs={"loss": torch.tensor(1.0)})
    with pytest.raises(NonFiniteLossError, match="NaNGuardHook: .*iteration 5: loss_x=nan. "
                                                 "The update was applied"):
        hook.after_train_iter(runner, 0, outputs={"loss_x": torch.tensor(float("nan"))})
    NaNGuardHook(action="warn").after_train_iter(
        runner, 0, outputs={"loss_x": torch.tensor(float("nan"))})
    with pytest.raises(ValueError):
        NaNGuardHook(action="skip")


class _BatchNormNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.bn = nn.BatchNorm2d(4)

    def forward(self, x):
        features = self.conv(x)
        return (self.bn(features) + features).mean()


def _state(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def test_skip_leaves_parameters_optimizer_and_batchnorm_statistics_untouched():
    torch.manual_seed(0)
    net = _BatchNormNet().train()
    wrapper = OPTIM_WRAPPERS.build(dict(type="NaNGuardOptimWrapper", nan_policy="skip",
                                        optimizer=torch.optim.Adam(net.parameters(), lr=0.1)))
    assert isinstance(wrapper, NaNGuardOptimWrapper)
    before = _state(net)
    with wrapper.optim_context(net):
        loss = net(torch.randn(2, 1, 8, 8)) * float("nan")
    assert not torch.equal(net.bn.running_mean, before["bn.running_mean"])  # forward moved it
    wrapper.update_params(loss)
    after = _state(net)
    assert all(torch.equal(after[k], before[k]) for k in before)  # BN statistics restored
    assert wrapper.skipped_updates == 1 and not wrapper.optimizer.state
    assert all(p.grad is None for p in net.parameters())
    # a finite update afterwards is applied, with its own forward's statistics
    with wrapper.optim_context(net):
        loss = net(torch.randn(2, 1, 8, 8))
    moved = net.bn.running_mean.clone()
    wrapper.update_params(loss)
    assert torch.equal(net.bn.running_mean, moved) and wrapper.skipped_updates == 1
    assert not torch.equal(net.conv.weight, before["conv.weight"])


def test_stop_raises_before_the_update():
    torch.manual_seed(0)
    net = _BatchNormNet().train()
    wrapper = NaNGuardOptimWrapper(optimizer=torch.optim.SGD(net.parameters(), lr=0.1))
    wrapper.name = "generator"
    before = _state(net)
    with wrapper.optim_context(net):
        loss = net(torch.randn(2, 1, 8, 8)) + float("inf")
    with pytest.raises(NonFiniteLossError, match=r"^optim_wrapper\.generator: non-finite loss "
                                                 r"at iteration \d+: loss=inf\. The update was "
                                                 r"not applied"):
        wrapper.update_params(loss)
    assert torch.equal(net.conv.weight, before["conv.weight"])
    assert all(p.grad is None for p in net.parameters())
    with pytest.raises(ValueError, match="nan_policy must be one of"):
        NaNGuardOptimWrapper(optimizer=torch.optim.SGD(net.parameters(), lr=0.1),
                             nan_policy="ignore")


def test_errnet_skipped_generator_update_leaves_generator_and_recognizer_untouched(
        nan_loss_registered):
    """The discriminator is updated, the generator's update is skipped: its and the
    recognizer's parameters and BatchNorm statistics stay as they were."""
    from errkit.engine.optimizers import MultiOptimWrapperConstructor
    from errkit.models import ERRNet

    torch.manual_seed(0)
    model = ERRNet(
        encoder=dict(type="TimmEncoder", model_name="test_resnet", in_channels=1),
        latent=dict(type="SegmentLatent", segment_dim=4),
        decoder=dict(type="UNetResidualDecoder", base_channels=8),
        discriminator=dict(type="PatchDiscriminator", base_channels=8, num_layers=2),
        residuals=[dict(type="PixelResidual", feat_channels=8, num_stages=2)], num_classes=3,
        losses=dict(segment=dict(type="NaNInjectionLoss", inner=dict(type="SegmentLoss"),
                                 at_calls=[1]))).train()
    adam = dict(type="NaNGuardOptimWrapper", nan_policy="skip",
                optimizer=dict(type="Adam", lr=1e-3))
    optim = MultiOptimWrapperConstructor(dict(
        generator=dict(adam, modules=("generator", "recognizer")), discriminator=adam))(model)
    before = {name: _state(getattr(model, name)) for name in ("generator", "recognizer",
                                                              "discriminator")}
    assert any(k.endswith("running_mean") for k in before["generator"])
    log = model.train_step(make_fer_batch(), optim)
    for name in ("generator", "recognizer"):
        after = _state(getattr(model, name))
        assert all(torch.equal(after[k], before[name][k]) for k in after), name
    assert optim["generator"].skipped_updates == 1 and optim["discriminator"].skipped_updates == 0
    disc = _state(model.discriminator)
    assert any(not torch.equal(disc[k], before["discriminator"][k]) for k in disc)
    assert not torch.isfinite(log["loss_segment"]) and torch.isfinite(log["loss_disc"])
    model.train_step(make_fer_batch(seed=1), optim)  # the next update is applied
    after = _state(model.generator)
    assert any(not torch.equal(after[k], before["generator"][k]) for k in after)


@pytest.mark.filterwarnings("ignore:.*GradScaler.*")
def test_amp_variant_keeps_autocast_and_the_policy(monkeypatch):
    """NaNGuardAmpOptimWrapper composes the policy with mmengine's AMP wrapper.

    mmengine's AmpOptimWrapper refuses to be built without a GPU; its device check
    is patched (the only mock) so that the wrapper runs with CPU bfloat16 autocast.
    """
    import mmengine.optim.optimizer.amp_optimizer_wrapper as amp_module

    from errkit.engine.optimizers import NaNGuardAmpOptimWrapper

    monkeypatch.setattr(amp_module, "is_cuda_available", lambda: True)
    torch.manual_seed(0)
    net = _BatchNormNet().train()
    wrapper = OPTIM_WRAPPERS.build(dict(
        type="NaNGuardAmpOptimWrapper", dtype="bfloat16", nan_policy="skip",
        optimizer=torch.optim.SGD(net.parameters(), lr=0.1)))
    assert isinstance(wrapper, NaNGuardAmpOptimWrapper)
    before = _state(net)
    with wrapper.optim_context(net):
        assert net.conv(torch.randn(1, 1, 8, 8)).dtype == torch.bfloat16  # autocast is on
        loss = net(torch.randn(2, 1, 8, 8)).float() * float("nan")
    wrapper.update_params(loss)
    after = _state(net)
    assert wrapper.skipped_updates == 1 and all(torch.equal(after[k], before[k]) for k in before)
    with wrapper.optim_context(net):
        loss = net(torch.randn(2, 1, 8, 8)).float()
    wrapper.update_params(loss)
    assert not torch.equal(net.conv.weight, before["conv.weight"])
