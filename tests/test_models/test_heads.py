"""Tests of errkit.models.heads."""

import pytest
import torch
import torch.nn.functional as F

from errkit.models.heads import CosineMarginHead, LinearHead, MLPHead
from errkit.registry import HEADS


@pytest.mark.parametrize("cls,kwargs", [
    (LinearHead, dict(dropout=0.2)),
    (MLPHead, dict(hidden_channels=8, dropout=0.1)),
    (CosineMarginHead, dict(scale=8.0, margin=0.3)),
])
def test_head_shapes(cls, kwargs):
    head = cls(12, 5, **kwargs)
    feats, labels = torch.randn(4, 12), torch.tensor([0, 1, 4, 2])
    assert head(feats).shape == (4, 5)
    assert head(feats, labels).shape == (4, 5)
    assert head(feats.view(4, 3, 4)).shape == (4, 5)  # flattened
    with pytest.raises(ValueError, match=r"\(B, 12\)"):
        head(torch.randn(4, 11))


def test_linear_head_is_affine_in_eval():
    head = LinearHead(3, 2, dropout=0.5).eval()
    feats = torch.randn(5, 3)
    torch.testing.assert_close(head(feats), feats @ head.fc.weight.T + head.fc.bias)


def test_mlp_head_gradients():
    head = MLPHead(6, 3, hidden_channels=4)
    F.cross_entropy(head(torch.randn(8, 6)), torch.randint(0, 3, (8,))).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in head.parameters())


def test_cosine_margin_applies_only_in_training_with_labels():
    torch.manual_seed(0)
    head = CosineMarginHead(6, 4, scale=16.0, margin=0.2)
    feats, labels = torch.randn(3, 6), torch.tensor([2, 0, 3])
    cos = F.normalize(feats, dim=1) @ F.normalize(head.weight, dim=1).T
    expected_train = 16.0 * (cos - 0.2 * F.one_hot(labels, 4))
    torch.testing.assert_close(head.train()(feats, labels), expected_train)
    torch.testing.assert_close(head.train()(feats), 16.0 * cos)
    torch.testing.assert_close(head.eval()(feats, labels), 16.0 * cos)
    # the margin lowers exactly the true class's logit by scale * margin
    diff = head.eval()(feats) - head.train()(feats, labels)
    torch.testing.assert_close(diff, 16.0 * 0.2 * F.one_hot(labels, 4).float())
    # soft labels subtract margin * labels
    soft = torch.full((3, 4), 0.25)
    torch.testing.assert_close(head.train()(feats, soft), 16.0 * (cos - 0.05))


def test_cosine_logits_are_scale_invariant_and_bounded():
    head = CosineMarginHead(5, 3, scale=10.0).eval()
    feats = torch.randn(6, 5)
    torch.testing.assert_close(head(feats), head(feats * 7.5))
    assert head(feats).abs().max() <= 10.0 + 1e-5
    # a feature aligned with a class weight scores exactly `scale` for it
    aligned = head.weight.detach()[1:2] * 3.0
    assert head(aligned)[0, 1].item() == pytest.approx(10.0, abs=1e-4)


def test_cosine_margin_rejects_bad_labels():
    head = CosineMarginHead(5, 3)
    with pytest.raises(ValueError, match="labels"):
        head(torch.randn(2, 5), torch.zeros(2, 4))


@pytest.mark.parametrize("cfg,cls", [
    (dict(type="LinearHead", in_channels=4, num_classes=3), LinearHead),
    (dict(type="MLPHead", in_channels=4, num_classes=3, hidden_channels=8), MLPHead),
    (dict(type="CosineMarginHead", in_channels=4, num_classes=3), CosineMarginHead),
])
def test_heads_build_through_the_registry(cfg, cls):
    head = HEADS.build(cfg)
    assert isinstance(head, cls) and head(torch.randn(2, 4)).shape == (2, 3)
