"""The face's own landmarks and the given-neutral mode: residual branch, ERR-Net, metric."""

import pytest
import torch

from errkit.evaluation.metrics import ExpressionMetric
from errkit.landmarks.mean_shape import canonical_landmarks
from errkit.models.neutral_modes import check_neutral_cfgs
from errkit.models.residuals import (DetectedLandmarkResidual, PixelResidual, ResidualContext,
                                     normalise_shape)
from errkit.models.residual_recognizer import ResidualRecognizer
from tests.helpers import build_tiny_errnet, errnet_optim_wrappers, make_fer_batch

SIZE = 32
TEMPLATE = torch.as_tensor(canonical_landmarks(SIZE))


def shapes(batch, seed=0, smile=0.0):
    """Face shapes around the canonical one; ``smile`` lifts the mouth corners."""
    g = torch.Generator().manual_seed(seed)
    pts = TEMPLATE[None].repeat(batch, 1, 1) + torch.randn(batch, 68, 2, generator=g) * 0.2
    pts[:, [48, 54], 1] -= smile
    return pts


def context(batch=4, **fields):
    return ResidualContext(x=torch.zeros(batch, 1, SIZE, SIZE), **fields)


def test_normalised_shape_ignores_position_and_scale():
    pts = shapes(2)
    moved = pts * 1.7 + torch.tensor([5.0, -3.0])
    a, valid_a = normalise_shape(pts)
    b, valid_b = normalise_shape(moved)
    assert torch.allclose(a, b, atol=1e-5) and valid_a.all() and valid_b.all()
    _, valid = normalise_shape(torch.zeros(1, 68, 2))  # missing landmarks are zeros
    assert not valid.any()


def test_branch_needs_the_faces_landmarks_and_zeroes_faces_without():
    branch = DetectedLandmarkResidual(out_channels=8).eval()
    assert branch.needs_at_inference == ("landmarks",)
    with pytest.raises(ValueError, match="detector"):
        branch(context())
    mask = torch.tensor([True, False, True, True])
    feats = branch(context(landmarks=shapes(4), face_landmark_mask=mask))
    assert feats.shape == (4, 8)
    assert torch.count_nonzero(feats[1]) == 0 and torch.count_nonzero(feats[0]) > 0


def test_given_neutral_replaces_the_predicted_neutral_shape():
    """With the face's own shape as its given neutral the residual is zero, so the
    features equal those of a face whose predicted neutral is itself (the regressor
    starts at 'no expression')."""
    torch.manual_seed(0)
    branch = DetectedLandmarkResidual(out_channels=8).eval()
    smiling = shapes(4, smile=2.0)
    plain = branch(context(landmarks=smiling))
    same = branch(context(landmarks=smiling, neutral_landmarks=smiling.clone(),
                          given_neutral_mask=torch.ones(4, dtype=torch.bool)))
    assert torch.allclose(plain, same, atol=1e-5)
    given = branch(context(landmarks=smiling, neutral_landmarks=shapes(4),
                           given_neutral_mask=torch.tensor([True, True, False, False])))
    assert not torch.allclose(given[:2], plain[:2])
    assert torch.allclose(given[2:], plain[2:], atol=1e-5)


def test_neutral_shape_regressor_learns_expression_removal():
    """Supervised by true neutral shapes, the regressor removes a smile from shapes."""
    torch.manual_seed(0)
    branch = DetectedLandmarkResidual(out_channels=8, hidden_channels=64).train()
    optimizer = torch.optim.Adam(branch.parameters(), lr=3e-3)
    neutral = shapes(16, seed=1)
    smiling = neutral.clone()
    smiling[:, [48, 54], 1] -= 2.0
    ctx = context(16, landmarks=smiling, neutral_landmarks=neutral,
                  landmark_mask=torch.ones(16, dtype=torch.bool))
    first = branch.loss(ctx, None)["loss_landmark"].item()
    for _ in range(150):
        optimizer.zero_grad()
        branch.loss(ctx, None)["loss_landmark"].backward()
        optimizer.step()
    assert branch.loss(ctx, None)["loss_landmark"].item() < 0.2 * first
    none = context(16, landmarks=smiling, neutral_landmarks=neutral,
                   landmark_mask=torch.zeros(16, dtype=torch.bool))
    term = branch.loss(none, None)["loss_landmark"]
    assert term.item() == 0.0 and term.requires_grad


def test_pixel_residual_reads_the_given_neutral():
    x = torch.rand(2, 1, SIZE, SIZE)
    given = torch.rand(2, 1, SIZE, SIZE)
    generated = torch.zeros(2, 1, SIZE, SIZE)
    ctx = ResidualContext(x=x, residual_hat=generated, neutral=given,
                          given_neutral_mask=torch.tensor([True, False]))
    assert torch.equal(ctx.recognition_residual[0], x[0] - given[0])
    assert torch.equal(ctx.recognition_residual[1], generated[1])
    branch = PixelResidual(in_channels=1, feat_channels=4, num_stages=2)
    assert branch(ctx).shape == (2, branch.out_channels)


def test_branch_fusion_norm_normalises_each_source():
    build = dict(in_channels=1, encoder_channels=[8, 16], encoder_reductions=[2, 4],
                 num_segments=3, segment_dim=4, num_classes=3)
    rec = ResidualRecognizer([dict(type="PixelResidual", feat_channels=4, num_stages=2)],
                             dict(type="LinearHead"), 3, build, fusion_norm="branch",
                             use_encoder_features_in_head=True)
    assert len(rec.branch_norms) == 3  # pixel branch, segments, encoder features
    ctx = ResidualContext(x=torch.zeros(2, 1, SIZE, SIZE), residual_hat=torch.randn(2, 1, 32, 32),
                          activations=torch.randn(2, 3) * 100,
                          encoder_features=[torch.randn(2, 8, 16, 16), torch.randn(2, 16, 8, 8)])
    fused = rec.fuse(ctx, [rec.residuals[0](ctx)])
    seg = fused[:, rec.residuals[0].out_channels:][:, :3]
    assert torch.allclose(seg.mean(dim=1), torch.zeros(2), atol=1e-5)  # scale 100 removed
    with pytest.raises(ValueError, match="fusion_norm"):
        ResidualRecognizer([], dict(type="LinearHead"), 3, build, fusion_norm="every")


def test_neutral_cfgs_are_checked():
    assert check_neutral_cfgs(None, None) == ({"neutral": "generated"},
                                              {"neutral": "generated", "extra_modes": ()})
    with pytest.raises(ValueError, match="train_cfg.neutral"):
        check_neutral_cfgs(dict(neutral="mean"), None)
    with pytest.raises(ValueError, match="unknown test_cfg keys"):
        check_neutral_cfgs(None, dict(mode="given"))
    with pytest.raises(ValueError, match="extra_modes"):
        check_neutral_cfgs(None, dict(neutral="given", extra_modes=("given",)))


def landmark_model(**overrides):
    """A tiny ERR-Net whose landmark branch reads the face's points."""
    return build_tiny_errnet(**dict(dict(
        residuals=[dict(type="PixelResidual", feat_channels=8, num_stages=2),
                   dict(type="DetectedLandmarkResidual", hidden_channels=16,
                        embed_channels=16, out_channels=16)],
        use_encoder_features_in_head=True, fusion_norm="branch"), **overrides))


def test_errnet_predicts_in_both_modes_and_the_metric_reports_them():
    torch.manual_seed(0)
    model = landmark_model(test_cfg=dict(neutral="generated", extra_modes=("given",)))
    model.train_step(make_fer_batch(), errnet_optim_wrappers(model))  # BatchNorm statistics
    model.eval()
    batch = make_fer_batch(seed=1)
    batch["data_samples"][3].set_metainfo(dict(has_neutral=False))
    data = model.data_preprocessor(batch, False)
    samples = model.predict(data["inputs"], data["data_samples"])
    assert all("given_neutral_pred_score" in s for s in samples)
    assert [s.neutral_mode for s in samples] == ["generated"] * 4
    # the given-neutral mode changes the predictions of faces that have a neutral only
    given = [s.given_neutral_pred_score for s in samples]
    generated = [s.pred_score for s in samples]
    assert torch.allclose(given[3], generated[3])
    assert not torch.allclose(given[0], generated[0])
    metric = ExpressionMetric()
    metric.dataset_meta = dict(classes=("a", "b", "c"))
    metric.process(None, [s.to_dict() for s in samples])
    result = metric.evaluate(4)
    assert result["expr/given_neutral/count"] == 4
    assert 0.0 <= result["expr/given_neutral/accuracy"] <= 1.0


def test_errnet_trains_and_tests_in_given_neutral_mode():
    torch.manual_seed(0)
    model = landmark_model(train_cfg=dict(neutral="given"), test_cfg=dict(neutral="given"))
    optim = errnet_optim_wrappers(model)
    for _ in range(2):
        logs = model.train_step(make_fer_batch(), optim)
    assert "loss_landmark" in logs and torch.isfinite(logs["loss"])
    model.eval()
    data = model.data_preprocessor(make_fer_batch(seed=1), False)
    samples = model.predict(data["inputs"], data["data_samples"])
    assert [s.neutral_mode for s in samples] == ["given"] * 4
    # infer() with a given neutral equals predict() in given mode
    inputs = data["inputs"]
    out = model.infer(inputs["img"], landmarks=inputs["landmarks"], neutral=inputs["neutral"],
                      neutral_landmarks=inputs["neutral_landmarks"])
    assert torch.allclose(out["probs"], torch.stack([s.pred_score for s in samples]),
                          atol=1e-5)
    with pytest.raises(ValueError, match="68 landmarks"):
        model.infer(inputs["img"])  # the landmark branch needs the face's own points


def test_landmark_residual_needs_no_decoder():
    """Without removal the face's own landmarks still feed the head; branches that read
    the residual image still need the decoder."""
    model = build_tiny_errnet(decoder=None, discriminator=None,
                              residuals=[dict(type="DetectedLandmarkResidual", out_channels=8)])
    logs = model.train_step(make_fer_batch(), errnet_optim_wrappers(model))
    assert "loss_landmark" in logs and "loss_l1" not in logs
    with pytest.raises(ValueError, match=r"PixelResidual'.*\] read the generated residual"):
        build_tiny_errnet(decoder=None, discriminator=None)
