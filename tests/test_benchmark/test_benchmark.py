"""tools/benchmark.py runs every mode end to end on the CPU and writes its JSON.

This checks that the benchmark works and reports sane figures, not how fast
anything is: there are no timing thresholds.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys

import pytest

from errkit.benchmark.report import format_table
from tests.helpers import REPO_ROOT


def _positive(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value) and value > 0


@pytest.mark.slow
def test_benchmark_all_modes_cpu(tmp_path):
    out = tmp_path / "bench.json"
    cmd = [sys.executable, "tools/benchmark.py", "--device", "cpu",
           "--modes", "train,flops,infer,data,memory", "--img-size", "32", "--batch-size", "4",
           "--iters", "2", "--warmup", "1", "--infer-batch-size", "4", "--encoder", "resnet10t",
           "--workers", "0", "--threads", "1", "--json", str(out)]
    proc = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    res = json.loads(out.read_text())

    assert res["settings"]["img_size"] == 32 and res["settings"]["batch_size"] == 4
    assert res["settings"]["device"] == "cpu"
    assert res["modes"] == ["train", "flops", "infer", "data", "memory"]

    train = res["train"]
    for name in ("errnet", "classifier"):
        for key in ("images_per_s", "ms_per_step", "gflops_per_step", "tflops_per_s"):
            assert _positive(train[name][key]), (name, key, train[name])
        assert _positive(train[name]["memory"]["peak_bytes"])
    # ERR-Net (encoder + decoder + discriminator + recognizer) does more work per image
    assert train["errnet"]["gflops_per_step"] > train["classifier"]["gflops_per_step"]
    assert train["errnet"]["parameters"] > train["classifier"]["parameters"]
    assert math.isclose(train["classifier_over_errnet_images_per_s"],
                        train["classifier"]["images_per_s"] / train["errnet"]["images_per_s"])
    assert _positive(train["errnet_over_classifier_tflops_per_s"])

    infer = res["infer"]
    for name in ("eager", "torchscript"):
        assert _positive(infer[name]["latency_b1"]["median_ms"])
        assert infer[name]["throughput"]["batch_size"] == 4
        assert _positive(infer[name]["throughput"]["images_per_s"])
        assert _positive(infer[name]["memory"]["peak_bytes"])
    assert "skipped" in infer["compile"] or _positive(infer["compile"]["latency_b1"]["median_ms"])
    assert infer["torchscript"]["route"]

    data = res["data"]
    for name in ("cached_device", "plain_dataloader"):
        assert _positive(data[name]["images_per_s"])
        assert _positive(data[name]["memory"]["peak_bytes"])
        assert _positive(data["supply_over_errnet_step"][name])
    assert data["cached_device"]["resident_samples"] == data["num_samples"] > 0
    assert math.isclose(data["supply_over_errnet_step"]["cached_device"],
                        data["cached_device"]["images_per_s"] / train["errnet"]["images_per_s"])

    # the printed table shows every section
    for word in ("throughput", "TFLOP/s", "latency b=1", "supply / ERR-Net step"):
        assert word in proc.stdout
    assert format_table(res).splitlines()[0] in proc.stdout


def test_unknown_mode_is_rejected():
    from errkit.benchmark.runner import parse_modes

    with pytest.raises(SystemExit, match="unknown"):
        parse_modes("train,speed")
    assert parse_modes("train, data") == ["train", "data"]


def test_table_of_partial_results():
    """A run with only some modes prints only those sections."""
    res = dict(settings=dict(device="cpu", img_size=32, batch_size=4, encoder="resnet10t",
                             iters=2, warmup=1),
               environment=dict(torch="x", threads=1, device_name="cpu"),
               data=dict(cached_device=dict(images_per_s=100.0),
                         plain_dataloader=dict(images_per_s=50.0), cached_over_plain=2.0),
               notes=["n"])
    lines = format_table(res).splitlines()
    assert lines[0].startswith("errkit benchmark on cpu (torch x, 1 threads)")
    assert re.split(r"\s{2,}", lines[1]) == ["bench", "variant", "metric", "value", "unit",
                                             "peak MiB"]
    rows = [re.split(r"\s{2,}", line.strip()) for line in lines[3:-1]]
    assert rows == [["data", "cached_device", "supply", "100.0", "img/s", "-"],
                    ["data", "plain_dataloader", "supply", "50", "img/s", "-"],
                    ["data", "ratio", "cached / plain", "2", "x", "-"]]
    assert lines[-1] == "note: n"
