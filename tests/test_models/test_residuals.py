"""Residual branches: context, pixel and landmark residuals, the plugin interface."""

import pytest
import torch
import torch.nn as nn

from errkit.models.residual_recognizer import ResidualRecognizer, build_residual
from errkit.models.residuals import (BaseResidual, LandmarkResidual, PixelResidual,
                                     ResidualContext, inter_ocular_distance,
                                     landmark_displacement)
from errkit.registry import RESIDUALS

ENC_CHANNELS = [8, 16]


def shape_with_eyes(batch, iod):
    """Random 68-point shapes whose eye centres are ``iod`` apart horizontally."""
    pts = torch.rand(batch, 68, 2) * 10 + 20
    pts[:, 36:42] = torch.tensor([10.0, 20.0])
    pts[:, 42:48] = torch.tensor([10.0 + iod, 20.0])
    return pts


def context(batch=3, size=16, channels=1, training_fields=True, landmark_mask=None):
    x = torch.rand(batch, channels, size, size) * 2 - 1
    residual = torch.randn(batch, channels, size, size) * 0.1
    ctx = ResidualContext(
        x=x, neutral_hat=x - residual, residual_hat=residual,
        encoder_features=[torch.randn(batch, 8, size // 2, size // 2),
                          torch.randn(batch, 16, size // 4, size // 4)],
        z=torch.randn(batch, 3, 4), activations=torch.rand(batch, 3))
    if training_fields:
        neutral_lm = shape_with_eyes(batch, 20.0)
        ctx.landmarks = neutral_lm + torch.randn(batch, 68, 2)
        ctx.neutral_landmarks = neutral_lm
        ctx.landmark_mask = (torch.ones(batch, dtype=torch.bool) if landmark_mask is None
                             else landmark_mask)
        ctx.neutral_mask = torch.ones(batch, dtype=torch.bool)
        ctx.labels = torch.arange(batch) % 3
    return ctx


def test_context_for_inference_keeps_only_image_derived_fields():
    ctx = context()
    assert ctx.has_training_fields
    inf = ctx.for_inference()
    assert not inf.has_training_fields
    assert inf.landmarks is None and inf.neutral is None and inf.labels is None
    assert inf.residual_hat is ctx.residual_hat and inf.z is ctx.z


def test_pixel_residual_shape_and_missing_residual_error():
    branch = PixelResidual(in_channels=1, feat_channels=4, num_stages=2)
    out = branch(context())
    assert out.shape == (3, branch.out_channels) == (3, 16)
    with pytest.raises(ValueError, match="residual_hat"):
        branch(ResidualContext(x=torch.zeros(1, 1, 8, 8)))


def test_pixel_residual_detach_blocks_generator_gradient():
    ctx = context()
    ctx.residual_hat.requires_grad_(True)
    PixelResidual(in_channels=1, feat_channels=4, num_stages=1)(ctx).sum().backward()
    assert ctx.residual_hat.grad is not None and ctx.residual_hat.grad.abs().sum() > 0
    ctx2 = context()
    ctx2.residual_hat.requires_grad_(True)
    PixelResidual(in_channels=1, feat_channels=4, num_stages=1, detach=True)(ctx2).sum().backward()
    assert ctx2.residual_hat.grad is None


def test_inter_ocular_distance_and_displacement_normalisation():
    neutral = shape_with_eyes(2, 40.0)
    assert torch.allclose(inter_ocular_distance(neutral), torch.tensor([40.0, 40.0]))
    moved = neutral.clone()
    moved[:, 48] += torch.tensor([4.0, -8.0])  # a lip corner moves
    disp, valid = landmark_displacement(moved, neutral)
    assert valid.all()
    assert torch.allclose(disp[:, 48], torch.tensor([0.1, -0.2]).expand(2, 2))
    assert disp[:, :48].abs().max() == 0 and disp[:, 49:].abs().max() == 0


def test_displacement_of_missing_landmarks_is_invalid_and_zero():
    neutral = shape_with_eyes(2, 30.0)
    neutral[1] = 0.0  # no landmarks: zeros
    disp, valid = landmark_displacement(neutral + 1.0, neutral)
    assert valid.tolist() == [True, False]
    assert disp[1].abs().sum() == 0
    with pytest.raises(ValueError, match=r"\(B, 68, 2\)"):
        landmark_displacement(torch.zeros(2, 5, 2), torch.zeros(2, 5, 2))


def test_landmark_residual_needs_nothing_but_the_image_at_inference():
    branch = LandmarkResidual(in_channels=1, encoder_channels=ENC_CHANNELS, hidden_channels=8,
                              residual_channels=4, embed_channels=8, out_channels=12).eval()
    assert branch.needs_at_inference == () and not branch.requires_neutral
    bare = context(training_fields=False)
    out = branch(bare)
    assert out.shape == (3, 12)
    assert branch.predict_displacement(bare).shape == (3, 68, 2)
    # landmarks in the context change nothing in eval mode, even with teacher forcing
    forced = LandmarkResidual(in_channels=1, encoder_channels=ENC_CHANNELS, hidden_channels=8,
                              residual_channels=4, embed_channels=8, out_channels=12,
                              use_true_landmarks_in_training=True).eval()
    forced.load_state_dict(branch.state_dict())
    full = context(training_fields=True)
    full.x, full.residual_hat, full.encoder_features = bare.x, bare.residual_hat, \
        bare.encoder_features
    assert torch.allclose(forced(full), out)


@pytest.mark.parametrize("source", ["encoder", "residual", "both"])
def test_landmark_residual_sources(source):
    branch = LandmarkResidual(in_channels=1, encoder_channels=ENC_CHANNELS, source=source,
                              hidden_channels=8, residual_channels=4, out_channels=6)
    assert branch(context()).shape == (3, 6)
    if source == "residual":
        assert not hasattr(branch, "encoder_proj")
    with pytest.raises(ValueError, match="encoder_channels"):
        LandmarkResidual(in_channels=1, source="encoder")


def test_landmark_loss_counts_only_faces_with_landmarks():
    branch = LandmarkResidual(in_channels=1, encoder_channels=ENC_CHANNELS, hidden_channels=8,
                              residual_channels=4, out_channels=6)
    mask = torch.tensor([True, False, False])
    ctx = context(landmark_mask=mask)
    feats = branch(ctx)
    pred = branch.predict_displacement(ctx)
    target, valid = LandmarkResidual.true_displacement(ctx)
    assert valid.tolist() == [True, False, False]
    loss = branch.loss(ctx, feats)["loss_landmark"]
    assert torch.allclose(loss, (pred[0] - target[0]).abs().mean())
    # no landmarks at all: a zero that still back-propagates
    ctx.landmark_mask = torch.zeros(3, dtype=torch.bool)
    empty = branch.loss(ctx, feats)["loss_landmark"]
    assert empty.item() == 0.0 and empty.requires_grad
    empty.backward()


def test_landmark_regressor_learns_the_displacement():
    torch.manual_seed(0)
    branch = LandmarkResidual(in_channels=1, encoder_channels=ENC_CHANNELS, source="residual",
                              hidden_channels=32, residual_channels=8, out_channels=4)
    ctx = context(batch=4)
    opt = torch.optim.Adam(branch.parameters(), lr=3e-3)
    first = None
    for _ in range(60):
        loss = branch.loss(ctx, None)["loss_landmark"]
        first = loss.item() if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.3 * first


def test_teacher_forcing_embeds_the_true_displacement_in_training():
    branch = LandmarkResidual(in_channels=1, encoder_channels=ENC_CHANNELS, hidden_channels=8,
                              residual_channels=4, out_channels=6,
                              use_true_landmarks_in_training=True).train()
    ctx = context(landmark_mask=torch.tensor([True, False, True]))
    target, _ = LandmarkResidual.true_displacement(ctx)
    pred = branch.predict_displacement(ctx)
    feats = branch(ctx)
    assert torch.allclose(feats[0], branch.embed(target[0].flatten()))
    assert torch.allclose(feats[1], branch.embed(pred[1].flatten()), atol=1e-6)


class ThirdPartyResidual(BaseResidual):
    """What a plugin writes: only the documented interface."""

    needs_at_inference = ()

    def __init__(self, in_channels, encoder_channels, out_channels=5):
        super().__init__()
        self.out_channels = out_channels
        self.seen = (in_channels, list(encoder_channels))
        self.proj = nn.Linear(in_channels + encoder_channels[-1], out_channels)

    def forward(self, ctx):
        pooled = [ctx.residual_hat.abs().mean(dim=(2, 3)), ctx.encoder_features[-1].mean((2, 3))]
        return self.proj(torch.cat(pooled, dim=1))

    def loss(self, ctx, feats):
        return {"loss_third_party": feats.pow(2).mean()}


@pytest.fixture
def third_party_registered():
    RESIDUALS.register_module(module=ThirdPartyResidual, force=True)
    yield
    RESIDUALS.unregister("ThirdPartyResidual")


def build_args():
    return dict(in_channels=1, encoder_channels=ENC_CHANNELS, encoder_reductions=[2, 4],
                num_segments=3, segment_dim=4, num_classes=3)


def test_build_residual_fills_in_build_arguments(third_party_registered):
    branch = build_residual(dict(type="ThirdPartyResidual"), build_args())
    assert branch.seen == (1, ENC_CHANNELS)
    explicit = build_residual(dict(type="ThirdPartyResidual", in_channels=1,
                                   encoder_channels=[3, 16]), build_args())
    assert explicit.seen == (1, [3, 16])


def test_recognizer_fuses_branches_and_collects_their_losses(third_party_registered):
    rec = ResidualRecognizer(
        [dict(type="ThirdPartyResidual"), dict(type="PixelResidual", feat_channels=4,
                                                num_stages=1)],
        dict(type="LinearHead"), num_classes=3, build_args=build_args())
    assert rec.in_channels == 5 + 8 + 3
    ctx = context()
    out = rec(ctx)
    assert out["logits"].shape == (3, 3) and out["features"].shape == (3, 16)
    losses = rec.branch_losses(ctx, out["branch_features"])
    assert set(losses) == {"loss_third_party"}


def test_non_residual_modules_and_bad_loss_names_are_rejected(third_party_registered):
    RESIDUALS.register_module(name="NotAResidual", module=nn.Identity, force=True)
    try:
        with pytest.raises(TypeError, match="BaseResidual"):
            build_residual(dict(type="NotAResidual"), build_args())
    finally:
        RESIDUALS.unregister("NotAResidual")

    class BadName(ThirdPartyResidual):
        def loss(self, ctx, feats):
            return {"landmark": feats.sum()}

    rec = ResidualRecognizer([dict(type=BadName)], dict(type="LinearHead"), 3, build_args())
    ctx = context()
    with pytest.raises(ValueError, match="loss_"):
        rec.branch_losses(ctx, rec(ctx)["branch_features"])


def test_unknown_inference_fields_are_rejected():
    class NeedsMagic(ThirdPartyResidual):
        needs_at_inference = ("magic",)

    with pytest.raises(ValueError, match="magic"):
        build_residual(dict(type=NeedsMagic), build_args())
