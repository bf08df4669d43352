"""ERR-Net's recognizer: residual branches, feature fusion and the classifier head."""

from __future__ import annotations

import inspect
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn as nn

from errkit.registry import HEADS, RESIDUALS

from .errnet_generator import with_defaults
from .residuals import BUILD_ARGUMENTS, BaseResidual, ResidualContext


def _accepted_arguments(cls: type) -> Optional[set]:
    """Names ``cls.__init__`` accepts; None when it takes ``**kwargs``."""
    params = inspect.signature(cls.__init__).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return None
    return {p.name for p in params}


def build_residual(cfg: dict, build_args: Dict[str, object]) -> BaseResidual:
    """Build one residual branch, filling in the :data:`BUILD_ARGUMENTS` it accepts.

    Args:
        cfg (dict): ``RESIDUALS`` config.
        build_args (dict): Values of :data:`BUILD_ARGUMENTS` known to the model.

    Returns:
        BaseResidual: The branch.
    """
    if not isinstance(cfg, dict) or "type" not in cfg:
        raise TypeError(f"each entry of `residuals` must be a config dict with a 'type', got "
                        f"{cfg!r}")
    cls = cfg["type"] if isinstance(cfg["type"], type) else RESIDUALS.get(cfg["type"])
    accepted = _accepted_arguments(cls)
    defaults = {k: v for k, v in build_args.items()
                if k in BUILD_ARGUMENTS and (accepted is None or k in accepted)}
    branch = RESIDUALS.build(with_defaults(cfg, **defaults))
    if not isinstance(branch, BaseResidual):
        raise TypeError(f"residual '{cfg['type']}' built a {type(branch).__name__}, which is "
                        "not a subclass of errkit.models.residuals.BaseResidual")
    if not isinstance(getattr(branch, "out_channels", None), int):
        raise TypeError(f"residual {type(branch).__name__} must set an int `out_channels`")
    branch.check_inference_fields()
    return branch


class ResidualRecognizer(nn.Module):
    """Classify the expression from the residual branches' features.

    Each residual branch turns the :class:`~errkit.models.residuals.ResidualContext`
    into a vector; the vectors, optionally the segment activations ``(B, K)`` and
    optionally the pooled deepest encoder feature are concatenated,
    layer-normalised (the sources have different scales) and classified by the
    head. With ``fusion_norm='branch'`` each source is layer-normalised on its
    own before the concatenation, so that a short vector (a landmark embedding)
    is not drowned by a long one (pooled convolutional features).

    Args:
        residuals (Sequence[dict]): ``RESIDUALS`` configs; may be empty.
        head (dict): ``HEADS`` config; ``in_channels`` and ``num_classes`` are
            filled in.
        num_classes (int): Number of classes.
        build_args (dict): Values of
            :data:`~errkit.models.residuals.BUILD_ARGUMENTS` for the branches
            (``in_channels``, ``encoder_channels``, ...).
        use_segments_in_head (bool): Fuse the segment activations. Defaults to True.
        use_encoder_features_in_head (bool): Fuse the globally pooled deepest
            encoder feature. Defaults to False.
        fusion_norm (bool | str): ``True``: one LayerNorm over the fused
            vector; ``'branch'``: one LayerNorm per source; ``False``: none.
            Defaults to True.

    Shape:
        - Output of :meth:`forward`: ``logits`` ``(B, num_classes)`` and
          ``features`` ``(B, F)``.
    """

    def __init__(self, residuals: Sequence[dict], head: dict, num_classes: int,
                 build_args: Dict[str, object], use_segments_in_head: bool = True,
                 use_encoder_features_in_head: bool = False,
                 fusion_norm: Union[bool, str] = True) -> None:
        super().__init__()
        self.residuals = nn.ModuleList([build_residual(cfg, build_args) for cfg in residuals])
        self.use_segments_in_head = use_segments_in_head
        self.use_encoder_features_in_head = use_encoder_features_in_head
        widths = [branch.out_channels for branch in self.residuals]
        if use_segments_in_head:
            widths.append(int(build_args["num_segments"]))
        if use_encoder_features_in_head:
            widths.append(int(list(build_args["encoder_channels"])[-1]))
        width = sum(widths)
        if width == 0:
            raise ValueError("the recognizer has no input: give `residuals`, or set "
                             "use_segments_in_head / use_encoder_features_in_head")
        if fusion_norm not in (True, False, "branch"):
            raise ValueError(f"fusion_norm must be True, False or 'branch', got {fusion_norm!r}")
        self.in_channels = width
        self.norm = nn.LayerNorm(width) if fusion_norm is True else nn.Identity()
        self.branch_norms = nn.ModuleList(
            [nn.LayerNorm(w) for w in widths] if fusion_norm == "branch" else [])
        self.head = HEADS.build(with_defaults(head, in_channels=width, num_classes=num_classes))

    @property
    def requires_landmarks(self) -> bool:
        """Whether any branch trains with landmarks."""
        return any(branch.requires_landmarks for branch in self.residuals)

    @property
    def requires_neutral(self) -> bool:
        """Whether any branch trains with the true neutral image."""
        return any(branch.requires_neutral for branch in self.residuals)

    def fuse(self, ctx: ResidualContext, branch_features: List[torch.Tensor]) -> torch.Tensor:
        """The fused feature vector.

        Args:
            ctx (ResidualContext): The batch's context.
            branch_features (list[Tensor]): Each branch's output, in order.

        Returns:
            Tensor: ``(B, in_channels)``.
        """
        parts = list(branch_features)
        if self.use_segments_in_head:
            parts.append(ctx.activations)
        if self.use_encoder_features_in_head:
            parts.append(ctx.encoder_features[-1].mean(dim=(2, 3)))
        parts = [p.float() for p in parts]
        if len(self.branch_norms):
            parts = [norm(p) for norm, p in zip(self.branch_norms, parts)]
        return self.norm(torch.cat(parts, dim=1))

    def forward(self, ctx: ResidualContext,
                labels: Optional[torch.Tensor] = None) -> Dict[str, torch.Tensor]:
        """Classify.

        Args:
            ctx (ResidualContext): The batch's context.
            labels (Tensor, optional): ``(B,)`` labels for margin heads in training.

        Returns:
            dict: ``logits``, ``features`` (fused) and ``branch_features``
            (list, one ``(B, out_channels)`` tensor per branch).
        """
        branch_features = [branch(ctx) for branch in self.residuals]
        features = self.fuse(ctx, branch_features)
        logits = self.head(features, labels)
        return dict(logits=logits, features=features, branch_features=branch_features)

    def branch_losses(self, ctx: ResidualContext,
                      branch_features: List[torch.Tensor]) -> Dict[str, torch.Tensor]:
        """Every branch's own training terms.

        Args:
            ctx (ResidualContext): A training context.
            branch_features (list[Tensor]): What :meth:`forward` returned as
                ``branch_features`` for ``ctx``.

        Returns:
            dict[str, Tensor]: ``loss_*`` terms of all branches.

        Raises:
            ValueError: Two branches return the same name, or a name lacks the
                ``loss_`` prefix.
        """
        losses: Dict[str, torch.Tensor] = {}
        for branch, feats in zip(self.residuals, branch_features):
            for name, value in branch.loss(ctx, feats).items():
                if not name.startswith("loss_"):
                    raise ValueError(f"{type(branch).__name__}.loss returned '{name}'; loss "
                                     "terms must be named 'loss_*'")
                if name in losses:
                    raise ValueError(f"two residual branches return the loss term '{name}'")
                losses[name] = value
        return losses
