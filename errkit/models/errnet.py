"""ERR-Net: Expression Removal and Recognition Network with residual image."""

from __future__ import annotations

import logging
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn as nn
from mmengine.logging import print_log
from mmengine.model import BaseModel
from mmengine.optim import OptimWrapper, OptimWrapperDict

from errkit.engine.nan_guard import check_finite, check_nan_policy, current_iteration, skip_update
from errkit.registry import LOSSES, MODELS
from errkit.structures import FERDataSample

from .errnet_generator import ERRNetGenerator, with_defaults
from .residual_recognizer import ResidualRecognizer
from .residuals import ResidualContext

#: Optimizer-wrapper key of the generator (encoder, latent head, decoder).
GENERATOR = "generator"
#: Optimizer-wrapper key of the recognizer (residual branches, fusion, head).
RECOGNIZER = "recognizer"
#: Optimizer-wrapper key of the discriminator.
DISCRIMINATOR = "discriminator"

#: Loss configs used for the keys a config's ``losses`` leaves out.
DEFAULT_LOSSES = dict(
    gan_loss=dict(type="GANLoss", gan_type="lsgan"),
    gradient_penalty=None,
    l1=dict(type="MaskedL1Loss"),
    cls=dict(type="CrossEntropyLoss"),
    segment=dict(type="SegmentLoss", margin=1.0),
    perceptual=None,
)
#: Weights of the generator/recognizer terms used for the keys ``loss_weights`` leaves out.
DEFAULT_LOSS_WEIGHTS = dict(gan=1.0, l1=10.0, cls=1.0, segment=1.0, perceptual=1.0)


def _unwrap(module: nn.Module) -> nn.Module:
    """The module inside a DistributedDataParallel wrapper (mmengine's separate
    DDP wraps each sub-network)."""
    return module.module if isinstance(module, nn.parallel.DistributedDataParallel) else module


def set_requires_grad(module: Optional[nn.Module], flag: bool) -> None:
    """Switch ``requires_grad`` of every parameter of ``module`` (None is ignored)."""
    if module is not None:
        for param in module.parameters():
            param.requires_grad_(flag)


def update_params_jointly(wrappers: Sequence[OptimWrapper], loss: torch.Tensor) -> None:
    """Update several optimizer wrappers from one loss.

    Each wrapper back-propagates ``loss`` (scaled by its own accumulation factor
    and, for :class:`~mmengine.optim.AmpOptimWrapper`, by its own loss scaler)
    into its own parameters only (``backward(inputs=...)``), so every wrapper
    keeps its counters and scaler consistent; then each wrapper whose
    accumulation is complete steps and zeroes its gradients.

    Args:
        wrappers (Sequence[OptimWrapper]): The wrappers, each with its own
            parameters.
        loss (Tensor): The scalar objective.
    """
    for i, wrapper in enumerate(wrappers):
        params = [p for group in wrapper.param_groups for p in group["params"] if p.requires_grad]
        wrapper.backward(wrapper.scale_loss(loss), retain_graph=i < len(wrappers) - 1,
                         inputs=params)
    for wrapper in wrappers:
        if wrapper.should_update():
            wrapper.step()
            wrapper.zero_grad()


@MODELS.register_module()
class ERRNet(BaseModel):
    """ERR-Net: remove the expression with a GAN, recognise it from the residual.

    The generator (:class:`~errkit.models.errnet_generator.ERRNetGenerator`:
    encoder, segmented latent, residual decoder) turns the expressive face ``x``
    into the residual image ``r`` and the same person's neutral face
    ``x - r``; the recognizer
    (:class:`~errkit.models.residual_recognizer.ResidualRecognizer`: residual
    branches and head) classifies the expression from the residuals (pixel,
    landmark, plug-ins) fused with the segment activations; a conditional
    discriminator judges the pairs ``(x, neutral)``. Everything trains end to end.

    Training objective of the generator and recognizer (each term named
    ``loss_<key>`` and multiplied by ``loss_weights[key]``; a weight of 0 or a
    ``None`` loss config drops the term):

    - ``gan``: adversarial term on ``(x, neutral_hat)``, all faces;
    - ``l1``: L1 to the true neutral, faces that have one;
    - ``perceptual``: optional feature distance to the true neutral;
    - ``cls``: cross-entropy of the head's logits;
    - ``segment``: segment loss on the activations;
    - one term per residual branch's :meth:`loss` (e.g. ``landmark``; weight 1
      when absent from ``loss_weights``).

    The discriminator minimises ``loss_disc_real + loss_disc_fake`` (+
    ``loss_disc_gp``) on the faces that have a true neutral.

    Optimizers: an :class:`~mmengine.optim.OptimWrapperDict` with the keys
    :data:`GENERATOR`, :data:`RECOGNIZER` and (with a discriminator)
    :data:`DISCRIMINATOR`, built by ``MultiOptimWrapperConstructor``.

    Args:
        encoder (dict): ``ENCODERS`` config (e.g. ``TimmEncoder``).
        latent (dict): Latent head config (``SegmentLatent``); ``num_segments``
            defaults to ``num_classes``.
        decoder (dict, optional): Residual decoder config
            (``UNetResidualDecoder``). None: no removal (plain classifier).
        discriminator (dict, optional): Discriminator config
            (``PatchDiscriminator``); ``in_channels`` defaults to twice the image
            channels. None: L1-only removal.
        residuals (Sequence[dict]): ``RESIDUALS`` configs. Defaults to ``()``.
        head (dict): ``HEADS`` config. Defaults to ``dict(type='LinearHead')``.
        losses (dict, optional): Loss configs by key (``gan_loss``,
            ``gradient_penalty``, ``l1``, ``cls``, ``segment``, ``perceptual``);
            missing keys take :data:`DEFAULT_LOSSES`, ``None`` disables.
        loss_weights (dict, optional): Term weights by key; missing keys take
            :data:`DEFAULT_LOSS_WEIGHTS`.
        num_classes (int): Number of expression classes. Defaults to 7.
        use_segments_in_head (bool): Fuse the segment activations with the
            residual features before the head. Defaults to True.
        use_encoder_features_in_head (bool): Fuse the pooled deepest encoder
            feature too. Defaults to False.
        fusion_norm (bool): LayerNorm on the fused features. Defaults to True.
        disc_steps (int): Iterations per generator update; the discriminator is
            updated every iteration. Defaults to 1.
        gen_steps (int): Generator/recognizer updates when it is updated.
            Defaults to 1.
        nan_policy (str): What a NaN/Inf loss term does before its update:
            ``'stop'`` raises
            :class:`~errkit.engine.nan_guard.NonFiniteLossError`, ``'skip'``
            skips that update with a warning (counted in
            ``nan_skipped_steps``). Defaults to ``'stop'``.
        data_preprocessor (dict, optional): Defaults to
            ``dict(type='FERDataPreprocessor')``.
        init_cfg (dict, optional): mmengine initialisation config.

    Examples:
        >>> import torch
        >>> model = ERRNet(
        ...     encoder=dict(type='TimmEncoder', model_name='test_resnet', in_channels=1),
        ...     latent=dict(type='SegmentLatent', segment_dim=4),
        ...     decoder=dict(type='UNetResidualDecoder', base_channels=8),
        ...     residuals=[dict(type='PixelResidual', feat_channels=8, num_stages=2)],
        ...     num_classes=3)
        >>> out = model.infer(torch.zeros(2, 1, 32, 32))
        >>> out['probs'].shape, out['neutral'].shape
        (torch.Size([2, 3]), torch.Size([2, 1, 32, 32]))
    """

    def __init__(self, encoder: dict, latent: dict, decoder: Optional[dict] = None,
                 discriminator: Optional[dict] = None, residuals: Sequence[dict] = (),
                 head: Optional[dict] = None, losses: Optional[dict] = None,
                 loss_weights: Optional[dict] = None, num_classes: int = 7,
                 use_segments_in_head: bool = True, use_encoder_features_in_head: bool = False,
                 fusion_norm: bool = True, disc_steps: int = 1, gen_steps: int = 1,
                 nan_policy: str = "stop", data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        if data_preprocessor is None:
            data_preprocessor = dict(type="FERDataPreprocessor")
        if isinstance(data_preprocessor, dict):  # errkit's registry, whatever the default scope
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if disc_steps < 1 or gen_steps < 1:
            raise ValueError(f"ERRNet: disc_steps and gen_steps must be >= 1, got {disc_steps}, "
                             f"{gen_steps}")
        if discriminator is not None and decoder is None:
            raise ValueError("ERRNet: a discriminator needs a decoder (set `decoder`, or "
                             "discriminator=None)")
        self.nan_policy = check_nan_policy(nan_policy, "ERRNet")
        self.nan_skipped_steps = 0
        self.num_classes = num_classes
        self.disc_steps = disc_steps
        self.gen_steps = gen_steps
        self.generator = ERRNetGenerator(encoder, latent, decoder, num_classes)
        gen = self.generator
        build_args = dict(in_channels=gen.in_channels, encoder_channels=gen.encoder_channels,
                          encoder_reductions=gen.encoder_reductions,
                          num_segments=gen.num_segments, segment_dim=gen.segment_dim,
                          num_classes=num_classes)
        self.recognizer = ResidualRecognizer(
            list(residuals), head or dict(type="LinearHead"), num_classes, build_args,
            use_segments_in_head, use_encoder_features_in_head, fusion_norm)
        if gen.decoder is None and len(self.recognizer.residuals):
            raise ValueError("ERRNet: residual branches need a decoder (set `decoder`)")
        self.discriminator = None
        if discriminator is not None:
            self.discriminator = MODELS.build(
                with_defaults(discriminator, in_channels=2 * gen.in_channels))

        unknown = set(losses or {}) - set(DEFAULT_LOSSES)
        if unknown:
            raise KeyError(f"ERRNet: unknown keys {sorted(unknown)} in `losses`; known: "
                           f"{sorted(DEFAULT_LOSSES)}")
        cfgs = {**DEFAULT_LOSSES, **(losses or {})}
        self.loss_modules = nn.ModuleDict(
            {k: LOSSES.build(v) for k, v in cfgs.items() if v is not None})
        if "cls" not in self.loss_modules:
            raise ValueError("ERRNet: losses.cls (the classification loss) cannot be None")
        self.loss_weights = {**DEFAULT_LOSS_WEIGHTS, **(loss_weights or {})}
        self._loss_weights_checked = False
        self.train_iter = 0

    # ------------------------------------------------------------------ state
    def get_extra_state(self) -> torch.Tensor:
        """Keep the training iteration counter in checkpoints (a tensor, so that
        distributed wrappers can broadcast the state dict)."""
        return torch.tensor(self.train_iter, dtype=torch.long)

    def set_extra_state(self, state) -> None:
        """Restore the training iteration counter."""
        if isinstance(state, dict):  # checkpoints written before the counter was a tensor
            state = state.get("train_iter", 0)
        self.train_iter = int(state)

    # ------------------------------------------------------------------ helpers
    def _weight(self, key: str) -> float:
        return float(self.loss_weights.get(key, 1.0))

    def _active(self, key: str) -> bool:
        return key in self.loss_modules and self._weight(key) != 0.0

    @staticmethod
    def _labels(data_samples: Optional[List[FERDataSample]], device) -> Optional[torch.Tensor]:
        if not data_samples or any("gt_label" not in s for s in data_samples):
            return None
        return torch.cat([s.gt_label.reshape(-1) for s in data_samples]).long().to(device)

    def _context(self, inputs: Dict[str, torch.Tensor], gen_out: dict,
                 labels: Optional[torch.Tensor] = None,
                 training_fields: bool = True) -> ResidualContext:
        ctx = ResidualContext(
            x=inputs["img"], neutral_hat=gen_out["neutral"], residual_hat=gen_out["residual"],
            encoder_features=gen_out["features"], z=gen_out["z"],
            activations=gen_out["activations"])
        if training_fields:
            for key in ("neutral", "landmarks", "neutral_landmarks", "neutral_mask",
                        "landmark_mask"):
                setattr(ctx, key, inputs.get(key))
            ctx.labels = labels
        return ctx

    def _run(self, inputs: Dict[str, torch.Tensor], labels: Optional[torch.Tensor] = None,
             training_fields: bool = True) -> dict:
        """Generator then recognizer; returns their outputs and the context."""
        img = inputs["img"]
        in_channels = _unwrap(self.generator).in_channels
        if img.dim() != 4 or img.shape[1] != in_channels:
            raise ValueError(f"ERRNet expects inputs['img'] of shape (B, "
                             f"{in_channels}, H, W), got {tuple(img.shape)}")
        gen_out = self.generator(img)
        ctx = self._context(inputs, gen_out, labels, training_fields)
        rec_out = self.recognizer(ctx, labels if self.training else None)
        return dict(gen_out, **rec_out, ctx=ctx)

    def _check_loss_weights(self, term_keys) -> None:
        if self._loss_weights_checked:
            return
        known = set(DEFAULT_LOSS_WEIGHTS) | set(term_keys)
        unknown = set(self.loss_weights) - known
        if unknown:  # a warning: base configs weight terms that some variants lack
            print_log(f"ERRNet: loss_weights keys {sorted(unknown)} weight no term of this "
                      f"model (its terms: {sorted(known)})", logger="current",
                      level=logging.WARNING)
        self._loss_weights_checked = True

    # ------------------------------------------------------------------ losses
    def _disc_loss(self, inputs: Dict[str, torch.Tensor], fake_neutral: torch.Tensor,
                   has_neutral: Optional[Sequence[bool]] = None) -> Dict[str, torch.Tensor]:
        """The discriminator's terms on faces with a true neutral (empty if none).

        Args:
            inputs (dict): Preprocessed batch (``img``, ``neutral``, ``neutral_mask``).
            fake_neutral (Tensor): Generated neutrals ``(B, C, H, W)`` (detached here).
            has_neutral (Sequence[bool], optional): The same flags as
                ``neutral_mask``, known on the host (from the data samples' meta
                information): the faces are then selected without reading the
                device mask back, so the step does not wait for the device.
                Defaults to None (read the mask).

        Returns:
            dict[str, Tensor]: ``loss_disc_real``, ``loss_disc_fake`` and, with a
            gradient penalty, ``loss_disc_gp``.
        """
        mask = inputs.get("neutral_mask")
        if mask is None or "neutral" not in inputs:
            return {}
        x, real, fake = inputs["img"], inputs["neutral"], fake_neutral.detach()
        if has_neutral is None:
            if not bool(mask.any()):
                return {}
            x, real, fake = x[mask], real[mask], fake[mask]
        elif not any(has_neutral):
            return {}
        elif not all(has_neutral):
            index = torch.tensor([i for i, flag in enumerate(has_neutral) if flag],
                                 dtype=torch.long).to(x.device, non_blocking=True)
            x, real, fake = x[index], real[index], fake[index]
        gan = self.loss_modules["gan_loss"]
        losses = dict(
            loss_disc_real=gan(self.discriminator(x, real), True, is_disc=True),
            loss_disc_fake=gan(self.discriminator(x, fake), False, is_disc=True))
        if "gradient_penalty" in self.loss_modules:
            losses["loss_disc_gp"] = self.loss_modules["gradient_penalty"](
                self.discriminator, x, real, fake)
        return losses

    @staticmethod
    def _neutral_flags(data_samples: Optional[List[FERDataSample]]) -> Optional[List[bool]]:
        """Which faces have a true neutral, from the host-side meta information."""
        if data_samples is None:
            return None
        return [bool(s.metainfo.get("has_neutral", False)) for s in data_samples]

    def _gen_loss(self, inputs: Dict[str, torch.Tensor], outputs: dict,
                  labels: torch.Tensor) -> Dict[str, torch.Tensor]:
        """The generator's and recognizer's weighted terms, plus ``acc`` scalars.

        Args:
            inputs (dict): Preprocessed batch.
            outputs (dict): What :meth:`_run` returned for it.
            labels (Tensor): ``(B,)`` classes.

        Returns:
            dict[str, Tensor]: ``loss_*`` terms (already weighted) and the batch
            accuracies ``acc`` (head) and ``seg_acc`` (segment activations).
        """
        losses: Dict[str, torch.Tensor] = {}
        neutral_hat, mask = outputs["neutral"], inputs.get("neutral_mask")
        has_neutral = neutral_hat is not None and "neutral" in inputs and mask is not None
        if has_neutral and self._active("l1"):
            losses["loss_l1"] = self._weight("l1") * self.loss_modules["l1"](
                neutral_hat.float(), inputs["neutral"], mask)
        if has_neutral and self._active("perceptual"):
            losses["loss_perceptual"] = self._weight("perceptual") * self.loss_modules[
                "perceptual"](neutral_hat, inputs["neutral"], mask)
        if (self.discriminator is not None and "gan_loss" in self.loss_modules
                and self._weight("gan") != 0.0):
            pred = self.discriminator(inputs["img"], neutral_hat)
            losses["loss_gan"] = self._weight("gan") * self.loss_modules["gan_loss"](
                pred.float(), True, is_disc=False)
        logits = outputs["logits"].float()
        if self._active("cls"):
            losses["loss_cls"] = self._weight("cls") * self.loss_modules["cls"](logits, labels)
        if self._active("segment"):
            losses["loss_segment"] = self._weight("segment") * self.loss_modules["segment"](
                outputs["activations"].float(), labels)
        branch = _unwrap(self.recognizer).branch_losses(outputs["ctx"],
                                                        outputs["branch_features"])
        self._check_loss_weights(name[len("loss_"):] for name in branch)
        for name, value in branch.items():
            if name in losses:
                raise ValueError(f"a residual branch's term '{name}' clashes with ERRNet's own")
            weight = self._weight(name[len("loss_"):])
            if weight != 0.0:
                losses[name] = weight * value.float()
        with torch.no_grad():
            losses["acc"] = (logits.argmax(dim=1) == labels).float().mean()
            losses["seg_acc"] = (outputs["activations"].argmax(dim=1) == labels).float().mean()
        return losses

    # ------------------------------------------------------------------ training
    def _losses_finite(self, log_vars: Dict[str, torch.Tensor],
                       wrappers: List[OptimWrapper]) -> bool:
        """Apply :attr:`nan_policy` to one update's terms (before its backward).

        Returns:
            bool: True to update; False when a term is not finite and the
            update is skipped (gradients zeroed, step counted).

        Raises:
            NonFiniteLossError: A term is not finite and the policy is ``'stop'``.
        """
        if check_finite(log_vars, current_iteration(self.train_iter), self.nan_policy,
                        type(self).__name__):
            return True
        skip_update(wrappers, self)
        return False

    def _optim_wrappers(self, optim_wrapper) -> Dict[str, OptimWrapper]:
        expected = [GENERATOR, RECOGNIZER] + ([DISCRIMINATOR] if self.discriminator else [])
        if not isinstance(optim_wrapper, OptimWrapperDict):
            raise TypeError(
                f"ERRNet.train_step needs an OptimWrapperDict with keys {expected} (config: "
                "optim_wrapper=dict(constructor='MultiOptimWrapperConstructor', "
                + ", ".join(f"{k}=dict(...)" for k in expected)
                + f")), got {type(optim_wrapper).__name__}")
        missing = [k for k in expected if k not in optim_wrapper]
        if missing:
            raise KeyError(f"ERRNet.train_step: optim_wrapper lacks {missing}; expected keys "
                           f"{expected}, got {sorted(optim_wrapper.keys())}")
        return {k: optim_wrapper[k] for k in expected}

    def train_step(self, data: Union[dict, tuple, list],
                   optim_wrapper: OptimWrapperDict) -> Dict[str, torch.Tensor]:
        """One training iteration: discriminator step, then generator + recognizer.

        Args:
            data (dict): A batch from the dataloader.
            optim_wrapper (OptimWrapperDict): Wrappers keyed :data:`GENERATOR`,
                :data:`RECOGNIZER` and :data:`DISCRIMINATOR`.

        Returns:
            dict[str, Tensor]: Detached log values: every ``loss_*`` term,
            ``loss`` (the generator/recognizer total), ``loss_disc`` (the
            discriminator total), ``acc`` and ``seg_acc``; the values of an
            update skipped for a non-finite term (``nan_policy='skip'``) are
            left out.

        Raises:
            NonFiniteLossError: A term is NaN/Inf and ``nan_policy='stop'``
                (raised before that update's backward).
        """
        wrappers = self._optim_wrappers(optim_wrapper)
        data = self.data_preprocessor(data, True)
        inputs = data["inputs"]
        labels = self._labels(data["data_samples"], inputs["img"].device)
        if labels is None:
            raise ValueError("ERRNet.train_step: every data sample needs a gt_label")
        gen_w, rec_w = wrappers[GENERATOR], wrappers[RECOGNIZER]
        update_gen = (self.train_iter + 1) % self.disc_steps == 0 or self.discriminator is None
        with gen_w.optim_context(self.generator), rec_w.optim_context(self.recognizer), \
                torch.set_grad_enabled(update_gen):
            outputs = self._run(inputs, labels)

        log_vars: Dict[str, torch.Tensor] = {}
        if self.discriminator is not None:
            disc_w = wrappers[DISCRIMINATOR]
            with disc_w.optim_context(self.discriminator):
                disc_losses = self._disc_loss(inputs, outputs["neutral"],
                                              self._neutral_flags(data["data_samples"]))
            if disc_losses:
                loss_disc, disc_vars = self.parse_losses(disc_losses)
                if self._losses_finite(disc_vars, [disc_w]):
                    disc_w.update_params(loss_disc)
                    disc_vars["loss_disc"] = disc_vars.pop("loss")
                    log_vars.update(disc_vars)

        if update_gen:
            set_requires_grad(self.discriminator, False)
            try:
                for step in range(self.gen_steps):
                    with gen_w.optim_context(self.generator), \
                            rec_w.optim_context(self.recognizer):
                        if step > 0:
                            outputs = self._run(inputs, labels)
                        gen_losses = self._gen_loss(inputs, outputs, labels)
                    loss, gen_vars = self.parse_losses(gen_losses)
                    if not self._losses_finite(gen_vars, [gen_w, rec_w]):
                        break
                    update_params_jointly([gen_w, rec_w], loss)
                    log_vars.update(gen_vars)
            finally:
                set_requires_grad(self.discriminator, True)
        self.train_iter += 1
        return {k: v.detach() for k, v in log_vars.items()}

    # ------------------------------------------------------------------ inference
    def infer(self, img: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Recognise and remove the expression of images (nothing else needed).

        Call ``model.eval()`` first for inference statistics.

        Args:
            img (Tensor): ``(B, C, H, W)`` faces in ``[-1, 1]``.

        Returns:
            dict[str, Tensor]: ``logits`` and ``probs`` ``(B, K)``, ``activations``
            ``(B, K)``, and with a decoder ``neutral`` (clamped to ``[-1, 1]``) and
            ``residual`` ``(B, C, H, W)``.
        """
        with torch.no_grad():
            out = self._run({"img": img}, training_fields=False)
        result = dict(logits=out["logits"].float(), probs=out["logits"].float().softmax(dim=1),
                      activations=out["activations"].float())
        if out["neutral"] is not None:
            result["neutral"] = out["neutral"].float().clamp(-1.0, 1.0)
            result["residual"] = out["residual"].float()
        return result

    def forward(self, inputs: Union[Dict[str, torch.Tensor], torch.Tensor],
                data_samples: Optional[List[FERDataSample]] = None, mode: str = "tensor"):
        """Run ERR-Net.

        Args:
            inputs (dict | Tensor): The preprocessed batch (``img`` and, for
                ``'loss'``, the optional ``neutral``, landmarks and masks) or an
                image tensor ``(B, C, H, W)`` in ``[-1, 1]``.
            data_samples (list[FERDataSample], optional): Labels for ``'loss'``;
                filled with predictions in ``'predict'``.
            mode (str): ``'tensor'`` (dict of ``logits``, ``neutral``,
                ``residual``, ``activations``, ``z``, ``features``), ``'loss'``
                (the generator's and recognizer's terms, for validation loss)
                or ``'predict'`` (list of :class:`FERDataSample`).

        Returns:
            dict | list[FERDataSample]: See ``mode``.
        """
        if not isinstance(inputs, dict):
            inputs = {"img": inputs}
        if mode == "tensor":
            out = self._run(inputs, training_fields=False)
            return {k: out[k] for k in ("logits", "neutral", "residual", "activations", "z",
                                        "features")}
        if mode == "loss":
            labels = self._labels(data_samples, inputs["img"].device)
            if labels is None:
                raise ValueError("ERRNet.forward(mode='loss') needs data samples with gt_label")
            return self._gen_loss(inputs, self._run(inputs, labels), labels)
        if mode == "predict":
            return self.predict(inputs, data_samples)
        raise ValueError(f"ERRNet.forward: mode must be 'tensor', 'loss' or 'predict', got "
                         f"{mode!r}")

    def predict(self, inputs: Dict[str, torch.Tensor],
                data_samples: Optional[List[FERDataSample]] = None) -> List[FERDataSample]:
        """Fill data samples with predictions (from the image alone).

        Args:
            inputs (dict): Preprocessed batch; only ``img`` is read, plus
                ``neutral`` / ``neutral_mask`` to attach ``gt_neutral``.
            data_samples (list[FERDataSample], optional): Samples to fill; new
                ones when None.

        Returns:
            list[FERDataSample]: With ``pred_score``, ``pred_label``,
            ``segment_activations``, ``input_img`` and, with a decoder,
            ``pred_neutral``, ``pred_residual`` (and ``gt_neutral`` where known).
        """
        img = inputs["img"]
        out = self.infer(img)
        samples = data_samples if data_samples is not None else [
            FERDataSample() for _ in range(img.shape[0])]
        mask = inputs.get("neutral_mask")
        for i, sample in enumerate(samples):
            sample.set_pred_score(out["probs"][i])
            sample.segment_activations = out["activations"][i]
            sample.input_img = img[i].detach()
            if "neutral" in out:
                sample.pred_neutral = out["neutral"][i]
                sample.pred_residual = out["residual"][i]
            if mask is not None and bool(mask[i]) and "neutral" in inputs:
                sample.gt_neutral = inputs["neutral"][i].detach()
        return samples


__all__ = ["ERRNet", "GENERATOR", "RECOGNIZER", "DISCRIMINATOR", "DEFAULT_LOSSES",
           "DEFAULT_LOSS_WEIGHTS", "set_requires_grad", "update_params_jointly"]
