"""A timm backbone as a multi-scale feature encoder."""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import timm
import torch
from mmengine.logging import print_log
from timm.models import adapt_input_conv
from torch import nn

from errkit.registry import ENCODERS
from errkit.utils.checkpoint import safe_load

#: Prefixes that wrappers add to the keys of a saved state dict.
_WRAPPER_PREFIXES = ("module.", "model.", "backbone.")
#: Keys of a checkpoint dict that may hold the state dict itself.
_STATE_DICT_KEYS = ("state_dict", "model", "state_dict_ema", "model_ema")


def _normalise_key(key: str) -> str:
    """Map a parameter name to a form shared by a timm model and its feature wrapper.

    timm's feature wrappers flatten nested modules and join their names with ``_``
    (``stages.0`` becomes ``stages_0``), so names are compared with every ``_``
    read as ``.``.
    """
    return key.replace("_", ".")


def _close_model_names(name: str, limit: int = 8) -> List[str]:
    """timm model names close to ``name``: a pattern search, then fuzzy ranking."""
    match = re.match(r"[A-Za-z]+", name)
    stem = match.group(0).lower() if match else name.lower()
    candidates = timm.list_models(f"*{stem}*") if stem else []
    ranked = difflib.get_close_matches(name, candidates, n=limit, cutoff=0.0)
    if not ranked:
        ranked = difflib.get_close_matches(name, timm.list_models(), n=limit, cutoff=0.6)
    return ranked


@ENCODERS.register_module()
class TimmEncoder(nn.Module):
    """Multi-scale features from any timm backbone (``features_only=True``).

    The backbone is always created without downloading anything
    (``pretrained=False``); ``pretrained`` names a *local* checkpoint (a timm or
    torchvision classifier state dict, or a checkpoint dict holding one under
    ``state_dict`` / ``model``), read with errkit's allow-listed loader
    (:func:`~errkit.utils.checkpoint.safe_load`).
    Classifier weights are dropped, the first convolution is adapted when the
    checkpoint has another number of input channels (timm's
    ``adapt_input_conv``), and the rest is loaded non-strictly; missing,
    unexpected and shape-mismatched keys are logged and kept in
    :attr:`load_report`.

    Args:
        model_name (str): A timm model name (``timm.list_models()``).
            Defaults to ``'resnet18'``.
        in_channels (int): Channels of the input images (1 grey, 3 colour).
            Defaults to 3.
        pretrained (str, optional): Path of a local checkpoint. Defaults to None
            (random initialisation).
        out_indices (Sequence[int], optional): Which feature levels to return
            (timm's ``out_indices``). Defaults to None (all levels).
        drop_path_rate (float): Stochastic depth rate, passed to timm when
            positive. Defaults to 0.0.

    Attributes:
        channels (list[int]): Channels of each returned feature level.
        reductions (list[int]): Stride of each level relative to the input.
        load_report (dict): ``missing``, ``unexpected`` and ``mismatched`` key
            lists of the last checkpoint load (empty lists without one).

    Shape:
        - Input: ``(B, in_channels, H, W)``.
        - Output: a list with one ``(B, channels[i], H / reductions[i],
          W / reductions[i])`` tensor per level (sizes rounded by the backbone).

    Examples:
        >>> import torch
        >>> enc = TimmEncoder('resnet10t', in_channels=1)
        >>> enc.reductions
        [2, 4, 8, 16, 32]
        >>> [f.shape[1] for f in enc(torch.zeros(1, 1, 64, 64))] == enc.channels
        True
    """

    def __init__(self, model_name: str = "resnet18", in_channels: int = 3,
                 pretrained: Optional[str] = None,
                 out_indices: Optional[Sequence[int]] = None,
                 drop_path_rate: float = 0.0) -> None:
        super().__init__()
        if not timm.is_model(model_name):
            close = _close_model_names(model_name)
            hint = ("Close timm names: " + ", ".join(close)) if close else \
                "No close timm name; see timm.list_models()."
            raise ValueError(f"TimmEncoder: unknown timm model '{model_name}'. {hint}")
        if in_channels < 1:
            raise ValueError(f"TimmEncoder: in_channels must be >= 1, got {in_channels}")
        kwargs = dict(features_only=True, in_chans=in_channels, pretrained=False)
        if out_indices is not None:
            kwargs["out_indices"] = tuple(out_indices)
        if drop_path_rate > 0:
            kwargs["drop_path_rate"] = drop_path_rate
        self.model_name = model_name
        self.in_channels = in_channels
        self.model = timm.create_model(model_name, **kwargs)
        self.channels: List[int] = list(self.model.feature_info.channels())
        self.reductions: List[int] = list(self.model.feature_info.reduction())
        self.load_report: Dict[str, List[str]] = dict(missing=[], unexpected=[], mismatched=[])
        if pretrained is not None:
            self.load_pretrained(pretrained)

    # ------------------------------------------------------------------ weights
    @staticmethod
    def _read_state_dict(path: Path) -> Dict[str, torch.Tensor]:
        ckpt = safe_load(str(path))
        if isinstance(ckpt, dict):
            for key in _STATE_DICT_KEYS:
                if isinstance(ckpt.get(key), dict):
                    ckpt = ckpt[key]
                    break
        if not isinstance(ckpt, dict) or not all(torch.is_tensor(v) for v in ckpt.values()):
            raise ValueError(f"TimmEncoder: checkpoint '{path}' holds no state dict of tensors")
        state = dict(ckpt)
        for prefix in _WRAPPER_PREFIXES:
            if state and all(k.startswith(prefix) for k in state):
                state = {k[len(prefix):]: v for k, v in state.items()}
        return state

    def _arch_cfg(self) -> Tuple[Optional[str], Optional[str]]:
        """(classifier, first_conv) module names of the architecture."""
        cfg = timm.get_pretrained_cfg(self.model_name)
        classifier = getattr(cfg, "classifier", None) if cfg is not None else None
        first_conv = getattr(cfg, "first_conv", None) if cfg is not None else None
        return classifier, first_conv

    def load_pretrained(self, path: str) -> Dict[str, List[str]]:
        """Load a local checkpoint into the backbone (non-strict, reported).

        Args:
            path (str): Path of the checkpoint file.

        Returns:
            dict: ``missing`` (model keys absent from the checkpoint),
            ``unexpected`` (checkpoint keys the encoder has no use for, classifier
            excluded) and ``mismatched`` (keys present in both with other shapes).

        Raises:
            FileNotFoundError: ``path`` does not exist.
            CheckpointError: ``path`` is unreadable or refused (see
                :func:`~errkit.utils.checkpoint.safe_load`).
        """
        file = Path(path).expanduser()
        if not file.is_file():
            raise FileNotFoundError(
                f"TimmEncoder: pretrained checkpoint '{path}' of '{self.model_name}' does "
                "not exist (errkit never downloads weights; give a local file or None)")
        state = self._read_state_dict(file)
        classifier, first_conv = self._arch_cfg()
        if classifier:
            for name in classifier if isinstance(classifier, (list, tuple)) else [classifier]:
                state = {k: v for k, v in state.items() if not k.startswith(name + ".")}

        own = self.model.state_dict()
        by_norm = {}
        for key in own:
            by_norm.setdefault(_normalise_key(key), []).append(key)
        first_conv_key = _normalise_key(first_conv + ".weight") if first_conv else None

        mapped, unexpected, mismatched = {}, [], []
        for key, value in state.items():
            target = key if key in own else None
            if target is None:
                matches = by_norm.get(_normalise_key(key), [])
                target = matches[0] if len(matches) == 1 else None
            if target is None:
                unexpected.append(key)
                continue
            if (_normalise_key(target) == first_conv_key and value.dim() == 4
                    and value.shape[1] != self.in_channels):
                value = adapt_input_conv(self.in_channels, value)
            if value.shape != own[target].shape:
                mismatched.append(f"{key}: checkpoint {tuple(value.shape)} vs "
                                  f"model {tuple(own[target].shape)}")
                continue
            mapped[target] = value
        result = self.model.load_state_dict(mapped, strict=False)
        self.load_report = dict(missing=list(result.missing_keys), unexpected=unexpected,
                                mismatched=mismatched)
        print_log(
            f"TimmEncoder: loaded {len(mapped)}/{len(own)} tensors of '{self.model_name}' "
            f"from {file}; missing {len(result.missing_keys)}: {result.missing_keys[:10]}, "
            f"unexpected {len(unexpected)}: {unexpected[:10]}, mismatched "
            f"{len(mismatched)}: {mismatched[:10]}", logger="current")
        return self.load_report

    # ------------------------------------------------------------------ forward
    def forward(self, x: torch.Tensor) -> List[torch.Tensor]:
        """Extract the feature pyramid.

        Args:
            x (Tensor): Images ``(B, in_channels, H, W)``.

        Returns:
            list[Tensor]: One feature map per level, shallowest first.
        """
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"TimmEncoder('{self.model_name}') expects (B, {self.in_channels}, H, W) "
                f"input, got {tuple(x.shape)}")
        return list(self.model(x))
