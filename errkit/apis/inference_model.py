"""Build a config's model for inference and load a checkpoint into it, checked.

Also reads from the config what inference needs besides the model: the face
size and colour type of the test pipeline and the class names.
"""

from __future__ import annotations

from typing import Optional, Tuple, Union

import torch
from mmengine.config import Config

from errkit.config import load_config
from errkit.datasets.ckplus_dataset import CKPLUS_CLASSES_6, CKPLUS_CLASSES_7, CKPlusDataset
from errkit.datasets.transforms.align_face import AlignFace
from errkit.registry import DATASETS, MODELS
from errkit.utils.checkpoint import (INFERENCE_OPTIONAL_PREFIXES, CheckpointMismatchError,
                                     check_state_dict_matches, safe_load,
                                     state_dict_from_checkpoint)
from errkit.utils.checkpoint_path import resolve_checkpoint

__all__ = ["CheckpointMismatchError", "INFERENCE_OPTIONAL_PREFIXES", "load_inference_model",
           "class_names_from_config", "face_input_settings"]

# INFERENCE_OPTIONAL_PREFIXES and CheckpointMismatchError are importable from here too;
# they are documented in errkit.utils.checkpoint.


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
            :func:`~errkit.utils.checkpoint.safe_load`; a ``last_checkpoint``
            file or a work dir stands for the checkpoint it names (see
            :func:`~errkit.utils.checkpoint_path.resolve_checkpoint`). None:
            random weights.
        device (str | torch.device): Defaults to ``'cpu'``.
        cfg_options (dict, optional): Config overrides.

    Returns:
        tuple: ``(model, cfg, meta)``, ``meta`` the checkpoint's ``meta`` dict.

    Raises:
        ConfigNotFoundError: The config file is missing.
        CheckpointError: The checkpoint is missing, unreadable or untrusted
            (:class:`~errkit.utils.checkpoint_path.CheckpointNotFoundError`
            when nothing at ``checkpoint`` names one).
        CheckpointMismatchError: Its keys or shapes do not fit the model.
    """
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
        checkpoint = resolve_checkpoint(str(checkpoint))
        ckpt = safe_load(checkpoint)
        state = state_dict_from_checkpoint(ckpt, str(checkpoint))
        meta = ckpt.get("meta") if isinstance(ckpt.get("meta"), dict) else {}
        check_state_dict_matches(model.state_dict(), state, str(checkpoint),
                                 f"the model of config {name}", INFERENCE_OPTIONAL_PREFIXES)
        model.load_state_dict(state, strict=False)
    return model.to(device).eval(), cfg, meta


def face_input_settings(cfg: Config) -> Tuple[int, str]:
    """The face size and colour type a config's model expects.

    Read from the test pipeline: the ``size`` of its ``AlignFace`` step and the
    ``color_type`` of its loading step (``'grey'`` when none is given).

    Args:
        cfg (Config): The config.

    Returns:
        tuple: ``(size, color_type)``.

    Raises:
        ValueError: The test pipeline has no ``AlignFace`` step.
    """
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
