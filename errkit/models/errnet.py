"""ERR-Net: Expression Removal and Recognition Network with residual image."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Dict, Iterator, List, Optional, Sequence, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModel
from mmengine.optim import OptimWrapper, OptimWrapperDict

from errkit.registry import MODELS
from errkit.structures import FERDataSample

from .errnet_generator import ERRNetGenerator, with_defaults
from .errnet_training import (DISCRIMINATOR, GENERATOR, OPTIM_WRAPPER_MODULES, active_loss,
                              build_errnet_losses, check_optim_wrapper, frozen, mean_log_vars,
                              select_faces)
from .neutral_modes import check_neutral_cfgs, mode_score_field
from .residual_recognizer import ResidualRecognizer
from .residuals import ResidualContext


def _unwrap(module: nn.Module) -> nn.Module:
    """The module inside a DistributedDataParallel wrapper (mmengine's separate
    DDP wraps each sub-network)."""
    return module.module if isinstance(module, nn.parallel.DistributedDataParallel) else module


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

    Training objective of the generator and recognizer, each term named
    ``loss_<key>`` and weighted by the ``loss_weight`` of its loss config
    (OpenMMLab's convention; a weight of 0 or a ``None`` config drops the term):

    - ``gan``: adversarial term on ``(x, neutral_hat)``, all faces
      (``losses.gan_loss``);
    - ``l1``: L1 to the true neutral, faces that have one;
    - ``perceptual``: optional feature distance to the true neutral;
    - ``cls``: cross-entropy of the head's logits;
    - ``segment``: segment loss on the activations;
    - the terms of each residual branch's :meth:`loss` (e.g. ``landmark``),
      weighted by the branch itself.

    The discriminator minimises ``loss_disc_real + loss_disc_fake`` (+
    ``loss_disc_gp``) on the faces that have a true neutral.

    Optimizers: an :class:`~mmengine.optim.OptimWrapperDict` with the keys
    :data:`GENERATOR` (the generator and the recognizer, updated together) and,
    with a discriminator, :data:`DISCRIMINATOR`, built by
    ``MultiOptimWrapperConstructor``.

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
            ``gradient_penalty``, ``l1``, ``cls``, ``segment``, ``perceptual``),
            each with its ``loss_weight``; missing keys take
            :data:`~errkit.models.errnet_training.DEFAULT_LOSSES`, ``None``
            disables.
        num_classes (int): Number of expression classes. Defaults to 7.
        use_segments_in_head (bool): Fuse the segment activations with the
            residual features before the head. Defaults to True.
        use_encoder_features_in_head (bool): Fuse the pooled deepest encoder
            feature too. Defaults to False.
        fusion_norm (bool | str): LayerNorm on the fused features (``True``),
            on each source before fusion (``'branch'``) or none (``False``).
            Defaults to True.
        disc_steps (int): Iterations per generator update; the discriminator is
            updated every iteration. Defaults to 1.
        gen_steps (int): Generator/recognizer updates when it is updated; the
            logged values are their mean. Defaults to 1.
        train_cfg (dict, optional): ``neutral``: what recognition learns from,
            ``'generated'`` (the generated neutral: the paper's single-image
            setting) or ``'given'`` (the person's true neutral face, where the
            data have one: given-neutral mode). The generator learns removal
            either way. Defaults to ``dict(neutral='generated')``.
        test_cfg (dict, optional): ``neutral``: the neutral that test-time
            predictions use, ``'generated'`` or ``'given'`` (the dataset's
            neutral face of the same person; faces without one fall back to the
            generated neutral); ``extra_modes``: further modes whose scores are
            added as ``<mode>_neutral_pred_score`` (reported by
            ``ExpressionMetric`` as ``<mode>_neutral/accuracy``). Defaults to
            ``dict(neutral='generated', extra_modes=())``.
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
                 num_classes: int = 7, use_segments_in_head: bool = True,
                 use_encoder_features_in_head: bool = False,
                 fusion_norm: Union[bool, str] = True,
                 disc_steps: int = 1, gen_steps: int = 1,
                 train_cfg: Optional[dict] = None, test_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
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
        self.train_cfg, self.test_cfg = check_neutral_cfgs(train_cfg, test_cfg)
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
        needing = [type(b).__name__ for b in self.recognizer.residuals
                   if getattr(b, "needs_residual_image", True)]
        if gen.decoder is None and needing:
            raise ValueError(f"ERRNet: the residual branches {needing} read the generated "
                             "residual image and need a decoder (set `decoder`)")
        self.discriminator = None
        if discriminator is not None:
            self.discriminator = MODELS.build(
                with_defaults(discriminator, in_channels=2 * gen.in_channels))
        self.loss_modules = build_errnet_losses(losses)
        if self.discriminator is not None and "gan_loss" not in self.loss_modules:
            raise ValueError("ERRNet: a discriminator needs losses.gan_loss (set it, or "
                             "discriminator=None)")
        self.train_iter = 0
        self._optim_wrapper_checked = False

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

    # ------------------------------------------------------------------ forward
    @staticmethod
    def _labels(data_samples: Optional[List[FERDataSample]], device) -> Optional[torch.Tensor]:
        if not data_samples or any("gt_label" not in s for s in data_samples):
            return None
        return torch.cat([s.gt_label.reshape(-1) for s in data_samples]).long().to(device)

    @staticmethod
    def _neutral_flags(data_samples: Optional[List[FERDataSample]]) -> Optional[List[bool]]:
        """Which faces have a true neutral, from the host-side meta information."""
        if data_samples is None:
            return None
        return [bool(s.metainfo.get("has_neutral", False)) for s in data_samples]

    def _context(self, inputs: Dict[str, torch.Tensor], gen_out: dict,
                 labels: Optional[torch.Tensor] = None, training_fields: bool = True,
                 given_neutral: Optional[torch.Tensor] = None) -> ResidualContext:
        """The residual branches' context.

        Args:
            inputs (dict): The batch (``img`` and what the data hold).
            gen_out (dict): The generator's outputs.
            labels (Tensor, optional): Classes, for training contexts.
            training_fields (bool): Fill the training fields (true neutral,
                landmarks, masks, labels). Otherwise only what inference knows
                besides the image: the face's own ``landmarks`` and, for the
                faces of ``given_neutral``, their given neutral and its
                landmarks. Defaults to True.
            given_neutral (Tensor, optional): ``(B,)`` bool, faces whose true
                neutral replaces the generated one for recognition. Defaults
                to None.
        """
        ctx = ResidualContext(
            x=inputs["img"], neutral_hat=gen_out["neutral"], residual_hat=gen_out["residual"],
            encoder_features=gen_out["features"], z=gen_out["z"],
            activations=gen_out["activations"])
        keys = ("neutral", "landmarks", "neutral_landmarks", "neutral_mask", "landmark_mask")
        if not training_fields:
            keys = ("landmarks",) + (("neutral", "neutral_landmarks")
                                     if given_neutral is not None else ())
        for key in keys:
            setattr(ctx, key, inputs.get(key))
        if ctx.landmarks is not None:
            ctx.face_landmark_mask = inputs.get("face_landmark_mask")
        if training_fields:
            ctx.labels = labels
        ctx.given_neutral_mask = given_neutral
        return ctx

    def _given_neutral(self, inputs: Dict[str, torch.Tensor], mode: str
                       ) -> Optional[torch.Tensor]:
        """The faces that recognise with their true neutral in ``mode``."""
        if mode != "given" or "neutral" not in inputs:
            return None
        mask = inputs.get("neutral_mask")
        if mask is None:
            return torch.ones(inputs["img"].shape[0], dtype=torch.bool,
                              device=inputs["img"].device)
        return mask.bool()

    def _remove_and_recognize(self, inputs: Dict[str, torch.Tensor],
                              labels: Optional[torch.Tensor] = None,
                              training_fields: bool = True,
                              neutral_mode: str = "generated") -> dict:
        """The generator, then the recognizer on its residuals.

        Args:
            inputs (dict): The batch.
            labels (Tensor, optional): Classes, for training.
            training_fields (bool): See :meth:`_context`. Defaults to True.
            neutral_mode (str): ``'generated'`` or ``'given'`` (recognise with
                the true neutral where the batch has one). Defaults to
                ``'generated'``.

        Returns:
            dict: The generator's outputs (``features``, ``z``, ``activations``,
            ``residual``, ``neutral``), the recognizer's (``logits``,
            ``features``, ``branch_features``) and the residual context ``ctx``.
        """
        img = inputs["img"]
        in_channels = _unwrap(self.generator).in_channels
        if img.dim() != 4 or img.shape[1] != in_channels:
            raise ValueError(f"ERRNet expects inputs['img'] of shape (B, "
                             f"{in_channels}, H, W), got {tuple(img.shape)}")
        gen_out = self.generator(img)
        ctx = self._context(inputs, gen_out, labels, training_fields,
                            self._given_neutral(inputs, neutral_mode))
        rec_out = self.recognizer(ctx, labels if self.training else None)
        return dict(gen_out, **rec_out, ctx=ctx)

    def _recognize_again(self, outputs: dict, inputs: Dict[str, torch.Tensor],
                         mode: str) -> torch.Tensor:
        """The logits of another neutral mode, reusing the generator's outputs."""
        gen_out = {k: outputs[k] for k in ("z", "activations", "residual", "neutral")}
        gen_out["features"] = outputs["ctx"].encoder_features  # 'features' is the fused vector
        ctx = self._context(inputs, gen_out, training_fields=False,
                            given_neutral=self._given_neutral(inputs, mode))
        return self.recognizer(ctx)["logits"].float()

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
        else:
            x, real, fake = select_faces(has_neutral, x, real, fake)
        gan = self.loss_modules["gan_loss"]
        losses = dict(
            loss_disc_real=gan(self.discriminator(x, real), True, is_disc=True),
            loss_disc_fake=gan(self.discriminator(x, fake), False, is_disc=True))
        if "gradient_penalty" in self.loss_modules:
            losses["loss_disc_gp"] = self.loss_modules["gradient_penalty"](
                self.discriminator, x, real, fake)
        return losses

    def _gen_loss(self, inputs: Dict[str, torch.Tensor], outputs: dict,
                  labels: torch.Tensor) -> Dict[str, torch.Tensor]:
        """The generator's and recognizer's terms, plus ``acc`` scalars.

        Args:
            inputs (dict): Preprocessed batch.
            outputs (dict): What :meth:`_remove_and_recognize` returned for it.
            labels (Tensor): ``(B,)`` classes.

        Returns:
            dict[str, Tensor]: ``loss_*`` terms (each weighted by its loss) and
            the batch accuracies ``acc`` (head) and ``seg_acc`` (segment
            activations).
        """
        losses: Dict[str, torch.Tensor] = {}
        neutral_hat, mask = outputs["neutral"], inputs.get("neutral_mask")
        if neutral_hat is not None and "neutral" in inputs and mask is not None:
            if active_loss(self.loss_modules, "l1") is not None:
                losses["loss_l1"] = self.loss_modules["l1"](
                    neutral_hat.float(), inputs["neutral"], mask)
            if active_loss(self.loss_modules, "perceptual") is not None:
                losses["loss_perceptual"] = self.loss_modules["perceptual"](
                    neutral_hat, inputs["neutral"], mask)
        gan = active_loss(self.loss_modules, "gan_loss")
        if self.discriminator is not None and gan is not None:
            losses["loss_gan"] = gan(self.discriminator(inputs["img"], neutral_hat).float(), True,
                                     is_disc=False)
        logits = outputs["logits"].float()
        if active_loss(self.loss_modules, "cls") is not None:
            losses["loss_cls"] = self.loss_modules["cls"](logits, labels)
        if active_loss(self.loss_modules, "segment") is not None:
            losses["loss_segment"] = self.loss_modules["segment"](
                outputs["activations"].float(), labels)
        branch = _unwrap(self.recognizer).branch_losses(outputs["ctx"],
                                                        outputs["branch_features"])
        for name, value in branch.items():
            if name in losses:
                raise ValueError(f"a residual branch's term '{name}' clashes with ERRNet's own")
            losses[name] = value.float()
        with torch.no_grad():
            losses["acc"] = (logits.argmax(dim=1) == labels).float().mean()
            losses["seg_acc"] = (outputs["activations"].argmax(dim=1) == labels).float().mean()
        return losses

    # ------------------------------------------------------------------ training
    def _check_optim_wrapper(self, optim_wrapper) -> None:
        """See :func:`~errkit.models.errnet_training.check_optim_wrapper` (the
        parameters are checked on the first step only)."""
        check_optim_wrapper(self, optim_wrapper, check_params=not self._optim_wrapper_checked)
        self._optim_wrapper_checked = True

    @contextmanager
    def _generator_context(self, wrapper: OptimWrapper) -> Iterator[None]:
        """The generator wrapper's context around the generator and the recognizer."""
        with wrapper.optim_context(self.generator), wrapper.optim_context(self.recognizer):
            yield

    def train_step(self, data: Union[dict, tuple, list],
                   optim_wrapper: OptimWrapperDict) -> Dict[str, torch.Tensor]:
        """One training iteration: discriminator step, then generator + recognizer.

        Args:
            data (dict): A batch from the dataloader.
            optim_wrapper (OptimWrapperDict): Wrappers keyed :data:`GENERATOR`
                and (with a discriminator) :data:`DISCRIMINATOR`.

        Returns:
            dict[str, Tensor]: Detached log values: every ``loss_*`` term,
            ``loss`` (the generator/recognizer total), ``loss_disc`` (the
            discriminator total), ``acc`` and ``seg_acc``; with ``gen_steps > 1``
            the generator's values are the mean over its updates.
        """
        self._check_optim_wrapper(optim_wrapper)
        data = self.data_preprocessor(data, True)
        inputs, data_samples = data["inputs"], data["data_samples"]
        labels = self._labels(data_samples, inputs["img"].device)
        if labels is None:
            raise ValueError("ERRNet.train_step: every data sample needs a gt_label")
        gen_wrapper = optim_wrapper[GENERATOR]
        update_generator = (self.discriminator is None
                            or (self.train_iter + 1) % self.disc_steps == 0)
        with self._generator_context(gen_wrapper), torch.set_grad_enabled(update_generator):
            outputs = self._remove_and_recognize(inputs, labels,
                                                 neutral_mode=self.train_cfg["neutral"])

        log_vars: Dict[str, torch.Tensor] = {}
        if self.discriminator is not None:
            disc_wrapper = optim_wrapper[DISCRIMINATOR]
            with disc_wrapper.optim_context(self.discriminator):
                disc_losses = self._disc_loss(inputs, outputs["neutral"],
                                              self._neutral_flags(data_samples))
            if disc_losses:
                loss_disc, disc_vars = self.parse_losses(disc_losses)
                disc_wrapper.update_params(loss_disc)
                disc_vars["loss_disc"] = disc_vars.pop("loss")
                log_vars.update(disc_vars)

        if update_generator:
            gen_vars = []
            with frozen(self.discriminator):
                for step in range(self.gen_steps):
                    with self._generator_context(gen_wrapper):
                        if step > 0:
                            outputs = self._remove_and_recognize(
                                inputs, labels, neutral_mode=self.train_cfg["neutral"])
                        gen_losses = self._gen_loss(inputs, outputs, labels)
                    loss, step_vars = self.parse_losses(gen_losses)
                    gen_wrapper.update_params(loss)
                    gen_vars.append(step_vars)
            log_vars.update(mean_log_vars(gen_vars))
        self.train_iter += 1
        return {k: v.detach() for k, v in log_vars.items()}

    # ------------------------------------------------------------------ inference
    def infer(self, img: torch.Tensor, landmarks: Optional[torch.Tensor] = None,
              neutral: Optional[torch.Tensor] = None,
              neutral_landmarks: Optional[torch.Tensor] = None,
              face_landmark_mask: Optional[torch.Tensor] = None
              ) -> Dict[str, torch.Tensor]:
        """Recognise and remove the expression of faces.

        The expressive image is all ERR-Net needs, except for residual branches
        that read the face's own landmarks (``needs_at_inference``), which then
        come from the detector that aligned the face. With ``neutral`` (a photo
        of the same person's neutral face, aligned like ``img``) recognition
        uses the residual to it instead of the generated neutral (given-neutral
        mode); the generated neutral and residual are returned either way.

        Call ``model.eval()`` first for inference statistics.

        Args:
            img (Tensor): ``(B, C, H, W)`` faces in ``[-1, 1]``.
            landmarks (Tensor, optional): ``(B, 68, 2)`` the faces' own points in
                ``img``'s pixel coordinates. Defaults to None.
            neutral (Tensor, optional): ``(B, C, H, W)`` given neutral faces in
                ``[-1, 1]``. Defaults to None.
            neutral_landmarks (Tensor, optional): ``(B, 68, 2)`` their points.
                Defaults to None.
            face_landmark_mask (Tensor, optional): ``(B,)`` bool, faces whose
                ``landmarks`` are known. Defaults to None (all of them).

        Returns:
            dict[str, Tensor]: ``logits`` and ``probs`` ``(B, K)``, ``activations``
            ``(B, K)``, and with a decoder ``neutral`` (clamped to ``[-1, 1]``) and
            ``residual`` ``(B, C, H, W)``.
        """
        inputs = {"img": img}
        for key, value in (("landmarks", landmarks), ("neutral", neutral),
                           ("neutral_landmarks", neutral_landmarks),
                           ("face_landmark_mask", face_landmark_mask)):
            if value is not None:
                inputs[key] = value
        mode = "given" if neutral is not None else "generated"
        with torch.no_grad():
            out = self._remove_and_recognize(inputs, training_fields=False, neutral_mode=mode)
        return self._inference_result(out)

    @staticmethod
    def _inference_result(out: dict) -> Dict[str, torch.Tensor]:
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
            out = self._remove_and_recognize(inputs, training_fields=False,
                                             neutral_mode=self.test_cfg["neutral"])
            return {k: out[k] for k in ("logits", "neutral", "residual", "activations", "z",
                                        "features")}
        if mode == "loss":
            labels = self._labels(data_samples, inputs["img"].device)
            if labels is None:
                raise ValueError("ERRNet.forward(mode='loss') needs data samples with gt_label")
            outputs = self._remove_and_recognize(inputs, labels,
                                                 neutral_mode=self.train_cfg["neutral"])
            return self._gen_loss(inputs, outputs, labels)
        if mode == "predict":
            return self.predict(inputs, data_samples)
        raise ValueError(f"ERRNet.forward: mode must be 'tensor', 'loss' or 'predict', got "
                         f"{mode!r}")

    def predict(self, inputs: Dict[str, torch.Tensor],
                data_samples: Optional[List[FERDataSample]] = None) -> List[FERDataSample]:
        """Fill data samples with predictions.

        The prediction reads the image (and the face's own landmarks for
        branches that need them); in given-neutral mode (``test_cfg``) also the
        batch's true neutral faces. The generated neutral and residual are
        attached in every mode.

        Args:
            inputs (dict): Preprocessed batch: ``img``, and ``landmarks`` /
                ``face_landmark_mask`` where known; ``neutral`` /
                ``neutral_mask`` (and ``neutral_landmarks``) for given-neutral
                predictions and to attach ``gt_neutral``.
            data_samples (list[FERDataSample], optional): Samples to fill; new
                ones when None.

        Returns:
            list[FERDataSample]: With ``pred_score``, ``pred_label``,
            ``segment_activations``, ``input_img``, with a decoder
            ``pred_neutral``, ``pred_residual`` (and ``gt_neutral`` where
            known), and ``<mode>_neutral_pred_score`` for each of
            ``test_cfg['extra_modes']``; the meta information ``neutral_mode``
            says which neutral the prediction used.
        """
        img = inputs["img"]
        mode = self.test_cfg["neutral"]
        with torch.no_grad():
            outputs = self._remove_and_recognize(inputs, training_fields=False,
                                                 neutral_mode=mode)
            extra = {m: self._recognize_again(outputs, inputs, m).softmax(dim=1)
                     for m in self.test_cfg["extra_modes"]}
        out = self._inference_result(outputs)
        given = self._given_neutral(inputs, mode)
        samples = data_samples if data_samples is not None else [
            FERDataSample() for _ in range(img.shape[0])]
        mask = inputs.get("neutral_mask")
        for i, sample in enumerate(samples):
            sample.set_pred_score(out["probs"][i])
            sample.segment_activations = out["activations"][i]
            sample.input_img = img[i].detach()
            sample.set_metainfo(dict(neutral_mode="given" if given is not None and bool(given[i])
                                     else "generated"))
            for extra_mode, probs in extra.items():
                sample.set_field(probs[i], mode_score_field(extra_mode))
            if "neutral" in out:
                sample.pred_neutral = out["neutral"][i]
                sample.pred_residual = out["residual"][i]
            if mask is not None and bool(mask[i]) and "neutral" in inputs:
                sample.gt_neutral = inputs["neutral"][i].detach()
        return samples


__all__ = ["ERRNet", "GENERATOR", "DISCRIMINATOR", "OPTIM_WRAPPER_MODULES"]
