"""Fixtures of the model tests: tiny ERR-Net configs, dataloader batches, optimizers."""

from typing import Callable

import pytest
import torch
from mmengine.optim import OptimWrapper, OptimWrapperDict

from errkit.models.errnet import DISCRIMINATOR, GENERATOR, ERRNet
from errkit.structures import FERDataSample

#: Side of the test images.
SIZE = 32


@pytest.fixture
def tiny_errnet_cfg() -> Callable[..., dict]:
    """``make(**overrides)``: a tiny ERR-Net config (test_resnet encoder, 3 classes)."""
    def make(**overrides) -> dict:
        cfg = dict(
            encoder=dict(type="TimmEncoder", model_name="test_resnet", in_channels=1),
            latent=dict(type="SegmentLatent", segment_dim=4),
            decoder=dict(type="UNetResidualDecoder", base_channels=8),
            discriminator=dict(type="PatchDiscriminator", base_channels=8, num_layers=2),
            residuals=[dict(type="PixelResidual", feat_channels=8, num_stages=2),
                       dict(type="LandmarkResidual", hidden_channels=16, residual_channels=4,
                            embed_channels=16, out_channels=16)],
            num_classes=3)
        cfg.update(overrides)
        return cfg
    return make


@pytest.fixture
def tiny_errnet(tiny_errnet_cfg) -> Callable[..., ERRNet]:
    """``make(**overrides)``: a tiny :class:`ERRNet`."""
    return lambda **overrides: ERRNet(**tiny_errnet_cfg(**overrides))


@pytest.fixture
def fer_batch() -> Callable[..., dict]:
    """``make(batch=4, num_classes=3, neutral=True, landmarks=True, seed=0)``: a
    dataloader batch as PackFERInputs and pseudo_collate produce it."""
    def make(batch=4, num_classes=3, neutral=True, landmarks=True, seed=0) -> dict:
        g = torch.Generator().manual_seed(seed)
        imgs = [torch.randint(0, 256, (1, SIZE, SIZE), generator=g, dtype=torch.uint8)
                for _ in range(batch)]
        neutrals = [torch.randint(0, 256, (1, SIZE, SIZE), generator=g, dtype=torch.uint8)
                    for _ in range(batch)]
        base = torch.rand(68, 2, generator=g) * 16 + 8
        base[36:42] = torch.tensor([10.0, 12.0])
        base[42:48] = torch.tensor([22.0, 12.0])
        lms = [base + torch.randn(68, 2, generator=g) for _ in range(batch)]
        samples = [FERDataSample(metainfo=dict(has_neutral=neutral, has_landmarks=landmarks))
                   .set_gt_label(i % num_classes) for i in range(batch)]
        return dict(inputs=dict(img=imgs, neutral=neutrals, landmarks=lms,
                                neutral_landmarks=[base.clone() for _ in range(batch)]),
                    data_samples=samples)
    return make


@pytest.fixture
def errnet_wrappers() -> Callable[..., OptimWrapperDict]:
    """``make(model, lr=1e-3)``: ERR-Net's optimizer wrappers (Adam, pix2pix betas)."""
    def make(model, lr=1e-3, cls=OptimWrapper, **kwargs) -> OptimWrapperDict:
        parts = {GENERATOR: [*model.generator.parameters(), *model.recognizer.parameters()]}
        if model.discriminator is not None:
            parts[DISCRIMINATOR] = list(model.discriminator.parameters())
        return OptimWrapperDict(**{
            k: cls(optimizer=torch.optim.Adam(params, lr=lr, betas=(0.5, 0.999)), **kwargs)
            for k, params in parts.items()})
    return make
