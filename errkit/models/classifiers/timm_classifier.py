"""A plain timm image classifier: the first row of the ablation table."""

from __future__ import annotations

from typing import Dict, List, Optional, Union

import timm
import torch
from mmengine.model import BaseModel

from errkit.registry import MODELS
from errkit.structures import FERDataSample
from errkit.utils.checkpoint import load_backbone_weights

from ..losses.loss_builder import build_loss


@MODELS.register_module()
class TimmClassifier(BaseModel):
    """Classify expressions from the expressive face alone, with any timm model.

    The baseline that ERR-Net is compared against: same encoder, same data, same
    schedule, but no expression removal and no residual.

    Args:
        model_name (str): Any name of ``timm.list_models()``. Defaults to
            ``'resnet18'``.
        num_classes (int): Number of expression classes. Defaults to 7.
        in_channels (int): 1 (grey) or 3. Defaults to 3.
        pretrained (str, optional): Path of a local timm checkpoint; the weights
            are never downloaded. Defaults to None (train from scratch).
        loss (dict): ``LOSSES`` config of the classification term
            ``loss_cls``, with its ``loss_weight`` (and e.g. ``label_smoothing``).
            Defaults to ``dict(type='CrossEntropyLoss')``.
        drop_rate (float): Dropout before the classifier. Defaults to 0.
        data_preprocessor (dict, optional): Defaults to
            ``dict(type='FERDataPreprocessor')``.
        init_cfg (dict, optional): mmengine initialisation config.

    Examples:
        >>> import torch
        >>> from errkit.registry import MODELS
        >>> model = MODELS.build(dict(type='TimmClassifier', model_name='resnet10t',
        ...                           num_classes=7, in_channels=1))
        >>> model(torch.randn(2, 1, 64, 64), mode='tensor').shape
        torch.Size([2, 7])
    """

    def __init__(self, model_name: str = "resnet18", num_classes: int = 7, in_channels: int = 3,
                 pretrained: Optional[str] = None, loss: Optional[dict] = None,
                 drop_rate: float = 0.0, data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        if data_preprocessor is None:
            data_preprocessor = dict(type="FERDataPreprocessor")
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if model_name not in timm.list_models():
            close = timm.list_models(f"*{model_name[:6]}*")[:10]
            raise ValueError(f"'{model_name}' is not a timm model name. Close names: {close}")
        self.backbone = timm.create_model(model_name, pretrained=False, num_classes=num_classes,
                                          in_chans=in_channels, drop_rate=drop_rate)
        if pretrained is not None:
            load_backbone_weights(self.backbone, pretrained, skip_classifier=True)
        self.num_classes = num_classes
        self.loss_module = build_loss(loss if loss is not None else dict(type="CrossEntropyLoss"),
                                      "model.loss")

    @staticmethod
    def _image(inputs: Union[Dict[str, torch.Tensor], torch.Tensor]) -> torch.Tensor:
        return inputs["img"] if isinstance(inputs, dict) else inputs

    def forward(self, inputs, data_samples: Optional[List[FERDataSample]] = None,
                mode: str = "tensor"):
        """Run the classifier.

        Args:
            inputs (dict | Tensor): The preprocessed batch (``inputs['img']`` is
                used) or an image tensor ``(B, C, H, W)`` in ``[-1, 1]``.
            data_samples (list[FERDataSample], optional): Labels for ``'loss'``;
                filled with predictions in ``'predict'``.
            mode (str): ``'tensor'``, ``'loss'`` or ``'predict'``.

        Returns:
            Tensor of logits, a dict of losses, or the list of data samples.
        """
        logits = self.backbone(self._image(inputs))
        if mode == "tensor":
            return logits
        if mode == "loss":
            labels = torch.cat([s.gt_label for s in data_samples]).to(logits.device)
            acc = (logits.argmax(1) == labels).float().mean()
            return {"loss_cls": self.loss_module(logits.float(), labels), "acc": acc.detach()}
        if mode == "predict":
            probs = logits.float().softmax(dim=1)
            if data_samples is None:
                data_samples = [FERDataSample() for _ in range(len(probs))]
            for sample, p in zip(data_samples, probs):
                sample.set_pred_score(p)
            return data_samples
        raise ValueError(f"mode must be 'tensor', 'loss' or 'predict', got {mode!r}")
