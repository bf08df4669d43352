"""The timm baseline classifier: its classification term comes from LOSSES."""

import pytest
import torch

from errkit.registry import MODELS
from errkit.structures import FERDataSample


def _batch(num_classes=3, batch=4):
    g = torch.Generator().manual_seed(0)
    imgs = [torch.randint(0, 256, (1, 32, 32), generator=g, dtype=torch.uint8)
            for _ in range(batch)]
    samples = [FERDataSample().set_gt_label(i % num_classes) for i in range(batch)]
    return dict(inputs=dict(img=imgs), data_samples=samples)


def test_timm_classifier_builds_its_registered_loss():
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type="TimmClassifier", model_name="test_resnet", num_classes=3, in_channels=1,
        loss=dict(type="CrossEntropyLoss", label_smoothing=0.1, loss_weight=0.5)))
    assert type(model.loss_module).__name__ == "CrossEntropyLoss"
    data = model.data_preprocessor(_batch(), True)
    losses = model(data["inputs"], data["data_samples"], mode="loss")
    logits = model(data["inputs"], mode="tensor").float()
    labels = torch.tensor([0, 1, 2, 0])
    expected = 0.5 * torch.nn.functional.cross_entropy(logits, labels, label_smoothing=0.1)
    assert torch.allclose(losses["loss_cls"], expected)
    default = MODELS.build(dict(type="TimmClassifier", model_name="test_resnet", num_classes=3,
                                in_channels=1))
    assert default.loss_module.loss_weight == 1.0 and default.loss_module.label_smoothing == 0.0


def test_timm_classifier_refuses_a_negative_loss_weight():
    with pytest.raises(ValueError, match=r"model\.loss\.loss_weight must be >= 0"):
        MODELS.build(dict(type="TimmClassifier", model_name="test_resnet", num_classes=3,
                          in_channels=1, loss=dict(type="CrossEntropyLoss", loss_weight=-2.0)))
