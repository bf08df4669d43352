"""Recognise and remove facial expressions in images: the user-facing inference API."""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
import torch
from mmengine.config import Config

from errkit.datasets.io import DataFileError, read_image
from errkit.datasets.transforms.align_face import AlignFace, align_image
from errkit.utils.checkpoint import CheckpointError, safe_load, state_dict_from_checkpoint
from errkit.landmarks.detectors import (BaseLandmarkDetector, DetectorUnavailableError,
                                        build_landmark_detector)

__all__ = ["ExpressionRemover", "FaceResult", "ImageResult", "CheckpointMismatchError",
           "load_inference_model", "class_names_from_config", "to_image_array"]

#: Checkpoint keys that inference can do without (the discriminator and the losses).
INFERENCE_OPTIONAL_PREFIXES = ("discriminator.", "loss_modules.")
#: ``detector`` names accepted besides registered ``LANDMARK_DETECTORS`` names.
DETECTOR_ALIASES = {"dlib": "DlibLandmarkDetector", "fan": "FANLandmarkDetector"}

ImageLike = Union[str, os.PathLike, np.ndarray, torch.Tensor, Any]


class CheckpointMismatchError(CheckpointError):
    """A checkpoint's state dict does not fit the model its config builds."""


@dataclass
class FaceResult:
    """What the model says about one face.

    Attributes:
        box (np.ndarray): ``(4,)`` float32 ``x0, y0, x1, y1`` in the original
            image (the landmarks' bounding box, or the whole image when no
            detector ran).
        landmarks (np.ndarray | None): ``(68, 2)`` float32 ``(x, y)`` in the
            original image; None when no detector ran.
        probabilities (dict[str, float]): Class name -> probability (sums to 1).
        label (str): The most probable class.
        aligned_face (np.ndarray): ``(S, S, C)`` uint8 crop the model saw.
        neutral (np.ndarray | None): ``(S, S, C)`` uint8 generated neutral face
            (None for models without expression removal).
        residual (np.ndarray | None): ``(S, S, C)`` float32 signed residual
            ``input - neutral`` in the model's ``[-1, 1]`` image units.
        segment_activations (np.ndarray | None): ``(K,)`` float32 activation of
            each class's latent segment.
        aligned_landmarks (np.ndarray | None): ``(68, 2)`` landmarks in the crop.
    """

    box: np.ndarray
    landmarks: Optional[np.ndarray]
    probabilities: Dict[str, float]
    label: str
    aligned_face: np.ndarray
    neutral: Optional[np.ndarray] = None
    residual: Optional[np.ndarray] = None
    segment_activations: Optional[np.ndarray] = None
    aligned_landmarks: Optional[np.ndarray] = None

    @property
    def score(self) -> float:
        """Probability of :attr:`label`."""
        return self.probabilities[self.label]

    def to_dict(self) -> dict:
        """JSON-ready summary (no image arrays)."""
        def as_list(value):
            return None if value is None else np.asarray(value, dtype=float).round(3).tolist()

        return dict(label=self.label, score=round(self.score, 6),
                    probabilities={k: round(v, 6) for k, v in self.probabilities.items()},
                    box=as_list(self.box), landmarks=as_list(self.landmarks),
                    segment_activations=as_list(self.segment_activations))


@dataclass
class ImageResult:
    """The faces found in one input image; behaves as the list of its faces.

    Attributes:
        source (str): The file path, or ``'<array 3>'`` for in-memory input 3.
        faces (list[FaceResult]): Largest face first; empty when none was found
            or the image failed.
        image (np.ndarray | None): The input as ``(H, W, C)`` uint8 (None when it
            could not be read).
        warning (str | None): E.g. no face found.
        error (str | None): Why the image could not be processed.
    """

    source: str
    faces: List[FaceResult] = field(default_factory=list)
    image: Optional[np.ndarray] = None
    warning: Optional[str] = None
    error: Optional[str] = None

    @property
    def ok(self) -> bool:
        """True unless the image failed (no face found is not a failure)."""
        return self.error is None

    def __len__(self) -> int:
        return len(self.faces)

    def __iter__(self):
        return iter(self.faces)

    def __getitem__(self, index: int) -> FaceResult:
        return self.faces[index]

    def to_dict(self) -> dict:
        """JSON-ready summary (no image arrays)."""
        shape = None if self.image is None else list(self.image.shape[:2])
        return dict(source=self.source, image_shape=shape, error=self.error,
                    warning=self.warning, faces=[f.to_dict() for f in self.faces])


def to_image_array(image: ImageLike, color_type: str = "grey") -> np.ndarray:
    """Bring one image to ``(H, W, C)`` uint8, ``C`` 1 (grey) or 3 (RGB).

    Args:
        image: A file path; a numpy array ``(H, W)``, ``(H, W, 1)``,
            ``(H, W, 3)`` (RGB) or ``(H, W, 4)`` (alpha dropped), uint8 or
            float in ``[0, 1]``; a tensor ``(H, W)`` or ``(C, H, W)`` likewise;
            or a PIL image.
        color_type (str): ``'grey'`` or ``'color'``. Defaults to ``'grey'``.

    Returns:
        np.ndarray: ``(H, W, 1)`` or ``(H, W, 3)`` uint8.

    Raises:
        FileNotFoundError, DataFileError: An unreadable file.
        TypeError, ValueError: Not an image.
    """
    if isinstance(image, (str, os.PathLike)):
        return read_image(image, color_type)
    if isinstance(image, torch.Tensor):
        arr = image.detach().cpu()
        if arr.dim() == 3 and arr.shape[0] in (1, 3, 4):
            arr = arr.permute(1, 2, 0)
        arr = arr.numpy()
    elif hasattr(image, "mode") and hasattr(image, "convert"):  # a PIL image
        arr = np.asarray(image.convert("L" if color_type == "grey" else "RGB"))
    elif isinstance(image, np.ndarray):
        arr = image
    else:
        raise TypeError(f"expected an image path, numpy array, tensor or PIL image, got "
                        f"{type(image).__name__}")
    if arr.ndim == 2:
        arr = arr[..., None]
    if arr.ndim != 3 or arr.shape[2] not in (1, 3, 4) or min(arr.shape[:2]) < 1:
        raise ValueError(f"expected an (H, W), (H, W, 1|3|4) or (C, H, W) image, got shape "
                         f"{tuple(arr.shape)}")
    if arr.dtype != np.uint8:
        if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.number):
            raise TypeError(f"expected uint8 or float pixels, got dtype {arr.dtype}")
        arr = arr.astype(np.float64)
        scale = 255.0 if np.nanmax(arr) <= 1.0 else 1.0
        arr = np.clip(np.nan_to_num(arr) * scale, 0, 255).round().astype(np.uint8)
    arr = arr[..., :3]
    if color_type == "grey" and arr.shape[2] == 3:
        arr = cv2.cvtColor(np.ascontiguousarray(arr), cv2.COLOR_RGB2GRAY)[..., None]
    elif color_type == "color" and arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    return np.ascontiguousarray(arr)


def _dataset_cfg(cfg: Config) -> dict:
    for key in ("test_dataloader", "val_dataloader", "train_dataloader"):
        dataset = (cfg.get(key) or {}).get("dataset")
        while isinstance(dataset, dict) and ("dataset" in dataset or "datasets" in dataset):
            dataset = dataset.get("dataset") or dataset["datasets"][0]
        if isinstance(dataset, dict):
            return dataset
    return {}


def class_names_from_config(cfg: Config, num_classes: int) -> Tuple[str, ...]:
    """The class names a config's test dataset uses (CK+ names as fallback).

    Looked up in order: the dataset's ``classes`` / ``metainfo.classes``; the
    dataset class's ``METAINFO`` (CK+ datasets by their ``num_classes``); the
    CK+ 7- or 6-class names; ``class_0 ...``.

    Args:
        cfg (Config): The config.
        num_classes (int): The model's class count; names of another length
            are ignored.

    Returns:
        tuple[str, ...]: ``num_classes`` names.
    """
    from errkit.datasets.ckplus_dataset import CKPLUS_CLASSES_6, CKPLUS_CLASSES_7, CKPlusDataset
    from errkit.registry import DATASETS

    dataset = _dataset_cfg(cfg)
    candidates = [dataset.get("classes"), (dataset.get("metainfo") or {}).get("classes")]
    kind = dataset.get("type")
    cls = DATASETS.lookup(kind) if isinstance(kind, str) else kind
    if isinstance(cls, type):
        if issubclass(cls, CKPlusDataset):
            candidates.append(CKPLUS_CLASSES_6 if dataset.get("num_classes") == 6
                              else CKPLUS_CLASSES_7)
        candidates.append(getattr(cls, "METAINFO", {}).get("classes"))
    candidates += [CKPLUS_CLASSES_7, CKPLUS_CLASSES_6]
    for names in candidates:
        if names and len(names) == num_classes:
            return tuple(str(n) for n in names)
    return tuple(f"class_{i}" for i in range(num_classes))


def load_inference_model(config: Union[str, Config], checkpoint: Optional[str] = None,
                         device: Union[str, torch.device] = "cpu",
                         cfg_options: Optional[dict] = None) -> Tuple[torch.nn.Module, Config,
                                                                      dict]:
    """Build a config's model, load a checkpoint into it and set eval mode.

    Args:
        config (str | Config): Config file (resolved like ``errkit test``) or
            a loaded config.
        checkpoint (str, optional): An mmengine checkpoint (``state_dict`` +
            ``meta`` + ...) or a bare state dict, loaded with
            :func:`~errkit.engine.checkpoint.safe_load`. None: random weights.
        device (str | torch.device): Defaults to ``'cpu'``.
        cfg_options (dict, optional): Config overrides.

    Returns:
        tuple: ``(model, cfg, meta)``, ``meta`` the checkpoint's ``meta`` dict.

    Raises:
        ConfigNotFoundError: The config file is missing.
        CheckpointError: The checkpoint is missing, unreadable or untrusted.
        CheckpointMismatchError: Its keys or shapes do not fit the model.
    """
    from errkit.config import load_config
    from errkit.registry import MODELS

    if isinstance(config, Config):
        cfg = Config(config.to_dict(), filename=config.filename)
        if cfg_options:
            cfg.merge_from_dict(cfg_options)
    else:
        cfg = load_config(str(config), cfg_options)
    name = cfg.filename or "<config>"
    if "model" not in cfg:
        raise KeyError(f"config {name} has no `model`")
    model = MODELS.build(cfg.model)
    meta: dict = {}
    if checkpoint is not None:
        ckpt = safe_load(str(checkpoint))
        state = state_dict_from_checkpoint(ckpt, str(checkpoint))
        meta = ckpt.get("meta") if isinstance(ckpt.get("meta"), dict) else {}
        own = model.state_dict()
        missing = [k for k in own if k not in state and not k.endswith("_extra_state")
                   and not k.startswith(INFERENCE_OPTIONAL_PREFIXES)]
        unexpected = [k for k in state if k not in own]
        shapes = [f"{k}: checkpoint {tuple(v.shape)} vs model {tuple(own[k].shape)}"
                  for k, v in state.items() if k in own and torch.is_tensor(v)
                  and torch.is_tensor(own[k]) and v.shape != own[k].shape]
        if missing or unexpected or shapes:
            parts = [f"{len(v)} {what} (e.g. {', '.join(v[:3])})" for what, v in (
                ("keys missing from the checkpoint", missing),
                ("unexpected keys in the checkpoint", unexpected),
                ("tensors of another shape", shapes)) if v]
            raise CheckpointMismatchError(
                f"checkpoint {checkpoint} does not match the model of config {name}: "
                + "; ".join(parts) + ". Was it trained with another config (or other "
                "--cfg-options)?")
        model.load_state_dict(state, strict=False)
    return model.to(device).eval(), cfg, meta


def _pipeline_settings(cfg: Config) -> Tuple[int, str]:
    """``AlignFace`` size and ``LoadFaceImages`` colour type of the test pipeline."""
    pipeline = _dataset_cfg(cfg).get("pipeline") or cfg.get("test_pipeline") or []
    size = color = None
    for step in pipeline:
        kind = step.get("type") if isinstance(step, dict) else None
        if kind in ("AlignFace", AlignFace):
            size = int(step.get("size", 128))
        if "color_type" in (step if isinstance(step, dict) else {}):
            color = step["color_type"]
    if size is None:
        raise ValueError(f"config {cfg.filename}: its test pipeline has no AlignFace step, so "
                         "the face size the model expects is unknown")
    return size, color or "grey"


class ExpressionRemover:
    """Find faces, recognise their expression and remove it, from any images.

    Builds the model of an errkit config (``ERRNet``, ``TimmClassifier`` or any
    ``MODELS`` entry with ``infer`` or a ``mode='tensor'`` forward returning
    logits), loads a checkpoint safely and reads the face size, colour type and
    class names from the config (class names from the checkpoint's
    ``meta['dataset_meta']`` when it has them).

    Args:
        config (str | Config): Config file or loaded config.
        checkpoint (str, optional): Checkpoint file. None: random weights (a
            warning).
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
        self.model, self.cfg, meta = load_inference_model(config, checkpoint, device, cfg_options)
        if checkpoint is None:
            warnings.warn("ExpressionRemover: no checkpoint given, the model has random weights")
        self.config_path = self.cfg.filename
        self.checkpoint_path = checkpoint
        self.device = torch.device(device)
        self.img_size, self.color_type = _pipeline_settings(self.cfg)
        self.num_classes = int(getattr(self.model, "num_classes", 7))
        names = (meta.get("dataset_meta") or {}).get("classes")
        if names and len(names) == self.num_classes:
            self.classes = tuple(str(n) for n in names)
        else:
            self.classes = class_names_from_config(self.cfg, self.num_classes)
        self.aligned = bool(aligned)
        self.batch_size = max(1, int(batch_size))
        self.detector_note: Optional[str] = None
        self.detector = None if self.aligned else self._make_detector(detector)
        self._align = AlignFace(size=self.img_size)

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

    @torch.no_grad()
    def _run(self, crops: Sequence[np.ndarray]) -> Dict[str, np.ndarray]:
        batch = torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).contiguous()
        data = self.model.data_preprocessor({"inputs": {"img": batch}, "data_samples": None},
                                            False)
        img = data["inputs"]["img"] if isinstance(data["inputs"], dict) else data["inputs"]
        if callable(getattr(self.model, "infer", None)):
            out = dict(self.model.infer(img))
        else:
            logits = self.model(img, mode="tensor")
            out = dict(probs=logits.float().softmax(dim=1))
        return {k: v.float().cpu().numpy() for k, v in out.items() if torch.is_tensor(v)}

    def _face_result(self, face: dict, out: Dict[str, np.ndarray], i: int) -> FaceResult:
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
            aligned_landmarks=face["aligned_landmarks"])

    # ------------------------------------------------------------------ public
    def predict(self, images: Union[ImageLike, Sequence[ImageLike]]
                ) -> Union[ImageResult, List[ImageResult]]:
        """Detect, align and analyse the faces of one image or of a list.

        Faces of all images are batched. An image that cannot be read or
        analysed gets an :attr:`ImageResult.error` naming it; the others are
        still processed. An image without faces gets an empty face list and a
        :attr:`ImageResult.warning`.

        Args:
            images: One image or a list (paths, arrays, tensors, PIL images;
                see :func:`to_image_array`); a 4-D array / tensor is a batch
                ``(B, H, W, C)`` / ``(B, C, H, W)``.

        Returns:
            ImageResult | list[ImageResult]: One result per image (a list when
            ``images`` is a list or a batch).
        """
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
            pending += [(result, face) for face in faces]
        for start in range(0, len(pending), self.batch_size):
            chunk = pending[start:start + self.batch_size]
            try:
                out = self._run([face["crop"] for _, face in chunk])
                faces = [self._face_result(face, out, i) for i, (_, face) in enumerate(chunk)]
            except (RuntimeError, ValueError) as exc:
                for result, _ in chunk:
                    result.error = f"the model failed on {result.source}: {exc}"
                    result.faces.clear()
                continue
            for (result, _), face_result in zip(chunk, faces):
                if result.ok:
                    result.faces.append(face_result)
        return results[0] if single else results

    __call__ = predict
