"""Tests of errkit-lbp-residual: the LBP residual, its hooks and its config.

The discovery and config tests start a fresh interpreter (errkit loads plugins once
per process) and need the distribution installed: ``pip install -e .`` from this
folder, or on ``PYTHONPATH`` together with its ``.dist-info``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch

from errkit.models.residuals import INFERENCE_FIELDS, BaseResidual, ResidualContext
from errkit_lbp_residual import CONFIG_DIR, LBPResidual, lbp_kernels
from errkit_lbp_residual import plugin as lbp_plugin

DISTRIBUTION = "errkit-lbp-residual"


def context(batch=3, size=20, channels=1, training=True, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(batch, channels, size, size, generator=g) * 2 - 1
    residual = torch.randn(batch, channels, size, size, generator=g) * 0.2
    ctx = ResidualContext(x=x, neutral_hat=x - residual, residual_hat=residual,
                          encoder_features=[torch.randn(batch, 8, size // 2, size // 2)],
                          z=torch.randn(batch, 3, 4), activations=torch.rand(batch, 3))
    if training:
        ctx.neutral = (x - residual * 0.5).clamp(-1, 1)
        ctx.neutral_mask = torch.tensor([True] + [False] * (batch - 1))
        ctx.landmarks = torch.rand(batch, 68, 2) * size
        ctx.neutral_landmarks = torch.rand(batch, 68, 2) * size
        ctx.landmark_mask = torch.ones(batch, dtype=torch.bool)
        ctx.labels = torch.arange(batch) % 3
    return ctx


def run_fresh(code: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter with third-party plugins enabled."""
    env = dict(os.environ)
    env.pop("ERRKIT_DISABLE_PLUGIN_AUTOLOAD", None)
    env.pop("ERRKIT_DISABLE_PLUGINS", None)
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env,
                          capture_output=True, text=True)


# ---------------------------------------------------------------------- kernels
def test_kernels_read_bilinear_neighbours_minus_centre():
    k = lbp_kernels(8, 1.0)
    assert k.shape == (8, 1, 3, 3)
    assert torch.allclose(k.sum(dim=(1, 2, 3)), torch.zeros(8), atol=1e-6)
    # axis neighbours sit on pixels: right, up, left, down
    for idx, (y, x) in zip((0, 2, 4, 6), ((1, 2), (0, 1), (1, 0), (2, 1))):
        assert k[idx, 0, y, x] == 1.0 and k[idx, 0, 1, 1] == -1.0
    # a diagonal neighbour spreads over four pixels (bilinear), centre included
    assert (k[1, 0] != 0).sum() == 4
    assert lbp_kernels(16, 2.5).shape == (16, 1, 7, 7)
    with pytest.raises(ValueError, match="radius"):
        lbp_kernels(8, 0.0)


def test_soft_bits_approach_hard_lbp_at_low_temperature():
    branch = LBPResidual(in_channels=1, temperature=1e-4)
    img = torch.rand(2, 1, 12, 12) * 2 - 1
    bits = branch.soft_bits(img)
    inner = img[:, 0, 1:-1, 1:-1]
    right = img[:, 0, 1:-1, 2:]
    up = img[:, 0, :-2, 1:-1]
    assert torch.equal(bits[:, 0, 1:-1, 1:-1] > 0.5, right > inner)
    assert torch.equal(bits[:, 2, 1:-1, 1:-1] > 0.5, up > inner)
    # a dark centre among bright neighbours has every bit set: code 1
    spot = torch.ones(1, 1, 5, 5)
    spot[0, 0, 2, 2] = -1.0
    assert branch.soft_codes(branch.soft_bits(spot))[0, 0, 2, 2] == pytest.approx(1.0)


def test_cell_histograms_sum_to_one_for_any_size():
    branch = LBPResidual(in_channels=1, grid_size=3, num_bins=10)
    codes = torch.rand(2, 1, 17, 23)
    hist = branch.cell_histograms(codes)
    assert hist.shape == (2, 10, 3, 3)
    assert torch.allclose(hist.sum(dim=1), torch.ones(2, 3, 3), atol=1e-5)


# ---------------------------------------------------------------------- branch
@pytest.mark.parametrize("mode,channels,size", [("histogram", 1, 20), ("histogram", 3, 23),
                                                ("cnn", 1, 20), ("cnn", 3, 17)])
def test_forward_shapes(mode, channels, size):
    branch = LBPResidual(in_channels=channels, mode=mode, radius=1.5, num_bins=8, grid_size=2,
                         feat_channels=4, out_channels=12)
    assert isinstance(branch, BaseResidual)
    out = branch(context(batch=2, size=size, channels=channels))
    assert out.shape == (2, 12) and torch.isfinite(out).all()
    diff = branch.lbp_difference(context(batch=2, size=size, channels=channels))
    expected = (2, 8, 2, 2) if mode == "histogram" else (2, 8, size, size)
    assert diff.shape == expected


def test_identical_faces_give_no_texture_residual():
    branch = LBPResidual(in_channels=1)
    ctx = context(training=False)
    ctx.neutral_hat = ctx.x.clone()
    assert torch.allclose(branch.lbp_difference(ctx), torch.zeros(1), atol=1e-6)
    ctx.neutral_hat = torch.flip(ctx.x, dims=[-1])
    assert branch.lbp_difference(ctx).abs().sum() > 0


@pytest.mark.parametrize("mode", ["histogram", "cnn"])
def test_gradient_reaches_the_generated_neutral_unless_detached(mode):
    for detach in (False, True):
        branch = LBPResidual(in_channels=1, mode=mode, num_bins=8, feat_channels=4, detach=detach)
        ctx = context(training=False)
        neutral_hat = ctx.neutral_hat.clone().requires_grad_(True)
        ctx.neutral_hat = neutral_hat
        branch(ctx).pow(2).sum().backward()
        if detach:
            assert neutral_hat.grad is None
        else:
            assert neutral_hat.grad is not None and neutral_hat.grad.abs().sum() > 0
        assert all(p.grad is not None for p in branch.parameters())


def test_eval_needs_only_inference_fields():
    assert LBPResidual.needs_at_inference == ()
    LBPResidual.check_inference_fields()
    branch = LBPResidual(in_channels=1, texture_loss=True).eval()
    full = context()
    inference = full.for_inference()
    assert not inference.has_training_fields
    assert set(INFERENCE_FIELDS) >= {"x", "neutral_hat"}
    # neither landmarks, nor the true neutral, nor the residual image, encoder or latent
    bare = ResidualContext(x=inference.x, neutral_hat=inference.neutral_hat)
    with torch.no_grad():
        assert torch.equal(branch(full), branch(bare))
    with pytest.raises(ValueError, match="neutral_hat"):
        branch(ResidualContext(x=inference.x))


def test_texture_loss_is_masked_and_connected():
    plain = LBPResidual(in_channels=1)
    assert plain.loss(context(), torch.zeros(3, 64)) == {}
    assert not plain.requires_neutral
    branch = LBPResidual(in_channels=1, texture_loss=True)
    assert branch.requires_neutral and not branch.requires_landmarks
    ctx = context()
    ctx.neutral_hat.requires_grad_(True)
    feats = branch(ctx)
    term = branch.loss(ctx, feats)["loss_lbp_texture"]
    assert term.dim() == 0 and term > 0
    term.backward()
    # only the face with a true neutral (the first) is supervised by the term
    grad = ctx.neutral_hat.grad
    assert grad[0].abs().sum() > 0 and grad[1:].abs().sum() == 0
    no_neutral = context()
    no_neutral.neutral_mask[:] = False
    feats = branch(no_neutral)
    zero = branch.loss(no_neutral, feats)["loss_lbp_texture"]
    assert zero.item() == 0.0 and zero.requires_grad


def test_texture_loss_is_weighted_by_the_branch():
    ctx = context()
    plain = LBPResidual(in_channels=1, texture_loss=True)
    heavy = LBPResidual(in_channels=1, texture_loss=True, texture_loss_weight=3.0)
    heavy.load_state_dict(plain.state_dict())
    term = plain.loss(ctx, plain(ctx))["loss_lbp_texture"]
    assert torch.allclose(heavy.loss(ctx, heavy(ctx))["loss_lbp_texture"], 3.0 * term)
    with pytest.raises(ValueError, match="texture_loss_weight must be >= 0"):
        LBPResidual(texture_loss=True, texture_loss_weight=-1.0)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="mode"):
        LBPResidual(mode="sift")
    with pytest.raises(ValueError, match="temperature"):
        LBPResidual(temperature=0)
    with pytest.raises(ValueError, match=r"\(B, 1, H, W\)"):
        LBPResidual(in_channels=1)(context(channels=3))


# ---------------------------------------------------------------------- plugin
def test_plugin_module_declares_api_and_hooks():
    assert lbp_plugin.ERRKIT_PLUGIN_API == ">=1,<2"
    assert os.path.isfile(os.path.join(CONFIG_DIR, "errnet_lbp_synthetic.py"))
    assert lbp_plugin.errkit_config_paths() == [CONFIG_DIR]
    from packaging.specifiers import SpecifierSet

    from errkit import PLUGIN_API_VERSION
    assert PLUGIN_API_VERSION in SpecifierSet(lbp_plugin.ERRKIT_PLUGIN_API)


@pytest.mark.slow
def test_errkit_plugins_lists_the_plugin_and_its_component():
    result = run_fresh("from errkit.cli import main; main(['plugins', '--json'])")
    assert result.returncode == 0, result.stderr
    plugins = {p["distribution"]: p for p in json.loads(result.stdout)}
    assert DISTRIBUTION in plugins, (
        f"{DISTRIBUTION} is not installed: run `pip install -e .` in its folder "
        f"(found {sorted(plugins)})")
    ours = plugins[DISTRIBUTION]
    assert ours["name"] == "lbp_residual" and ours["value"] == "errkit_lbp_residual.plugin"
    assert ours["status"] == "loaded" and ours["api"] == ">=1,<2"
    assert ours["components"] == {"residuals": ["LBPResidual"]}


@pytest.mark.slow
def test_config_resolves_errkit_base_and_builds_the_model():
    result = run_fresh("""
        import torch
        torch.set_num_threads(1)
        from errkit.cli.common import load_config, resolve_config
        from errkit.registry import MODELS

        path = resolve_config('errnet_lbp_synthetic.py')  # through errkit_config_paths
        cfg = load_config(path)
        assert cfg.train_dataloader.dataset.type == 'SyntheticCKPlusDataset', cfg.train_dataloader
        # errkit's residual settings are inherited, not re-listed
        base = load_config(resolve_config('errnet_synthetic.py'))
        assert cfg.model.residuals[:2] == base.model.residuals, cfg.model.residuals
        model = MODELS.build(cfg.model).eval()
        names = [type(b).__name__ for b in model.recognizer.residuals]
        with torch.no_grad():
            out = model.infer(torch.rand(2, 1, 64, 64) * 2 - 1)
        print(path)
        print(names, tuple(out['probs'].shape), bool(model.recognizer.requires_neutral))
        """)
    assert result.returncode == 0, result.stderr
    path, summary = result.stdout.strip().splitlines()[-2:]
    assert path.endswith(os.path.join("errkit_lbp_residual", "configs", "errnet_lbp_synthetic.py"))
    assert summary == "['PixelResidual', 'LandmarkResidual', 'LBPResidual'] (2, 7) True"
