"""Tests of errkit.models.decoders: SegmentLatent and UNetResidualDecoder."""

import pytest
import torch

from errkit.models.decoders import SegmentLatent, UNetResidualDecoder
from errkit.models.decoders.unet_residual_decoder import RESIDUAL_SCALE
from errkit.models.encoders import TimmEncoder
from errkit.registry import ENCODERS, MODELS


def _generator(model_name, in_channels, num_segments=7, segment_dim=4, **dec_kwargs):
    enc = TimmEncoder(model_name, in_channels=in_channels)
    seg = SegmentLatent(enc.channels[-1], num_segments, segment_dim)
    dec = UNetResidualDecoder(enc.channels, enc.reductions, latent_dim=num_segments * segment_dim,
                              out_channels=in_channels, base_channels=8, **dec_kwargs)
    return enc, seg, dec


def test_build_through_registries():
    enc = ENCODERS.build(dict(type="TimmEncoder", model_name="resnet10t", in_channels=1))
    seg = MODELS.build(dict(type="SegmentLatent", in_channels=enc.channels[-1], num_segments=6))
    dec = MODELS.build(dict(type="UNetResidualDecoder", encoder_channels=enc.channels,
                            encoder_reductions=enc.reductions, latent_dim=6 * 16,
                            out_channels=1, base_channels=8))
    x = torch.rand(2, 1, 32, 32)
    feats = enc(x)
    assert dec(feats, seg(feats), x).shape == x.shape


# ------------------------------------------------------------------ SegmentLatent
def test_segment_latent_shapes_and_activations():
    seg = SegmentLatent(in_channels=12, num_segments=6, segment_dim=5)
    feat = torch.randn(3, 12, 4, 4)
    z = seg(feat)
    assert z.shape == (3, 6, 5)
    torch.testing.assert_close(seg([torch.randn(3, 2, 8, 8), feat]), z)
    act = seg.activations(z)
    assert act.shape == (3, 6)
    torch.testing.assert_close(act, torch.sqrt((z ** 2).sum(-1)))
    # z is a linear map of the pooled feature
    expected = seg.fc(feat.mean(dim=(2, 3))).view(3, 6, 5)
    torch.testing.assert_close(z, expected)


def test_segment_latent_rejects_wrong_channels():
    seg = SegmentLatent(in_channels=12, num_segments=6)
    with pytest.raises(ValueError, match="12"):
        seg(torch.randn(1, 10, 2, 2))
    with pytest.raises(ValueError):
        seg.activations(torch.randn(2, 6))


def test_segment_activation_gradient_is_finite_at_zero():
    z = torch.zeros(1, 3, 4, requires_grad=True)
    SegmentLatent.activations(z).sum().backward()
    assert torch.isfinite(z.grad).all()


# ------------------------------------------------------------------ decoder
@pytest.mark.parametrize("in_channels", [1, 3])
@pytest.mark.parametrize("model_name", ["resnet10t", "mobilenetv3_small_050",
                                        "efficientnet_b0", "convnext_atto"])
def test_output_size_equals_input_and_starts_near_zero(model_name, in_channels):
    enc, seg, dec = _generator(model_name, in_channels)
    x = torch.rand(2, in_channels, 64, 64) * 2 - 1
    feats = enc(x)
    r = dec(feats, seg(feats), x)
    assert r.shape == x.shape
    assert r.abs().max() < 0.02
    assert r.abs().max() > 0  # not exactly zero: the layers before the head get gradients
    # without x the size comes from the shallowest feature and its reduction
    assert dec(feats, seg(feats)).shape == x.shape


@pytest.mark.parametrize("model_name", ["resnet10t", "convnext_atto"])
def test_input_concatenation_and_odd_size(model_name):
    enc, seg, dec = _generator(model_name, 1, input_channels=1)
    x = torch.rand(2, 1, 50, 50) * 2 - 1
    feats = enc(x)
    assert dec(feats, seg(feats), x).shape == x.shape
    with pytest.raises(ValueError, match="input_channels"):
        dec(feats, seg(feats))


def test_gradients_reach_every_parameter():
    torch.manual_seed(0)
    enc, seg, dec = _generator("resnet10t", 1, input_channels=1)
    # timm zero-initialises the last BatchNorm scale of each residual block, which
    # blocks the gradient of the block's inner convolutions at initialisation only
    for m in enc.modules():
        if isinstance(m, torch.nn.BatchNorm2d) and not m.weight.any():
            torch.nn.init.ones_(m.weight)
    x = torch.rand(2, 1, 64, 64) * 2 - 1
    target = torch.rand(2, 1, 64, 64) * 2 - 1
    feats = enc(x)
    z = seg(feats)
    r = dec(feats, z, x)
    loss = (x - r - target).abs().mean() + seg.activations(z).sum()
    loss.backward()
    for module in (enc, seg, dec):
        for name, p in module.named_parameters():
            assert p.grad is not None, name
            assert p.grad.abs().sum() > 0, name


def test_latent_changes_the_residual():
    torch.manual_seed(0)
    dec = UNetResidualDecoder([8, 16], [2, 4], latent_dim=6, out_channels=1, base_channels=8,
                              final_init_std=0.1)
    feats = [torch.randn(1, 8, 8, 8), torch.randn(1, 16, 4, 4)]
    r1 = dec(feats, torch.zeros(1, 6))
    r2 = dec(feats, torch.randn(1, 2, 3) * 5)
    assert not torch.allclose(r1, r2)


def test_without_skips_and_without_latent():
    feats = [torch.randn(2, 8, 16, 16), torch.randn(2, 16, 8, 8), torch.randn(2, 32, 4, 4)]
    dec = UNetResidualDecoder([8, 16, 32], [1, 2, 4], latent_dim=0, out_channels=3,
                              base_channels=8, use_skips=False, input_channels=3)
    x = torch.randn(2, 3, 16, 16)
    assert dec(feats, None, x).shape == (2, 3, 16, 16)
    # the skips do not influence the output when disabled
    feats2 = [torch.randn_like(feats[0]), torch.randn_like(feats[1]), feats[2]]
    torch.testing.assert_close(dec(feats, None, x), dec(feats2, None, x))


def test_output_range_is_bounded_by_two():
    dec = UNetResidualDecoder([4], [2], latent_dim=2, out_channels=1, base_channels=8)
    torch.nn.init.normal_(dec.head.weight, std=50.0)
    r = dec([torch.randn(4, 4, 8, 8)], torch.randn(4, 2))
    assert r.abs().max() <= RESIDUAL_SCALE
    assert r.abs().max() > 1.9


def test_checks_name_the_problem():
    dec = UNetResidualDecoder([8, 16], [2, 4], latent_dim=6, base_channels=8)
    feats = [torch.randn(1, 8, 8, 8), torch.randn(1, 16, 4, 4)]
    with pytest.raises(ValueError, match="feature levels"):
        dec(feats[:1], torch.randn(1, 6))
    with pytest.raises(ValueError, match="16 channels"):
        dec([feats[0], torch.randn(1, 15, 4, 4)], torch.randn(1, 6))
    with pytest.raises(ValueError, match="z should flatten"):
        dec(feats, torch.randn(1, 5))
    with pytest.raises(ValueError, match="needs z"):
        dec(feats, None)
    with pytest.raises(ValueError, match="non-decreasing"):
        UNetResidualDecoder([8, 16], [4, 2], latent_dim=6)
    with pytest.raises(ValueError, match="norm"):
        UNetResidualDecoder([8], [2], latent_dim=6, norm="layer")


@pytest.mark.parametrize("norm", ["batch", "instance", "none"])
def test_other_norms(norm):
    dec = UNetResidualDecoder([8, 16], [4, 8], latent_dim=4, out_channels=1, base_channels=8,
                              norm=norm)
    r = dec([torch.randn(2, 8, 4, 4), torch.randn(2, 16, 2, 2)], torch.randn(2, 4))
    assert r.shape == (2, 1, 16, 16)


def test_warp_image_moves_content_by_the_displacement():
    from errkit.models.decoders.unet_residual_decoder import warp_image

    ramp = torch.arange(32.0).view(1, 1, 1, 32).expand(2, 1, 16, 32).contiguous()
    assert torch.allclose(warp_image(ramp, torch.zeros(2, 2, 16, 32)), ramp, atol=1e-5)
    # dx = 2 / W in normalised coordinates is one pixel: every pixel reads its right neighbour.
    shift = torch.zeros(2, 2, 16, 32)
    shift[:, 0] = 2.0 / 32
    out = warp_image(ramp, shift)
    assert torch.allclose(out[..., :-1], ramp[..., 1:], atol=1e-4)


def test_flow_output_can_undo_a_shift_and_starts_as_the_input():
    enc, seg, dec = _generator("resnet10t", 1, flow=True, max_flow=0.2)
    x = torch.rand(2, 1, 32, 32)
    feats = enc(x)
    r = dec(feats, seg(feats), x)
    assert r.shape == x.shape and r.abs().max() < 0.1  # n_hat = x - r starts near x
    assert r.abs().max() <= RESIDUAL_SCALE
    # Gradients reach the displacement channels of the last convolution.
    r.pow(2).sum().backward()
    assert dec.head.weight.grad[1:].abs().sum() > 0
    with pytest.raises(ValueError, match="flow=True warps the input image"):
        dec(feats, seg(feats), None)
    with pytest.raises(ValueError, match="max_flow"):
        UNetResidualDecoder(enc.channels, enc.reductions, latent_dim=0, out_channels=1,
                            flow=True, max_flow=0.0)
