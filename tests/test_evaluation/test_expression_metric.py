"""Tests for errkit.evaluation.metrics.ExpressionMetric."""

import io
import math

import pytest
import torch
from mmengine.evaluator import Evaluator
from mmengine.hooks import RuntimeInfoHook
from mmengine.logging import MessageHub

from errkit.evaluation.metrics import ExpressionMetric
from errkit.evaluation.metrics import expression_metric as module
from errkit.structures import FERDataSample

CLASSES = ("anger", "happy", "sad")
# true:  0 0 1 1 1 2     confusion (rows true, cols predicted):
# pred:  0 1 1 1 0 2     [[1, 1, 0], [1, 2, 0], [0, 0, 1]]
GT = [0, 0, 1, 1, 1, 2]
PRED = [0, 1, 1, 1, 0, 2]


def samples(gts, preds, num_classes=3):
    out = []
    for gt, pred in zip(gts, preds):
        score = torch.full((num_classes,), 0.1)
        score[pred] = 0.8
        sample = FERDataSample(metainfo=dict(subject="S1"))
        if gt is not None:
            sample.set_gt_label(gt)
        out.append(sample.set_pred_score(score))
    return out


def evaluate(metric, data_samples, classes=CLASSES):
    evaluator = Evaluator(metric)
    if classes is not None:
        evaluator.dataset_meta = {"classes": classes}
    evaluator.process(data_samples[:4])
    evaluator.process(data_samples[4:])
    return evaluator.evaluate(len(data_samples))


def test_known_predictions_through_the_evaluator():
    metric = ExpressionMetric()
    res = evaluate(metric, samples(GT, PRED))
    assert list(res)[0] == "expr/accuracy"
    assert res["expr/accuracy"] == pytest.approx(4 / 6)
    assert res["expr/recall/anger"] == pytest.approx(0.5)
    assert res["expr/recall/happy"] == pytest.approx(2 / 3)
    assert res["expr/recall/sad"] == pytest.approx(1.0)
    # per-class F1: 0.5, 2/3, 1
    assert res["expr/macro_f1"] == pytest.approx((0.5 + 2 / 3 + 1.0) / 3)
    assert res["expr/confusion_matrix"] == [[1, 1, 0], [1, 2, 0], [0, 0, 1]]
    assert torch.equal(metric.last_confusion_matrix,
                       torch.tensor([[1, 1, 0], [1, 2, 0], [0, 0, 1]]))
    scalars = {k: v for k, v in res.items() if k != "expr/confusion_matrix"}
    assert all(isinstance(v, float) for v in scalars.values())


def test_pred_score_without_pred_label_and_custom_prefix():
    dicts = []
    for s in samples(GT, PRED):
        d = s.to_dict()
        d.pop("pred_label")
        dicts.append(d)
    metric = ExpressionMetric(prefix="fold3", return_confusion_matrix=False)
    metric.dataset_meta = {"classes": CLASSES}
    metric.process(None, dicts)
    res = metric.evaluate(len(dicts))
    assert res["fold3/accuracy"] == pytest.approx(4 / 6)
    assert "fold3/confusion_matrix" not in res
    assert metric.last_confusion_matrix.sum() == 6


def test_absent_class_and_unlabelled_samples():
    # 'sad' never occurs in truth or prediction; one sample is unlabelled
    res = evaluate(ExpressionMetric(), samples([0, 1, 1, None, 0], [0, 1, 0, 2, 0]))
    assert res["expr/accuracy"] == pytest.approx(3 / 4)
    assert math.isnan(res["expr/recall/sad"])
    assert res["expr/recall/happy"] == pytest.approx(0.5)
    # F1 anger: tp 2, fp 1, fn 0 -> 0.8; happy: tp 1, fp 0, fn 1 -> 2/3; sad excluded
    assert res["expr/macro_f1"] == pytest.approx((0.8 + 2 / 3) / 2)
    assert res["expr/confusion_matrix"] == [[2, 0, 0], [1, 1, 0], [0, 0, 0]]


def test_no_labels_returns_empty_and_logs_once(monkeypatch):
    calls = []
    monkeypatch.setattr(module, "print_log", lambda msg, **kw: calls.append(msg))
    metric = ExpressionMetric()
    for _ in range(2):
        assert evaluate(metric, samples([None, None], [0, 1])) == {}
    assert len(calls) == 1 and "gt_label" in calls[0]


def test_class_count_from_num_classes_or_scores():
    res = evaluate(ExpressionMetric(num_classes=3), samples(GT, PRED), classes=None)
    assert set(k for k in res if "recall" in k) == {f"expr/recall/class_{i}" for i in range(3)}
    res = evaluate(ExpressionMetric(), samples(GT, PRED, num_classes=4), classes=None)
    assert res["expr/accuracy"] == pytest.approx(4 / 6)
    assert len(res["expr/confusion_matrix"]) == 4


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="num_classes=4"):
        evaluate(ExpressionMetric(num_classes=4), samples(GT, PRED))
    with pytest.raises(ValueError, match="gt_label"):
        evaluate(ExpressionMetric(), samples([0, 5], [0, 1]))
    bare = [FERDataSample().set_gt_label(0)]
    with pytest.raises(ValueError, match="predict"):
        ExpressionMetric().process(None, [s.to_dict() for s in bare])


def test_confusion_matrix_is_safe_for_mmengine_logging_and_checkpoints():
    res = evaluate(ExpressionMetric(), samples(GT, PRED))
    hub = MessageHub.get_instance("test_expression_metric")

    class Runner:
        message_hub = hub

    RuntimeInfoHook().after_val_epoch(Runner(), metrics=res)
    assert hub.get_scalar("val/expr/accuracy").current() == pytest.approx(4 / 6)
    assert "val/expr/confusion_matrix" not in hub.log_scalars
    assert hub.get_info("val/expr/confusion_matrix") == [[1, 1, 0], [1, 2, 0], [0, 0, 1]]
    buffer = io.BytesIO()
    torch.save({"runtime_info": hub.state_dict()["runtime_info"]}, buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=True)
    assert loaded["runtime_info"]["val/expr/confusion_matrix"] == [[1, 1, 0], [1, 2, 0],
                                                                   [0, 0, 1]]


def test_built_from_the_registry():
    from errkit.registry import METRICS

    metric = METRICS.build(dict(type="ExpressionMetric", num_classes=3))
    assert isinstance(metric, ExpressionMetric) and metric.prefix == "expr"
