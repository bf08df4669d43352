"""ERR-Net: modes, optimizer steps, gradient flow, overfitting, AMP, configs."""

import copy
from contextlib import contextmanager

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import OptimWrapper, OptimWrapperDict

from errkit.models.errnet import DISCRIMINATOR, GENERATOR
from errkit.registry import MODELS
from errkit.structures import FERDataSample
from tests.helpers import (FER_BATCH_SIDE, REPO_ROOT, build_tiny_errnet, errnet_optim_wrappers,
                           make_fer_batch)

CONFIG_DIR = REPO_ROOT / "configs"
SIZE = FER_BATCH_SIDE  # the side of make_fer_batch's faces


PARTS = ("generator", "recognizer", "discriminator")


def snapshot(module):
    return {n: p.detach().clone() for n, p in module.named_parameters()}


def changed(module, before):
    return {n for n, p in module.named_parameters() if not torch.equal(p, before[n])}


def test_forward_modes():
    torch.manual_seed(0)
    model = build_tiny_errnet().eval()
    data = model.data_preprocessor(make_fer_batch(), False)
    out = model(data["inputs"], mode="tensor")
    assert out["logits"].shape == (4, 3)
    assert out["neutral"].shape == out["residual"].shape == (4, 1, SIZE, SIZE)
    assert out["activations"].shape == (4, 3) and out["z"].shape == (4, 3, 4)
    assert torch.allclose(out["neutral"], data["inputs"]["img"] - out["residual"])

    losses = model(data["inputs"], data["data_samples"], mode="loss")
    assert {"loss_l1", "loss_gan", "loss_cls", "loss_segment", "loss_landmark", "acc",
            "seg_acc"} <= set(losses)

    preds = model.val_step(make_fer_batch())
    assert len(preds) == 4
    for s in preds:
        assert s.pred_score.shape == (3,) and torch.isclose(s.pred_score.sum(), torch.tensor(1.))
        assert s.pred_label.shape == (1,)
        assert s.pred_neutral.shape == s.pred_residual.shape == s.input_img.shape \
            == s.gt_neutral.shape == (1, SIZE, SIZE)
        assert s.pred_neutral.abs().max() <= 1.0
        assert s.segment_activations.shape == (3,)
    no_neutral = model.test_step(make_fer_batch(neutral=False))
    assert "gt_neutral" not in no_neutral[0] and "pred_neutral" in no_neutral[0]


def test_infer_needs_only_the_image():
    model = build_tiny_errnet().eval()
    out = model.infer(torch.rand(2, 1, SIZE, SIZE) * 2 - 1)
    assert set(out) == {"logits", "probs", "activations", "neutral", "residual"}
    assert out["probs"].shape == (2, 3) and not out["probs"].requires_grad
    with pytest.raises(ValueError, match=r"\(B, 1, H, W\)"):
        model.infer(torch.zeros(2, 3, SIZE, SIZE))


def test_gradients_reach_every_trainable_part():
    torch.manual_seed(0)
    model = build_tiny_errnet().train()
    data = model.data_preprocessor(make_fer_batch(), True)
    labels = model._labels(data["data_samples"], torch.device("cpu"))
    outputs = model._remove_and_recognize(data["inputs"], labels)
    losses = model._gen_loss(data["inputs"], outputs, labels)
    sum(v for k, v in losses.items() if k.startswith("loss_")).backward()
    for name, param in [*model.generator.named_parameters(),
                        *model.recognizer.named_parameters()]:
        assert param.grad is not None, name
    parts = dict(encoder=model.generator.encoder, latent=model.generator.latent,
                 decoder=model.generator.decoder, head=model.recognizer.head,
                 pixel=model.recognizer.residuals[0], landmark=model.recognizer.residuals[1],
                 discriminator=model.discriminator)
    for name, part in parts.items():
        assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in part.parameters()), name


def test_discriminator_step_moves_only_the_discriminator():
    torch.manual_seed(0)
    model = build_tiny_errnet(disc_steps=2).train()
    optim = errnet_optim_wrappers(model)
    before = {k: snapshot(getattr(model, k)) for k in PARTS}
    log = model.train_step(make_fer_batch(), optim)  # iteration 0 of 2: discriminator only
    assert {"loss_disc_real", "loss_disc_fake", "loss_disc"} <= set(log)
    assert "loss_cls" not in log
    assert changed(model.discriminator, before["discriminator"])
    assert not changed(model.generator, before["generator"])
    assert not changed(model.recognizer, before["recognizer"])
    log = model.train_step(make_fer_batch(seed=1), optim)  # iteration 1: both
    assert "loss_cls" in log and model.train_iter == 2
    assert changed(model.generator, before["generator"])


def test_generator_step_moves_only_generator_and_recognizer():
    torch.manual_seed(0)
    model = build_tiny_errnet().train()
    optim = errnet_optim_wrappers(model)
    before = {k: snapshot(getattr(model, k)) for k in PARTS}
    # no true neutral in the batch: no discriminator step, but loss_gan still
    # back-propagates through the discriminator into the generator
    log = model.train_step(make_fer_batch(neutral=False), optim)
    assert "loss_gan" in log and "loss_disc" not in log and "loss_l1" in log
    assert log["loss_l1"] == 0
    assert not changed(model.discriminator, before["discriminator"])
    assert all(p.grad is None or p.grad.abs().sum() == 0
               for p in model.discriminator.parameters())
    assert all(p.requires_grad for p in model.discriminator.parameters())
    gen_changed = changed(model.generator, before["generator"])
    assert any(n.startswith("encoder.") for n in gen_changed)
    assert any(n.startswith("decoder.") for n in gen_changed)
    assert changed(model.recognizer, before["recognizer"])


def test_log_values_follow_parse_losses():
    model = build_tiny_errnet().train()
    log = model.train_step(make_fer_batch(), errnet_optim_wrappers(model))
    assert all(not v.requires_grad and v.dim() == 0 for v in log.values())
    terms = [v for k, v in log.items() if k.startswith("loss_") and "disc" not in k]
    assert torch.isclose(log["loss"], sum(terms))
    assert torch.isclose(log["loss_disc"], log["loss_disc_real"] + log["loss_disc_fake"])
    assert 0.0 <= float(log["acc"]) <= 1.0


def test_gradient_accumulation_is_respected_per_wrapper():
    model = build_tiny_errnet(discriminator=None).train()
    optim = errnet_optim_wrappers(model, accumulative_counts=2)
    before = snapshot(model.recognizer)
    model.train_step(make_fer_batch(), optim)
    assert not changed(model.recognizer, before)
    model.train_step(make_fer_batch(seed=1), optim)
    assert changed(model.recognizer, before)


def test_missing_optimizer_key_is_a_clear_error():
    model = build_tiny_errnet()
    optim = errnet_optim_wrappers(model)
    partial = OptimWrapperDict(**{GENERATOR: optim[GENERATOR]})
    with pytest.raises(KeyError, match=r"has keys \['generator'\], expected \['generator', "
                                       r"'discriminator'\]"):
        model.train_step(make_fer_batch(), partial)
    with pytest.raises(TypeError, match="MultiOptimWrapperConstructor"):
        model.train_step(make_fer_batch(), optim[GENERATOR])
    # an extra key (a separate recognizer wrapper) would leave a wrapper unused
    extra = OptimWrapperDict(**dict(optim.items()), recognizer=optim[GENERATOR])
    with pytest.raises(KeyError, match="recognizer"):
        model.train_step(make_fer_batch(), extra)


def test_generator_wrapper_must_update_the_recognizer():
    model = build_tiny_errnet()
    optim = OptimWrapperDict(
        generator=OptimWrapper(optimizer=torch.optim.Adam(model.generator.parameters())),
        discriminator=OptimWrapper(optimizer=torch.optim.Adam(model.discriminator.parameters())))
    with pytest.raises(ValueError, match=r"optim_wrapper\['generator'\] does not update the "
                                         r"recognizer; give it modules=\('generator', "
                                         r"'recognizer'\)"):
        model.train_step(make_fer_batch(), optim)


class CPUBf16OptimWrapper(OptimWrapper):
    """An OptimWrapper whose context is CPU bfloat16 autocast (AmpOptimWrapper needs CUDA)."""

    @contextmanager
    def optim_context(self, model):
        with super().optim_context(model), torch.autocast("cpu", dtype=torch.bfloat16):
            yield


def test_train_step_under_bf16_autocast():
    torch.manual_seed(0)
    model = build_tiny_errnet().train()
    optim = errnet_optim_wrappers(model, cls=CPUBf16OptimWrapper)
    before = snapshot(model.generator)
    log = model.train_step(make_fer_batch(), optim)
    assert all(torch.isfinite(v) for v in log.values())
    assert changed(model.generator, before)
    assert all(p.dtype == torch.float32 for p in model.parameters())


def test_plain_and_l1_only_variants():
    plain = build_tiny_errnet(decoder=None, discriminator=None, residuals=[],
                       use_segments_in_head=False, use_encoder_features_in_head=True,
                       losses=dict(segment=None))
    log = plain.train_step(make_fer_batch(), errnet_optim_wrappers(plain))
    assert set(k for k in log if k.startswith("loss_")) == {"loss_cls"}
    sample = plain.eval().val_step(make_fer_batch())[0]
    assert "pred_neutral" not in sample and "pred_score" in sample
    l1_only = build_tiny_errnet(discriminator=None)
    log = l1_only.train_step(make_fer_batch(), errnet_optim_wrappers(l1_only))
    assert "loss_l1" in log and "loss_gan" not in log
    with pytest.raises(ValueError, match="decoder"):
        build_tiny_errnet(decoder=None)
    with pytest.raises(KeyError, match="perceptal"):
        build_tiny_errnet(losses=dict(perceptal=None))


def test_step_counter_is_saved_in_the_state_dict():
    model = build_tiny_errnet(discriminator=None)
    model.train_step(make_fer_batch(), errnet_optim_wrappers(model))
    clone = build_tiny_errnet(discriminator=None)
    clone.load_state_dict(copy.deepcopy(model.state_dict()))
    assert clone.train_iter == 1


def face_set(num_ids=4, size=16, seed=0):
    """Two classes: identity base + a class-specific local pattern (bright low bar or
    dark high bar); the identity base is the true neutral."""
    g = torch.Generator().manual_seed(seed)
    imgs, neutrals, labels = [], [], []
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    blob = torch.exp(-((xx - size / 2) ** 2 + (yy - size / 2) ** 2) / (size * 2.0))
    cols = slice(size // 4, size * 3 // 4)
    for _ in range(num_ids):
        base = (torch.rand(size, size, generator=g) * 0.4 + 0.3 + 0.2 * blob).clamp(0, 1)
        for label in (0, 1):
            face = base.clone()
            if label == 0:
                face[size * 5 // 8:size * 3 // 4, cols] = 1.0
            else:
                face[size // 4:size * 3 // 8, cols] = 0.0
            imgs.append((face * 255).to(torch.uint8)[None])
            neutrals.append((base * 255).to(torch.uint8)[None])
            labels.append(label)
    samples = [FERDataSample(metainfo=dict(has_neutral=True, has_landmarks=False))
               .set_gt_label(lb) for lb in labels]
    return dict(inputs=dict(img=imgs, neutral=neutrals), data_samples=samples)


@pytest.mark.slow
def test_tiny_overfit_reaches_full_training_accuracy():
    torch.manual_seed(0)
    model = build_tiny_errnet(num_classes=2, discriminator=None,
                       residuals=[dict(type="PixelResidual", feat_channels=8, num_stages=2)])
    optim = errnet_optim_wrappers(model.train(), lr=2e-3)
    data = face_set()
    history = []
    for _ in range(15):
        history.append(model.train_step(data, optim))
        if len(history) >= 8 and all(float(h["acc"]) == 1.0 for h in history[-3:]):
            break
    assert all(float(h["acc"]) == 1.0 for h in history[-3:]), [float(h["acc"]) for h in history]
    assert history[-1]["loss_cls"] < 0.5 * history[0]["loss_cls"]
    assert history[-1]["loss_segment"] < 0.5 * history[0]["loss_segment"]
    # the removal loss first rises (the recognition loss shapes the residual), then falls
    l1 = [float(h["loss_l1"]) for h in history]
    assert l1[-1] < max(l1)
    preds = model.eval().val_step(face_set())
    assert all(s.pred_neutral.shape == (1, 16, 16) for s in preds)


def build_from_config(path):
    cfg = Config.fromfile(str(path))
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.encoder.model_name = "test_resnet"
    return cfg, MODELS.build(model_cfg)


@pytest.mark.parametrize("name", [
    "errnet_synthetic.py", "errnet_ckplus.py", "errnet_mmi.py",
    "ablations/errnet_synthetic_plain.py", "ablations/errnet_synthetic_pixel.py",
    "ablations/errnet_synthetic_landmark.py", "ablations/errnet_synthetic_120ids.py",
    "ablations/errnet_synthetic_l1_removal.py", "ablations/errnet_synthetic_adv_removal.py"])
def test_configs_build_the_model_and_its_optimizers(name):
    from errkit.engine.optimizers import MultiOptimWrapperConstructor

    cfg, model = build_from_config(CONFIG_DIR / name)  # a missing config or base fails
    assert cfg.default_scope == "errkit"
    ow_cfg = {k: v for k, v in cfg.optim_wrapper.items() if k != "constructor"}
    assert cfg.optim_wrapper.constructor == "MultiOptimWrapperConstructor"
    optim = MultiOptimWrapperConstructor(ow_cfg)(model)
    expected = {GENERATOR} | ({DISCRIMINATOR} if model.discriminator else set())
    assert set(optim.keys()) == expected
    assert all(type(w).__name__ == "NaNGuardOptimWrapper" for w in optim.values())
    model._check_optim_wrapper(optim)  # the generator's wrapper also holds the recognizer
    if name.endswith("mmi.py"):
        assert model.num_classes == 6
    if "plain" in name:
        assert model.generator.decoder is None and not len(model.recognizer.residuals)


class _UnreadableMask:
    """A device mask that must not be read back: any use raises."""

    def __bool__(self):
        raise AssertionError("the mask was read back")

    def __getattr__(self, name):
        raise AssertionError(f"the mask was used ({name})")


def test_discriminator_faces_are_selected_from_host_flags_without_reading_the_mask():
    torch.manual_seed(0)
    model = build_tiny_errnet()
    data = model.data_preprocessor(make_fer_batch(batch=4), True)
    inputs = data["inputs"]
    fake = torch.rand_like(inputs["img"])
    flags = [True, False, True, True]
    inputs["neutral_mask"] = torch.tensor(flags)
    model.eval()  # spectral norm's power iteration would move between the two calls
    from_mask = model._disc_loss(inputs, fake)
    from_flags = model._disc_loss(inputs, fake, flags)
    for key in ("loss_disc_real", "loss_disc_fake"):
        assert torch.allclose(from_mask[key], from_flags[key])
    # All or none of the faces with a neutral: the device mask is never read.
    inputs["neutral_mask"] = _UnreadableMask()
    whole = model._disc_loss(inputs, fake, [True] * 4)
    assert set(whole) == {"loss_disc_real", "loss_disc_fake"}
    assert model._disc_loss(inputs, fake, [False] * 4) == {}
    # train_step passes the flags from the data samples' meta information.
    assert model._neutral_flags(data["data_samples"]) == [True] * 4


class RecordingOptimWrapper(OptimWrapper):
    """An OptimWrapper that records the losses it updates from."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.losses = []

    def update_params(self, loss, step_kwargs=None, zero_kwargs=None):
        self.losses.append(float(loss.detach()))
        super().update_params(loss, step_kwargs, zero_kwargs)


def test_every_generator_update_is_logged():
    torch.manual_seed(0)
    model = build_tiny_errnet(gen_steps=3).train()
    optim = errnet_optim_wrappers(model, cls=RecordingOptimWrapper)
    log = model.train_step(make_fer_batch(), optim)
    updates = optim[GENERATOR].losses
    assert len(updates) == 3 and len(optim[DISCRIMINATOR].losses) == 1
    assert len(set(updates)) == 3  # each update ran a fresh forward pass
    assert torch.isclose(log["loss"], torch.tensor(sum(updates) / 3))
    assert torch.isclose(log["loss_disc"], torch.tensor(optim[DISCRIMINATOR].losses[0]))


def test_loss_weights_live_in_the_loss_configs():
    torch.manual_seed(0)
    model = build_tiny_errnet(losses=dict(l1=dict(type="MaskedL1Loss", loss_weight=2.5),
                                   segment=dict(type="SegmentLoss", loss_weight=0.0)))
    data = model.data_preprocessor(make_fer_batch(), True)
    inputs = data["inputs"]
    labels = model._labels(data["data_samples"], torch.device("cpu"))
    outputs = model._remove_and_recognize(inputs, labels)
    losses = model._gen_loss(inputs, outputs, labels)
    unweighted = MODELS.build(dict(type="MaskedL1Loss"))(
        outputs["neutral"].float(), inputs["neutral"], inputs["neutral_mask"])
    assert torch.allclose(losses["loss_l1"], 2.5 * unweighted)  # weighted once, by the loss
    assert "loss_segment" not in losses  # weight 0 drops the term
    assert "loss_landmark" in losses  # the branch weights its own term
    with pytest.raises(ValueError, match=r"^model\.losses\.l1\.loss_weight must be >= 0, got "
                                         r"-1\.0 \(0 drops the term\)$"):
        build_tiny_errnet(losses=dict(l1=dict(type="MaskedL1Loss", loss_weight=-1.0)))
    with pytest.raises(ValueError, match="a discriminator needs losses.gan_loss"):
        build_tiny_errnet(losses=dict(gan_loss=None))
    with pytest.raises(TypeError, match="loss_weights"):  # the second dict is gone
        build_tiny_errnet(loss_weights=dict(l1=10.0))
