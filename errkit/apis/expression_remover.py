"""Recognise and remove facial expressions in images: the user-facing inference API.

:class:`ExpressionRemover` finds the faces of any image, aligns them, runs the
model of an errkit config and returns :class:`~errkit.apis.results.ImageResult`
objects. The model and what inference reads from its config come from
:mod:`errkit.apis.inference_model`, image coercion from
:mod:`errkit.apis.image_input`.
"""

from __future__ import annotations

import inspect
import os
import warnings
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.config import Config

from errkit.datasets.io import DataFileError
from errkit.datasets.transforms.align_face import AlignFace, align_image
from errkit.landmarks.detectors import (BaseLandmarkDetector, DetectorUnavailableError,
                                        build_landmark_detector)
from errkit.synthetic.provenance import is_synthetic_image
from errkit.utils.checkpoint_path import resolve_checkpoint

from .image_input import ImageLike, to_image_array
# CheckpointMismatchError and class_names_from_config stay importable from here.
from .inference_model import (CheckpointMismatchError, class_names_from_config,  # noqa: F401
                              face_input_settings, load_inference_model)
from .results import FaceResult, ImageResult
from .training_domain import (OutOfDomainWarning, is_synthetic_only, no_neutral_note,
                              out_of_domain_message)

__all__ = ["ExpressionRemover", "DETECTOR_ALIASES"]

#: ``detector`` names accepted besides registered ``LANDMARK_DETECTORS`` names.
DETECTOR_ALIASES = {"dlib": "DlibLandmarkDetector", "fan": "FANLandmarkDetector"}


class ExpressionRemover:
    """Find faces, recognise their expression and remove it, from any images.

    Builds the model of an errkit config (``ERRNet``, ``TimmClassifier`` or any
    ``MODELS`` entry with ``infer`` or a ``mode='tensor'`` forward returning
    logits), loads a checkpoint safely and reads the face size, colour type and
    class names from the config (class names from the checkpoint's
    ``meta['dataset_meta']`` when it has them).

    What the model was trained on comes from the checkpoint's
    ``meta['training_data']`` (:attr:`training_data`). A model trained on
    synthetic faces only warns once, with an :class:`OutOfDomainWarning`, when
    it meets an input that is not an image of a synthetic face set (a real
    photo, or any array: see :func:`errkit.synthetic.is_synthetic_image`), and
    such results carry the warning in :attr:`ImageResult.notes`. A model whose
    classes have no ``neutral`` notes that a neutral face is forced into an
    expression (:attr:`notes`).

    Args:
        config (str | Config): Config file or loaded config.
        checkpoint (str, optional): Checkpoint file, mmengine's
            ``last_checkpoint`` file or a work dir holding one (see
            :func:`~errkit.utils.checkpoint_path.resolve_checkpoint`). None:
            random weights (a warning).
        device (str): Defaults to ``'cpu'``.
        detector (str | dict | BaseLandmarkDetector | None): 68-point detector
            that finds and aligns faces: ``'auto'`` (dlib when installed, else
            none), ``'dlib'``, ``'fan'``, a ``LANDMARK_DETECTORS`` name or
            config, a detector, or None / ``'none'``: each image is one
            pre-aligned face. Defaults to ``'auto'``.
        aligned (bool): Inputs are aligned face crops: no detection, each is
            centre-cropped to a square and resized. Defaults to False.
        batch_size (int): Faces per forward pass. Defaults to 16.
        cfg_options (dict, optional): Config overrides.

    Examples:
        >>> remover = ExpressionRemover('configs/errnet_ckplus.py', 'ep50.pth')  # doctest: +SKIP
        >>> faces = remover('face.jpg')  # doctest: +SKIP
        >>> faces[0].label, faces[0].neutral.shape  # doctest: +SKIP
        ('happy', (128, 128, 1))
    """

    def __init__(self, config: Union[str, Config], checkpoint: Optional[str] = None,
                 device: str = "cpu",
                 detector: Union[str, dict, BaseLandmarkDetector, None] = "auto",
                 aligned: bool = False, batch_size: int = 16,
                 cfg_options: Optional[dict] = None) -> None:
        if checkpoint is not None:
            checkpoint = resolve_checkpoint(str(checkpoint))
        self.model, self.cfg, meta = load_inference_model(config, checkpoint, device, cfg_options)
        if checkpoint is None:
            warnings.warn("ExpressionRemover: no checkpoint given, the model has random weights")
        self.config_path = self.cfg.filename
        #: The checkpoint file loaded (a work dir or ``last_checkpoint`` resolved).
        self.checkpoint_path = checkpoint
        self.device = torch.device(device)
        self.img_size, self.color_type = face_input_settings(self.cfg)
        self.num_classes = int(getattr(self.model, "num_classes", 7))
        names = (meta.get("dataset_meta") or {}).get("classes")
        if names and len(names) == self.num_classes:
            self.classes = tuple(str(n) for n in names)
        else:
            self.classes = class_names_from_config(self.cfg, self.num_classes)
        #: The checkpoint's ``meta['training_data']`` (None when it has none).
        self.training_data: Optional[dict] = meta.get("training_data")
        #: True when the model was trained on synthetic faces only.
        self.synthetic_only = is_synthetic_only(self.training_data)
        #: The out-of-domain warning, once an input that is not synthetic was seen.
        self.domain_warning: Optional[str] = None
        self.aligned = bool(aligned)
        self.batch_size = max(1, int(batch_size))
        self.detector_note: Optional[str] = None
        self.detector = None if self.aligned else self._make_detector(detector)
        self._align = AlignFace(size=self.img_size)
        self._warned_neutral = False

    def _make_detector(self, detector) -> Optional[BaseLandmarkDetector]:
        if detector is None or detector == "none":
            self.detector_note = "no landmark detector: the image was used as an aligned face"
            return None
        if detector == "auto":
            try:
                return build_landmark_detector("DlibLandmarkDetector")
            except DetectorUnavailableError as exc:
                self.detector_note = ("no landmark detector (dlib unavailable): the image was "
                                      "used as an aligned face")
                warnings.warn(f"ExpressionRemover: {exc}; images are taken as aligned face "
                              "crops (pass aligned=True to silence this)")
                return None
        if isinstance(detector, str):
            detector = DETECTOR_ALIASES.get(detector.lower(), detector)
        return build_landmark_detector(detector)

    @property
    def notes(self) -> List[str]:
        """Notes about every answer of this model (e.g. its classes have no ``neutral``)."""
        note = no_neutral_note(self.classes)
        return [note] if note else []

    def _out_of_domain(self, item, result: ImageResult) -> None:
        """Note and warn (once) when a synthetic-only model meets a real image."""
        if not self.synthetic_only:
            return
        if isinstance(item, (str, os.PathLike)) and is_synthetic_image(item):
            return
        message = out_of_domain_message(self.training_data)
        result.notes.append(message)
        if self.domain_warning is None:
            self.domain_warning = message
            warnings.warn(f"ExpressionRemover: {message}", OutOfDomainWarning, stacklevel=3)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(model={type(self.model).__name__}, "
                f"config={self.config_path!r}, checkpoint={self.checkpoint_path!r}, "
                f"img_size={self.img_size}, color_type={self.color_type!r}, "
                f"classes={self.classes}, detector={self.detector!r}, aligned={self.aligned})")

    # ------------------------------------------------------------------ faces
    def _faces_of(self, img: np.ndarray) -> Tuple[List[dict], Optional[str]]:
        """Aligned crops of every face of one image, and a warning when none."""
        height, width = img.shape[:2]
        if self.detector is None:
            crop, _ = align_image(img, None, self.img_size)
            box = np.array([0, 0, width, height], np.float32)
            return [dict(crop=crop, landmarks=None, aligned_landmarks=None, box=box)], None
        faces, skipped = [], 0
        for points in self.detector.detect(img):
            try:
                out = self._align({"img": img, "landmarks": points})
            except ValueError:  # degenerate landmarks (eyes coincide)
                skipped += 1
                continue
            box = np.concatenate([points.min(axis=0), points.max(axis=0)]).astype(np.float32)
            faces.append(dict(crop=out["img"], landmarks=points,
                              aligned_landmarks=out["landmarks"], box=box))
        if faces:
            return faces, None
        name = type(self.detector).__name__
        extra = f" ({skipped} with unusable landmarks)" if skipped else ""
        return [], f"no face found by {name}{extra}"

    def _inference_fields(self) -> Tuple[str, ...]:
        """What the model's residual branches need at inference besides the image."""
        recognizer = getattr(self.model, "recognizer", None)
        needs = set()
        for branch in getattr(recognizer, "residuals", ()):
            needs.update(getattr(branch, "needs_at_inference", ()))
        return tuple(sorted(needs))

    def _neutral_face(self, neutral: ImageLike) -> dict:
        """The aligned face of a given neutral photo (its largest face).

        Raises:
            ValueError: The photo cannot be read or holds no face (names it).
        """
        source = str(neutral) if isinstance(neutral, (str, os.PathLike)) else \
            f"<{type(neutral).__name__}>"
        try:
            image = to_image_array(neutral, self.color_type)
            faces, warning = self._faces_of(image)
        except (OSError, DataFileError, TypeError) as exc:
            raise ValueError(f"the neutral photo {source} cannot be read: {exc}") from exc
        if not faces:
            raise ValueError(f"the neutral photo {source}: {warning}")
        return faces[0]

    @torch.no_grad()
    def _run(self, faces: Sequence[dict], neutrals: Optional[Sequence[dict]] = None
             ) -> Dict[str, np.ndarray]:
        """Run the model on aligned faces (and their given neutral faces)."""
        def stack(crops):
            return torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).contiguous()

        inputs = {"img": stack([f["crop"] for f in faces])}
        if neutrals is not None:
            inputs["neutral"] = stack([n["crop"] for n in neutrals])
        data = self.model.data_preprocessor({"inputs": inputs, "data_samples": None}, False)
        prepared = data["inputs"] if isinstance(data["inputs"], dict) else {"img": data["inputs"]}
        img = prepared["img"]
        if not callable(getattr(self.model, "infer", None)):
            logits = self.model(img, mode="tensor")
            return {"probs": logits.float().softmax(dim=1).cpu().numpy()}
        kwargs = {}
        if "landmarks" in self._inference_fields() or neutrals is not None:
            kwargs.update(self._landmark_inputs(faces, img.device))
        if neutrals is not None:
            kwargs["neutral"] = prepared["neutral"]
            kwargs["neutral_landmarks"] = self._landmark_inputs(neutrals, img.device)["landmarks"]
        out = dict(self.model.infer(img, **kwargs))
        return {k: v.float().cpu().numpy() for k, v in out.items() if torch.is_tensor(v)}

    def _landmark_inputs(self, faces: Sequence[dict], device) -> Dict[str, torch.Tensor]:
        """The faces' landmarks in their crops, and which faces have them."""
        known = [f["aligned_landmarks"] is not None for f in faces]
        if "landmarks" in self._inference_fields() and not any(known):
            raise ValueError("this model reads each face's 68 landmarks, which only a "
                             "landmark detector gives: use detector='dlib' (errkit infer "
                             "--detector dlib), not aligned crops")
        points = np.stack([f["aligned_landmarks"] if k else np.zeros((68, 2), np.float32)
                           for f, k in zip(faces, known)]).astype(np.float32)
        return {"landmarks": torch.from_numpy(points).to(device),
                "face_landmark_mask": torch.tensor(known, device=device)}

    def _face_result(self, face: dict, out: Dict[str, np.ndarray], i: int,
                     neutral_mode: str = "generated") -> FaceResult:
        probs = out["probs"][i]
        if probs.shape[0] != len(self.classes):
            raise ValueError(f"the model returned {probs.shape[0]} class scores, the config "
                             f"names {len(self.classes)} classes")
        neutral = residual = None
        if "neutral" in out:
            neutral = ((out["neutral"][i].transpose(1, 2, 0) + 1.0) * 127.5).round()
            neutral = neutral.clip(0, 255).astype(np.uint8)
            residual = out["residual"][i].transpose(1, 2, 0).astype(np.float32)
        activations = out.get("activations")
        return FaceResult(
            box=face["box"], landmarks=face["landmarks"],
            probabilities={c: float(p) for c, p in zip(self.classes, probs)},
            label=self.classes[int(probs.argmax())], aligned_face=face["crop"],
            neutral=neutral, residual=residual,
            segment_activations=None if activations is None else activations[i].copy(),
            aligned_landmarks=face["aligned_landmarks"], neutral_mode=neutral_mode)

    # ------------------------------------------------------------------ public
    def predict(self, images: Union[ImageLike, Sequence[ImageLike]],
                neutral: Optional[ImageLike] = None
                ) -> Union[ImageResult, List[ImageResult]]:
        """Detect, align and analyse the faces of one image or of a list.

        Faces of all images are batched. An image that cannot be read or
        analysed gets an :attr:`ImageResult.error` naming it; the others are
        still processed. An image without faces gets an empty face list and a
        :attr:`ImageResult.warning`.

        With ``neutral``, a photo of the same person's neutral face (an
        enrolment photo, the first frame of a video), recognition uses the
        residual to that photo instead of the generated neutral
        (given-neutral mode; every face of ``images`` is taken to be that
        person). The generated neutral face and residual are still returned.
        Models trained in given-neutral mode (``model.train_cfg.neutral =
        'given'``) are made for it; others are warned about once.

        Args:
            images: One image or a list (paths, arrays, tensors, PIL images;
                see :func:`to_image_array`); a 4-D array / tensor is a batch
                ``(B, H, W, C)`` / ``(B, C, H, W)``.
            neutral: The person's neutral photo (any of the same types).
                Defaults to None (the single-image setting).

        Returns:
            ImageResult | list[ImageResult]: One result per image (a list when
            ``images`` is a list or a batch).

        Raises:
            ValueError: ``neutral`` cannot be read or holds no face, or the
                model cannot use a given neutral (no ``infer`` with a
                ``neutral`` argument).
        """
        neutral_face = None
        if neutral is not None:
            neutral_face = self._check_given_neutral(neutral)
        single = not isinstance(images, (list, tuple)) and not (
            isinstance(images, (np.ndarray, torch.Tensor)) and images.ndim == 4)
        items = [images] if single else list(images)
        results, pending = [], []
        for index, item in enumerate(items):
            is_path = isinstance(item, (str, os.PathLike))
            result = ImageResult(source=str(item) if is_path
                                 else f"<{type(item).__name__} {index}>")
            results.append(result)
            try:
                result.image = to_image_array(item, self.color_type)
                faces, result.warning = self._faces_of(result.image)
            except (OSError, DataFileError) as exc:
                result.error = f"cannot read image: {exc}"
                continue
            except (TypeError, ValueError, RuntimeError) as exc:
                result.error = f"cannot process image {result.source}: {exc}"
                continue
            if faces and self.detector is None:
                result.warning = self.detector_note
            self._out_of_domain(item, result)
            if faces:
                result.notes += self.notes
            pending += [(result, face) for face in faces]
        for start in range(0, len(pending), self.batch_size):
            chunk = pending[start:start + self.batch_size]
            mode = "generated" if neutral_face is None else "given"
            try:
                out = self._run([face for _, face in chunk],
                                None if neutral_face is None else [neutral_face] * len(chunk))
                faces = [self._face_result(face, out, i, mode)
                         for i, (_, face) in enumerate(chunk)]
            except (RuntimeError, ValueError) as exc:
                for result, _ in chunk:
                    result.error = f"the model failed on {result.source}: {exc}"
                    result.faces.clear()
                continue
            for (result, _), face_result in zip(chunk, faces):
                if result.ok:
                    result.faces.append(face_result)
        return results[0] if single else results

    def _check_given_neutral(self, neutral: ImageLike) -> dict:
        """The aligned given neutral; warn when the model did not learn from one."""
        infer = getattr(self.model, "infer", None)
        if infer is None or "neutral" not in inspect.signature(infer).parameters:
            raise ValueError(f"{type(self.model).__name__} cannot recognise with a given "
                             "neutral face (an ERR-Net model can)")
        face = self._neutral_face(neutral)
        trained = (getattr(self.model, "train_cfg", None) or {}).get("neutral", "generated")
        if trained != "given" and not self._warned_neutral:
            self._warned_neutral = True
            warnings.warn("ExpressionRemover: this model's recognizer learned from generated "
                          "neutral faces; a given neutral photo is outside what it was trained "
                          "on (train with model.train_cfg.neutral='given' for this mode)",
                          UserWarning, stacklevel=3)
        return face

    __call__ = predict
