"""Tests for errkit.evaluation.metrics.RemovalMetric."""

import math

import pytest
import torch
from mmengine.evaluator import Evaluator
from torchmetrics.functional.image import (peak_signal_noise_ratio,
                                           structural_similarity_index_measure)

from errkit.evaluation.metrics import RemovalMetric
from errkit.evaluation.metrics import removal_metric as module
from errkit.structures import FERDataSample


def sample(neutral, pred=None, inp=None, has_neutral=True, label=0):
    s = FERDataSample(metainfo=dict(has_neutral=has_neutral)).set_gt_label(label)
    s.set_pred_score(torch.tensor([0.6, 0.4]))
    if neutral is not None:
        s.gt_neutral = neutral
    if pred is not None:
        s.pred_neutral = pred
    if inp is not None:
        s.input_img = inp
    return s


def faces(num=4, channels=1, size=24, seed=0):
    g = torch.Generator().manual_seed(seed)
    neutral = torch.rand(num, channels, size, size, generator=g) * 1.6 - 0.8
    expression = (torch.rand(num, channels, size, size, generator=g) - 0.5) * 0.6
    return neutral, expression


def run(metric, data_samples, batch=2):
    evaluator = Evaluator(metric)
    for i in range(0, len(data_samples), batch):
        evaluator.process(data_samples[i:i + batch])
    return evaluator.evaluate(len(data_samples))


@pytest.mark.parametrize("channels", [1, 3])
def test_gain_is_positive_when_removal_helps(channels):
    neutral, expression = faces(4, channels)
    inputs = (neutral + expression).clamp(-1, 1)
    preds = (neutral + 0.2 * expression).clamp(-1, 1)   # most of the expression removed
    res = run(RemovalMetric(), [sample(n, p, x) for n, p, x in zip(neutral, preds, inputs)])
    assert res["removal/num_samples"] == 4
    assert res["removal/psnr_gain_db"] > 0 and res["removal/ssim_gain"] > 0
    assert res["removal/psnr_db"] - res["removal/input_psnr_db"] == pytest.approx(
        res["removal/psnr_gain_db"])
    # per-sample mean of torchmetrics in [0, 1]
    to01 = lambda t: (t + 1) / 2  # noqa: E731
    expected = torch.stack([peak_signal_noise_ratio(to01(p)[None], to01(n)[None], data_range=1.0)
                            for p, n in zip(preds, neutral)]).mean()
    assert res["removal/psnr_db"] == pytest.approx(float(expected), rel=1e-5)
    expected_ssim = structural_similarity_index_measure(to01(preds), to01(neutral),
                                                        data_range=1.0)
    assert res["removal/ssim"] == pytest.approx(float(expected_ssim), rel=1e-5)

    worse = (neutral + 1.5 * expression).clamp(-1, 1)    # exaggerates instead of removing
    res = run(RemovalMetric(), [sample(n, p, x) for n, p, x in zip(neutral, worse, inputs)])
    assert res["removal/psnr_gain_db"] < 0 and res["removal/ssim_gain"] < 0


def test_known_psnr_of_a_constant_offset():
    neutral = torch.zeros(1, 16, 16)
    res = run(RemovalMetric(), [sample(neutral, neutral + 0.2, neutral - 0.4)])
    # offsets of 0.1 and 0.2 in [0, 1]: 20 dB and 10 log10(25) dB
    assert res["removal/psnr_db"] == pytest.approx(20.0, abs=1e-4)
    assert res["removal/input_psnr_db"] == pytest.approx(10 * math.log10(25), abs=1e-4)


def test_identical_images_are_capped_or_infinite():
    neutral, expression = faces(2)
    data = [sample(n, n.clone(), n + e) for n, e in zip(neutral, expression)]
    res = run(RemovalMetric(), data)
    assert res["removal/psnr_db"] == pytest.approx(100.0)
    assert res["removal/ssim"] == pytest.approx(1.0, abs=1e-5)
    assert math.isfinite(res["removal/psnr_gain_db"]) and res["removal/psnr_gain_db"] > 0
    res = run(RemovalMetric(psnr_cap=None), data)
    assert math.isinf(res["removal/psnr_db"])


def test_input_that_is_its_own_neutral_is_left_out_and_counted():
    # A duplicated file (an "expression" that is the neutral photo itself) would bring an
    # infinite (capped: 100 dB) input PSNR into the means and swamp the gain.
    neutral, expression = faces(3)
    data = [sample(n, n + 0.1, n + e) for n, e in zip(neutral[:2], expression[:2])]
    duplicate = sample(neutral[2], neutral[2] + 0.1, neutral[2].clone())
    res = run(RemovalMetric(), data + [duplicate], batch=3)
    ref = run(RemovalMetric(), data)
    assert res["removal/num_samples"] == 2 and res["removal/num_identical"] == 1
    assert ref["removal/num_identical"] == 0
    for key in ("psnr_db", "input_psnr_db", "psnr_gain_db", "ssim_gain"):
        assert res[f"removal/{key}"] == pytest.approx(ref[f"removal/{key}"])
    only = run(RemovalMetric(), [duplicate])
    assert only == {}


def test_samples_without_ground_truth_are_skipped():
    neutral, expression = faces(4)
    data = [sample(neutral[0], neutral[0] + 0.1, neutral[0] + expression[0]),
            sample(None, neutral[1], neutral[1] + expression[1]),                 # no truth
            sample(neutral[2], neutral[2], neutral[2] + expression[2], has_neutral=False),
            sample(neutral[3], None, neutral[3] + expression[3])]                 # no output
    res = run(RemovalMetric(), data)
    assert res["removal/num_samples"] == 1
    assert res["removal/psnr_db"] == pytest.approx(10 * math.log10(1 / 0.05 ** 2), abs=1e-3)


def test_classifier_without_neutral_output_gives_empty_dict_logged_once(monkeypatch):
    calls = []
    monkeypatch.setattr(module, "print_log", lambda msg, **kw: calls.append(msg))
    neutral, expression = faces(3)
    data = [sample(n, None, n + e) for n, e in zip(neutral, expression)]
    metric = RemovalMetric()
    assert run(metric, data) == {}
    assert run(metric, data) == {}
    assert len(calls) == 1 and "pred_neutral" in calls[0]


def test_mixed_sizes_in_one_batch_and_shape_errors():
    a, ea = faces(1, size=16)
    b, eb = faces(1, size=20, seed=1)
    res = run(RemovalMetric(), [sample(a[0], a[0] + 0.5 * ea[0], a[0] + ea[0]),
                                sample(b[0], b[0] + 0.5 * eb[0], b[0] + eb[0])])
    assert res["removal/num_samples"] == 2 and res["removal/psnr_gain_db"] > 0
    with pytest.raises(ValueError, match="one \\(C, H, W\\) shape"):
        RemovalMetric().process(None, [sample(a[0], b[0], a[0]).to_dict()])
    with pytest.raises(ValueError, match="ssim_kernel_size"):
        small = torch.zeros(1, 8, 8)
        RemovalMetric().process(None, [sample(small, small, small).to_dict()])
    with pytest.raises(ValueError, match="odd"):
        RemovalMetric(ssim_kernel_size=4)


def test_built_from_the_registry():
    from errkit.registry import METRICS

    metric = METRICS.build(dict(type="RemovalMetric", psnr_cap=80.0))
    assert isinstance(metric, RemovalMetric) and metric.prefix == "removal"
    assert metric.psnr_cap == 80.0
