"""Expression recognition metrics: accuracy, per-class recall, macro F1, confusion matrix."""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Sequence

import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log
from mmengine.structures import BaseDataElement
from torchmetrics.functional.classification import (multiclass_accuracy,
                                                    multiclass_confusion_matrix,
                                                    multiclass_f1_score, multiclass_recall)

from errkit.registry import METRICS

__all__ = ["ExpressionMetric"]


def _field(sample: Any, name: str) -> Any:
    if isinstance(sample, BaseDataElement):
        return sample.get(name)
    return sample.get(name) if isinstance(sample, dict) else None


#: Suffix of the data-sample fields that hold the scores of a further test mode.
MODE_SCORE_SUFFIX = "_pred_score"


def _mode_predictions(sample: Any) -> Dict[str, int]:
    """``{mode: predicted class}`` of the ``<mode>_pred_score`` fields of a sample."""
    keys = sample.keys() if isinstance(sample, (dict, BaseDataElement)) else ()
    out = {}
    for key in keys:
        if key.endswith(MODE_SCORE_SUFFIX) and key != "pred_score":
            score = _field(sample, key)
            if score is not None:
                out[key[: -len(MODE_SCORE_SUFFIX)]] = int(torch.as_tensor(score).argmax(dim=-1))
    return out


@METRICS.register_module()
class ExpressionMetric(BaseMetric):
    """Accuracy, per-class recall, macro F1 and the confusion matrix of expressions.

    Reads ``gt_label`` and ``pred_label`` (or, failing that, the arg-max of
    ``pred_score``) of each data sample (:class:`~errkit.structures.FERDataSample`
    or its ``to_dict()``); samples without ``gt_label`` are ignored. The numbers
    come from :mod:`torchmetrics` (``multiclass_accuracy`` with
    ``average='micro'``, ``multiclass_recall`` with ``average=None``,
    ``multiclass_f1_score`` with ``average='macro'``,
    ``multiclass_confusion_matrix``), all as fractions in ``[0, 1]``.

    Returned keys (prefixed ``expr/`` by mmengine): ``accuracy``, ``macro_f1``,
    ``recall/<class name>`` (NaN for a class absent from the ground truth; macro
    F1 averages over the classes that occur in the predictions or the ground
    truth, torchmetrics' convention) and, unless ``return_confusion_matrix`` is
    False, ``confusion_matrix``: a nested list of ints, rows the true class,
    columns the predicted class, in the order of ``dataset_meta['classes']``.
    mmengine's ``RuntimeInfoHook`` stores such a non-scalar value with
    ``MessageHub.update_info`` instead of the scalar history: the log line prints
    it, scalar visualizer backends never receive it, and a plain list of ints
    keeps checkpoints loadable with ``torch.load(weights_only=True)``. The latest
    matrix is also kept as :attr:`last_confusion_matrix` (``LongTensor (K, K)``).

    Two kinds of further figures are computed when the samples carry them:

    - further label sets of the same faces (the meta information
      ``extra_labels = {name: class index}``, e.g. ``rated``: the category
      most observers chose; ``-1`` for unknown): ``<name>/accuracy``,
      ``<name>/macro_f1`` and ``<name>/count`` (faces with a known label);
    - predictions of further test modes (fields ``<mode>_pred_score``, e.g.
      ``given_neutral_pred_score`` when a model also recognises with the
      person's own neutral face): ``<mode>/accuracy``, ``<mode>/macro_f1``
      and, per further label set, ``<mode>/<name>/accuracy``.

    Args:
        num_classes (int, optional): Number of classes; needed only when the
            dataset meta information has no ``classes``. Defaults to None.
        return_confusion_matrix (bool): Include ``confusion_matrix`` in the
            returned dict. Defaults to True.
        collect_device (str): ``'cpu'`` or ``'gpu'``, for distributed result
            collection. Defaults to ``'cpu'``.
        prefix (str, optional): Key prefix. Defaults to None (``'expr'``).
        collect_dir (str, optional): Temporary folder for ``collect_device='cpu'``
            in distributed runs. Defaults to None.

    Examples:
        >>> import torch
        >>> from errkit.structures import FERDataSample
        >>> metric = ExpressionMetric()
        >>> metric.dataset_meta = {'classes': ('happy', 'sad')}
        >>> samples = [FERDataSample().set_gt_label(g).set_pred_score(torch.tensor(s))
        ...            for g, s in [(0, [0.9, 0.1]), (1, [0.8, 0.2]), (1, [0.3, 0.7])]]
        >>> metric.process(None, [s.to_dict() for s in samples])
        >>> res = metric.evaluate(3)
        >>> round(res['expr/accuracy'], 4), res['expr/recall/sad'], res['expr/confusion_matrix']
        (0.6667, 0.5, [[1, 0], [1, 1]])
    """

    default_prefix: Optional[str] = "expr"

    def __init__(self, num_classes: Optional[int] = None, return_confusion_matrix: bool = True,
                 collect_device: str = "cpu", prefix: Optional[str] = None,
                 collect_dir: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix, collect_dir=collect_dir)
        if num_classes is not None and int(num_classes) < 1:
            raise ValueError(f"ExpressionMetric: num_classes must be >= 1, got {num_classes}")
        self.num_classes = None if num_classes is None else int(num_classes)
        self.return_confusion_matrix = bool(return_confusion_matrix)
        #: The confusion matrix of the latest :meth:`compute_metrics` call.
        self.last_confusion_matrix: Optional[torch.Tensor] = None
        self._warned_empty = False

    def process(self, data_batch: Any, data_samples: Sequence[Any]) -> None:
        """Store the true and predicted label of every sample of a batch.

        Args:
            data_batch (Any): The batch from the dataloader (unused).
            data_samples (Sequence[dict | FERDataSample]): The model's outputs.

        Raises:
            ValueError: If a labelled sample has neither ``pred_label`` nor
                ``pred_score``.
        """
        gts: List[torch.Tensor] = []
        preds: List[torch.Tensor] = []
        num_scores: List[int] = []
        extras: List[Dict[str, Any]] = []
        for index, sample in enumerate(data_samples):
            gt = _field(sample, "gt_label")
            pred = _field(sample, "pred_label")
            score = _field(sample, "pred_score")
            if pred is None and score is not None:
                pred = torch.as_tensor(score).argmax(dim=-1)
            if gt is not None and pred is None:
                raise ValueError(f"ExpressionMetric: data sample {index} of the batch has "
                                 f"'gt_label' but neither 'pred_label' nor 'pred_score'; "
                                 f"is the model run in 'predict' mode?")
            missing = torch.tensor([-1])
            gts.append(missing if gt is None else torch.as_tensor(gt).reshape(-1)[:1].cpu())
            preds.append(missing if pred is None else torch.as_tensor(pred).reshape(-1)[:1].cpu())
            num_scores.append(-1 if score is None else int(torch.as_tensor(score).shape[-1]))
            extras.append({"extra_labels": dict(_field(sample, "extra_labels") or {}),
                           "modes": _mode_predictions(sample)})
        if not gts:
            return
        gt_list = torch.cat(gts).tolist()
        pred_list = torch.cat(preds).tolist()
        for gt, pred, k, extra in zip(gt_list, pred_list, num_scores, extras):
            self.results.append({"gt_label": None if gt < 0 else int(gt),
                                 "pred_label": None if gt < 0 else int(pred),
                                 "num_scores": k,
                                 "extra_labels": {str(n): int(v) for n, v in
                                                  extra["extra_labels"].items()},
                                 "modes": extra["modes"] if gt >= 0 else {}})

    def _class_names(self, results: List[dict]) -> List[str]:
        classes = (self.dataset_meta or {}).get("classes")
        if classes is not None:
            classes = [str(c) for c in classes]
            if self.num_classes is not None and self.num_classes != len(classes):
                raise ValueError(f"ExpressionMetric: num_classes={self.num_classes} but "
                                 f"dataset_meta['classes'] has {len(classes)} names")
            return classes
        num = self.num_classes
        if num is None:
            num = max((r["num_scores"] for r in results), default=-1)
        if num is None or num < 1:
            raise ValueError("ExpressionMetric: the number of classes is unknown; set "
                             "dataset_meta['classes'] (the dataset's metainfo) or num_classes")
        return [f"class_{i}" for i in range(num)]

    def compute_metrics(self, results: List[dict]) -> Dict[str, Any]:
        """Compute the metrics over all stored samples.

        Args:
            results (list[dict]): What :meth:`process` stored, from every rank.

        Returns:
            dict: ``accuracy``, ``macro_f1``, ``recall/<class>`` (floats) and
            ``confusion_matrix`` (list of lists of int); empty when no sample
            was labelled.
        """
        labelled = [r for r in results if r["gt_label"] is not None]
        if not labelled:
            if not self._warned_empty:
                print_log("ExpressionMetric: no data sample had a 'gt_label'; returning no "
                          "metrics", logger="current", level=logging.WARNING)
                self._warned_empty = True
            return {}
        names = self._class_names(results)
        num = len(names)
        target = torch.tensor([r["gt_label"] for r in labelled], dtype=torch.long)
        preds = torch.tensor([r["pred_label"] for r in labelled], dtype=torch.long)
        for field, values in (("gt_label", target), ("pred_label", preds)):
            if int(values.min()) < 0 or int(values.max()) >= num:
                raise ValueError(f"ExpressionMetric: a '{field}' lies outside [0, {num - 1}] "
                                 f"for the classes {names}")
        accuracy = multiclass_accuracy(preds, target, num_classes=num, average="micro")
        macro_f1 = multiclass_f1_score(preds, target, num_classes=num, average="macro")
        recall = multiclass_recall(preds, target, num_classes=num, average=None,
                                   zero_division=float("nan"))
        confusion = multiclass_confusion_matrix(preds, target, num_classes=num)
        self.last_confusion_matrix = confusion.long()
        metrics: Dict[str, Any] = {"accuracy": float(accuracy), "macro_f1": float(macro_f1)}
        for name, value in zip(names, recall.tolist()):
            metrics[f"recall/{name}"] = float(value)
        if self.return_confusion_matrix:
            metrics["confusion_matrix"] = confusion.long().tolist()
        metrics.update(self._further_figures(labelled, num))
        return metrics

    @staticmethod
    def _further_figures(labelled: List[dict], num: int) -> Dict[str, Any]:
        """Figures against further label sets and of further test modes."""
        def scores(pairs: List[tuple], prefix: str) -> Dict[str, Any]:
            if not pairs:
                return {}
            pred = torch.tensor([p for p, _ in pairs], dtype=torch.long)
            target = torch.tensor([t for _, t in pairs], dtype=torch.long)
            return {
                f"{prefix}/accuracy": float(multiclass_accuracy(
                    pred, target, num_classes=num, average="micro")),
                f"{prefix}/macro_f1": float(multiclass_f1_score(
                    pred, target, num_classes=num, average="macro")),
            }

        def valid(label: int) -> bool:
            return 0 <= label < num

        out: Dict[str, Any] = {}
        label_sets = sorted({n for r in labelled for n in r.get("extra_labels", {})})
        for name in label_sets:
            pairs = [(r["pred_label"], r["extra_labels"][name]) for r in labelled
                     if valid(r.get("extra_labels", {}).get(name, -1))]
            out.update(scores(pairs, name))
            out[f"{name}/count"] = len(pairs)
        modes = sorted({m for r in labelled for m in r.get("modes", {})})
        for mode in modes:
            rows = [r for r in labelled if mode in r.get("modes", {})]
            out.update(scores([(r["modes"][mode], r["gt_label"]) for r in rows], mode))
            out[f"{mode}/count"] = len(rows)
            for name in label_sets:
                pairs = [(r["modes"][mode], r["extra_labels"][name]) for r in rows
                         if valid(r.get("extra_labels", {}).get(name, -1))]
                out.update(scores(pairs, f"{mode}/{name}"))
        return out
