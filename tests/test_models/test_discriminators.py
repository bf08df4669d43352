"""Tests of errkit.models.discriminators.PatchDiscriminator."""

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

from errkit.models.discriminators import PatchDiscriminator
from errkit.registry import MODELS


@pytest.mark.parametrize("channels", [1, 3])
def test_patch_logits_shape(channels):
    disc = MODELS.build(dict(type="PatchDiscriminator", in_channels=2 * channels,
                             base_channels=8))
    cond, img = torch.randn(2, channels, 64, 64), torch.randn(2, channels, 64, 64)
    out = disc(cond, img)
    assert out.shape == (2, 1, 6, 6)  # 64 / 8 - 2
    # logits, not probabilities: no sigmoid squashes them
    assert not isinstance(list(disc.modules())[-1], nn.Sigmoid)


@pytest.mark.parametrize("num_layers,size,expected", [(2, 32, 6), (3, 128, 14), (4, 64, 2)])
def test_depth_sets_output_size(num_layers, size, expected):
    disc = PatchDiscriminator(2, base_channels=4, num_layers=num_layers)
    assert disc(torch.randn(1, 1, size, size), torch.randn(1, 1, size, size)).shape[-1] == expected


def test_every_conv_is_spectrally_normalised():
    disc = PatchDiscriminator(2, base_channels=8)
    convs = [m for m in disc.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 5
    assert all(parametrize.is_parametrized(c, "weight") for c in convs)
    assert not any(isinstance(m, (nn.BatchNorm2d, nn.InstanceNorm2d)) for m in disc.modules())
    assert any(isinstance(m, nn.LeakyReLU) for m in disc.modules())
    # after some power iterations, each weight's largest singular value is 1
    x = torch.randn(2, 1, 32, 32)
    for _ in range(30):
        disc(x, x)
    for conv in convs:
        sigma = torch.linalg.matrix_norm(conv.weight.detach().flatten(1), ord=2)
        assert abs(float(sigma) - 1.0) < 0.05


def test_without_spectral_norm():
    disc = PatchDiscriminator(6, base_channels=8, use_spectral_norm=False)
    convs = [m for m in disc.modules() if isinstance(m, nn.Conv2d)]
    assert not any(parametrize.is_parametrized(c, "weight") for c in convs)
    assert disc(torch.randn(2, 3, 32, 32), torch.randn(2, 3, 32, 32)).shape == (2, 1, 2, 2)


def test_condition_matters_and_gets_gradients():
    torch.manual_seed(0)
    disc = PatchDiscriminator(2, base_channels=8)
    img = torch.randn(1, 1, 32, 32)
    cond = torch.randn(1, 1, 32, 32, requires_grad=True)
    out = disc(cond, img)
    assert not torch.allclose(out, disc(torch.randn(1, 1, 32, 32), img))
    out.sum().backward()
    assert cond.grad.abs().sum() > 0
    assert all(p.grad is not None for p in disc.parameters())


def test_unconditional_and_channel_check():
    disc = PatchDiscriminator(1, base_channels=8)
    assert disc(None, torch.randn(1, 1, 32, 32)).shape == (1, 1, 2, 2)
    with pytest.raises(ValueError, match="add up to 1"):
        disc(torch.randn(1, 1, 32, 32), torch.randn(1, 1, 32, 32))
