"""Tests of errkit.models.losses."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from errkit.models.discriminators import PatchDiscriminator
from errkit.models.encoders import TimmEncoder
from errkit.models.losses import (CrossEntropyLoss, GANLoss, GradientPenaltyLoss, MaskedL1Loss,
                                  PerceptualLoss, SegmentLoss)
from errkit.registry import LOSSES

PRED = torch.tensor([0.5, -1.0, 3.0])


def _softplus(v):
    return math.log1p(math.exp(v))


# ------------------------------------------------------------------ GANLoss
@pytest.mark.parametrize("gan_type,real,is_disc,expected", [
    ("vanilla", True, True, (_softplus(-0.5) + _softplus(1.0) + _softplus(-3.0)) / 3),
    ("vanilla", False, True, (_softplus(0.5) + _softplus(-1.0) + _softplus(3.0)) / 3),
    ("vanilla", True, False, (_softplus(-0.5) + _softplus(1.0) + _softplus(-3.0)) / 3),
    ("lsgan", True, True, (0.25 + 4.0 + 4.0) / 3),
    ("lsgan", False, True, (0.25 + 1.0 + 9.0) / 3),
    ("lsgan", True, False, (0.25 + 4.0 + 4.0) / 3),
    ("hinge", True, True, (0.5 + 2.0 + 0.0) / 3),
    ("hinge", False, True, (1.5 + 0.0 + 4.0) / 3),
    ("hinge", True, False, -2.5 / 3),
    ("wgan", True, True, -2.5 / 3),
    ("wgan", False, True, 2.5 / 3),
    ("wgan", True, False, -2.5 / 3),
])
def test_gan_loss_hand_values(gan_type, real, is_disc, expected):
    loss = GANLoss(gan_type=gan_type)
    assert float(loss(PRED, target_is_real=real, is_disc=is_disc)) == pytest.approx(expected)


def test_gan_loss_weight_applies_to_generator_only():
    loss = GANLoss("lsgan", loss_weight=0.5)
    assert float(loss(PRED, True, is_disc=False)) == pytest.approx(0.5 * 8.25 / 3)
    assert float(loss(PRED, True, is_disc=True)) == pytest.approx(8.25 / 3)


def test_gan_loss_custom_labels():
    loss = GANLoss("lsgan", real_label=0.9, fake_label=0.1)
    pred = torch.tensor([0.9, 0.1])
    assert float(loss(pred, True, True)) == pytest.approx((0.0 + 0.64) / 2)
    assert float(loss(pred, False, True)) == pytest.approx((0.64 + 0.0) / 2)


def test_gan_loss_on_patch_maps_and_gradient_direction():
    pred = torch.zeros(2, 1, 4, 4, requires_grad=True)
    for gan_type in ("vanilla", "lsgan", "hinge", "wgan"):
        pred.grad = None
        GANLoss(gan_type)(pred, target_is_real=True, is_disc=True).backward()
        # making real logits larger lowers the discriminator's real loss
        assert (pred.grad < 0).all(), gan_type


def test_gan_loss_unknown_type_lists_the_four():
    with pytest.raises(ValueError) as info:
        GANLoss("wgan-gp")
    for name in ("vanilla", "lsgan", "hinge", "wgan"):
        assert name in str(info.value)


# ------------------------------------------------------------------ GradientPenaltyLoss
class _LinearCritic(nn.Module):
    def __init__(self, shape):
        super().__init__()
        self.w = nn.Parameter(torch.randn(shape))

    def forward(self, cond, img):
        return (self.w * img).sum(dim=(1, 2, 3))


def test_gradient_penalty_of_a_linear_critic_is_exact():
    torch.manual_seed(0)
    critic = _LinearCritic((1, 2, 3, 3))
    gp = GradientPenaltyLoss(loss_weight=10.0)
    real, fake = torch.randn(4, 2, 3, 3), torch.randn(4, 2, 3, 3)
    loss = gp(critic, None, real, fake)
    w_norm = critic.w.detach().norm()
    expected = 10.0 * (w_norm - 1.0) ** 2
    torch.testing.assert_close(loss, expected)
    # create_graph=True: the penalty trains the critic, with the analytic gradient
    loss.backward()
    expected_grad = 10.0 * 2 * (w_norm - 1.0) * critic.w.detach() / w_norm
    torch.testing.assert_close(critic.w.grad, expected_grad)


def test_gradient_penalty_of_a_quadratic_critic_matches_finite_differences():
    torch.manual_seed(1)
    cond = torch.rand(3, 1, 2, 2, dtype=torch.float64) + 0.5
    real = torch.randn(3, 1, 2, 2, dtype=torch.float64)
    fake = torch.randn(3, 1, 2, 2, dtype=torch.float64)

    def critic(c, img):  # D(c, x) = sum(c * x**2): gradient 2 * c * x
        return (c * img ** 2).sum(dim=(1, 2, 3))

    torch.manual_seed(7)
    loss = GradientPenaltyLoss(loss_weight=2.0)(critic, cond, real, fake)
    torch.manual_seed(7)
    t = torch.rand(3, 1, 1, 1, dtype=torch.float64)
    interp = t * real + (1 - t) * fake
    eps = 1e-6
    grads = torch.zeros_like(interp)
    flat, gflat = interp.view(3, -1), grads.view(3, -1)
    for j in range(flat.shape[1]):
        step = torch.zeros_like(flat)
        step[:, j] = eps
        up = critic(cond, (flat + step).view_as(interp))
        down = critic(cond, (flat - step).view_as(interp))
        gflat[:, j] = (up - down) / (2 * eps)
    expected = 2.0 * ((grads.flatten(1).norm(dim=1) - 1) ** 2).mean()
    torch.testing.assert_close(loss, expected, rtol=1e-6, atol=1e-8)
    # with real == fake the interpolation is exact whatever t is
    loss_same = GradientPenaltyLoss(1.0)(critic, cond, real, real)
    expected_same = (((2 * cond * real).flatten(1).norm(dim=1) - 1) ** 2).mean()
    torch.testing.assert_close(loss_same, expected_same)


def test_gradient_penalty_with_patch_discriminator():
    disc = PatchDiscriminator(2, base_channels=4, use_spectral_norm=False)
    real = torch.randn(2, 1, 32, 32)
    fake = torch.randn(2, 1, 32, 32, requires_grad=True)
    loss = GradientPenaltyLoss()(disc, real, real, fake)
    assert loss.dim() == 0 and torch.isfinite(loss)
    loss.backward()
    # the conv weights shape the critic's input gradient; biases cannot (piecewise-linear net)
    convs = [m for m in disc.modules() if isinstance(m, nn.Conv2d)]
    assert all(c.weight.grad is not None and c.weight.grad.abs().sum() > 0 for c in convs)
    assert fake.grad is None  # real and fake are detached


# ------------------------------------------------------------------ SegmentLoss
def test_segment_loss_hand_value():
    act = torch.tensor([[3.0, 0.5, 2.5], [1.0, 2.0, 0.0]])
    labels = torch.tensor([0, 2])
    loss = SegmentLoss(margin=1.0)(act, labels)
    ce = F.cross_entropy(act, labels)
    # sample 0: gaps relu(1-2.5)=0, relu(1-0.5)=0.5; sample 1: relu(1+1)=2, relu(1+2)=3
    margin = (0.0 + 0.5 + 2.0 + 3.0) / 4
    torch.testing.assert_close(loss, ce + margin)
    weighted = SegmentLoss(margin=1.0, ce_weight=0.5, margin_weight=2.0, temperature=2.0,
                           loss_weight=3.0)(act, labels)
    torch.testing.assert_close(weighted, 3.0 * (0.5 * F.cross_entropy(act / 2, labels)
                                                + 2.0 * margin))


def test_segment_loss_decreases_when_true_segment_grows():
    loss_fn = SegmentLoss(margin=1.0)
    labels = torch.tensor([1])
    values = []
    for a_true in [0.0, 0.5, 1.0, 2.0, 4.0]:
        values.append(float(loss_fn(torch.tensor([[1.0, a_true, 0.5, 1.5]]), labels)))
    assert all(b < a for a, b in zip(values, values[1:]))
    act = torch.tensor([[1.0, 2.0, 0.5, 1.5]], requires_grad=True)
    loss_fn(act, labels).backward()
    assert act.grad[0, 1] < 0 and (act.grad[0, [0, 2, 3]] > 0).all()


def test_segment_margin_term_vanishes_when_satisfied():
    act = torch.tensor([[5.0, 1.0, 0.0]])
    loss = SegmentLoss(margin=1.0, ce_weight=0.0)(act, torch.tensor([0]))
    assert float(loss) == 0.0


def test_segment_loss_shape_check():
    with pytest.raises(ValueError, match="activations"):
        SegmentLoss()(torch.zeros(2, 3), torch.zeros(3, dtype=torch.long))


# ------------------------------------------------------------------ MaskedL1Loss
def test_masked_l1_ignores_unselected_targets():
    pred = torch.zeros(3, 1, 2, 2, requires_grad=True)
    target = torch.stack([torch.full((1, 2, 2), 1.0), torch.full((1, 2, 2), float("nan")),
                          torch.full((1, 2, 2), 3.0)])
    mask = torch.tensor([True, False, True])
    loss = MaskedL1Loss(loss_weight=2.0)(pred, target, mask)
    assert loss.item() == pytest.approx(2.0 * 2.0)
    loss.backward()
    assert pred.grad[1].abs().sum() == 0 and torch.isfinite(pred.grad).all()


def test_masked_l1_empty_mask_is_zero_with_grad():
    pred = torch.randn(2, 4, requires_grad=True)
    loss = MaskedL1Loss()(pred, torch.randn(2, 4), torch.tensor([False, False]))
    assert loss.item() == 0.0 and loss.requires_grad
    loss.backward()
    assert torch.equal(pred.grad, torch.zeros(2, 4))


def test_masked_l1_without_mask_and_checks():
    pred, target = torch.zeros(2, 3), torch.ones(2, 3)
    assert float(MaskedL1Loss()(pred, target)) == 1.0
    with pytest.raises(ValueError, match="mask"):
        MaskedL1Loss()(pred, target, torch.tensor([True]))
    with pytest.raises(ValueError, match="shape"):
        MaskedL1Loss()(pred, torch.ones(2, 4))


# ------------------------------------------------------------------ CrossEntropyLoss
def test_cross_entropy_hand_values():
    logits = torch.tensor([[2.0, 0.0, 0.0]])
    logp = torch.log_softmax(logits, dim=1)[0]
    assert float(CrossEntropyLoss()(logits, torch.tensor([0]))) == pytest.approx(-float(logp[0]))
    smoothed = CrossEntropyLoss(label_smoothing=0.3, loss_weight=2.0)
    expected = -(0.8 * logp[0] + 0.1 * logp[1] + 0.1 * logp[2])
    assert float(smoothed(logits, torch.tensor([0]))) == pytest.approx(2.0 * float(expected))
    soft = torch.tensor([[0.5, 0.5, 0.0]])
    assert float(CrossEntropyLoss()(logits, soft)) == pytest.approx(
        -float(0.5 * logp[0] + 0.5 * logp[1]))


def test_cross_entropy_class_weight_and_checks():
    logits, labels = torch.randn(4, 3), torch.tensor([0, 1, 2, 2])
    weight = [1.0, 2.0, 0.5]
    torch.testing.assert_close(CrossEntropyLoss(class_weight=weight)(logits, labels),
                               F.cross_entropy(logits, labels, weight=torch.tensor(weight)))
    with pytest.raises(ValueError, match="label_smoothing"):
        CrossEntropyLoss(label_smoothing=1.0)
    with pytest.raises(ValueError, match="labels"):
        CrossEntropyLoss()(logits, torch.zeros(4, 2))


# ------------------------------------------------------------------ PerceptualLoss
def _perceptual(**kwargs):
    encoder = TimmEncoder("resnet10t", in_channels=3)
    return PerceptualLoss(encoder, layers=(0, 1), **kwargs)


def test_perceptual_loss_is_zero_for_equal_images_and_trains_only_the_input():
    torch.manual_seed(0)
    loss_fn = _perceptual(loss_weight=2.0).train()
    assert not loss_fn.encoder.training
    assert not any(p.requires_grad for p in loss_fn.encoder.parameters())
    target = torch.rand(2, 1, 32, 32)  # grey images feed a 3-channel encoder
    assert float(loss_fn(target, target)) == 0.0
    pred = torch.rand(2, 1, 32, 32, requires_grad=True)
    loss = loss_fn(pred, target)
    assert loss.item() > 0
    loss.backward()
    assert pred.grad.abs().sum() > 0
    assert all(p.grad is None for p in loss_fn.encoder.parameters())
    feats_p, feats_t = loss_fn.encoder(pred.expand(-1, 3, -1, -1)), \
        loss_fn.encoder(target.expand(-1, 3, -1, -1))
    expected = 2.0 * sum(F.l1_loss(feats_p[i], feats_t[i]) for i in (0, 1))
    torch.testing.assert_close(loss, expected)


def test_perceptual_loss_mask_and_checks():
    loss_fn = _perceptual()
    pred = torch.rand(2, 3, 32, 32, requires_grad=True)
    empty = loss_fn(pred, torch.rand(2, 3, 32, 32), torch.tensor([False, False]))
    assert empty.item() == 0.0 and empty.requires_grad
    with pytest.raises(ValueError, match="layers"):
        PerceptualLoss(TimmEncoder("resnet10t"), layers=(7,))


# ------------------------------------------------------------------ registry
@pytest.mark.parametrize("cfg,cls", [
    (dict(type="GANLoss", gan_type="hinge"), GANLoss),
    (dict(type="GradientPenaltyLoss"), GradientPenaltyLoss),
    (dict(type="SegmentLoss", margin=0.5), SegmentLoss),
    (dict(type="MaskedL1Loss"), MaskedL1Loss),
    (dict(type="CrossEntropyLoss", label_smoothing=0.1), CrossEntropyLoss),
    (dict(type="PerceptualLoss", layers=(0,),
          encoder_cfg=dict(type="TimmEncoder", model_name="resnet10t", in_channels=1)),
     PerceptualLoss),
])
def test_losses_build_through_the_registry(cfg, cls):
    assert isinstance(LOSSES.build(cfg), cls)
