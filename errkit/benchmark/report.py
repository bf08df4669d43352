"""The benchmark's results as table rows, a printed table and an atomic JSON file."""

from __future__ import annotations

from typing import Dict, List, Optional

from errkit.utils.atomic_io import atomic_write_json

__all__ = ["result_rows", "format_table", "write_json"]

_MIB = float(1 << 20)


def _fmt(value: Optional[float], digits: int = 3) -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:,.1f}"
    return f"{value:.{digits}g}"


def _memory(entry: dict) -> Optional[float]:
    mem = entry.get("memory") if isinstance(entry, dict) else None
    return mem["peak_bytes"] / _MIB if mem else None


def result_rows(results: dict) -> List[Dict[str, str]]:
    """One row per measured figure: ``section``, ``variant``, ``metric``,
    ``value`` (formatted), ``unit`` and ``peak_mem`` (MiB, or ``-``).

    Args:
        results (dict): What :func:`errkit.benchmark.runner.run_benchmarks` returns.

    Returns:
        list[dict[str, str]]: The rows, in the order of the table.
    """
    rows: List[Dict[str, str]] = []

    def add(section, variant, metric, value, unit, mem=None):
        rows.append(dict(section=section, variant=variant, metric=metric,
                         value=value if isinstance(value, str) else _fmt(value), unit=unit,
                         peak_mem=_fmt(mem, 4) if mem is not None else "-"))

    train = results.get("train")
    if train:
        for name in ("errnet", "classifier"):
            e = train[name]
            add("train", name, "throughput", e["images_per_s"], "img/s", _memory(e))
            add("train", name, "step time", e["ms_per_step"], "ms")
            if "tflops_per_s" in e:
                add("flops", name, "FLOPs per step", e["gflops_per_step"], "GFLOP")
                add("flops", name, "achieved", e["tflops_per_s"], "TFLOP/s")
        add("train", "ratio", "classifier / ERR-Net img/s",
            train["classifier_over_errnet_images_per_s"], "x")
        if "errnet_over_classifier_tflops_per_s" in train:
            add("flops", "ratio", "ERR-Net / classifier TFLOP/s",
                train["errnet_over_classifier_tflops_per_s"], "x")
    infer = results.get("infer")
    if infer:
        for name in ("eager", "compile", "torchscript"):
            e = infer.get(name, {})
            if "skipped" in e:
                add("infer", name, "skipped", e["skipped"][:60], "")
                continue
            lat, thr = e["latency_b1"], e["throughput"]
            add("infer", name, "latency b=1 (median)", lat["median_ms"], "ms", _memory(e))
            add("infer", name, f"throughput b={thr['batch_size']}", thr["images_per_s"],
                "img/s")
    data = results.get("data")
    if data:
        for name in ("cached_device", "plain_dataloader"):
            e = data[name]
            add("data", name, "supply", e["images_per_s"], "img/s", _memory(e))
        add("data", "ratio", "cached / plain", data["cached_over_plain"], "x")
        for name, ratio in data.get("supply_over_errnet_step", {}).items():
            add("data", name, "supply / ERR-Net step", ratio, "x")
    return rows


def format_table(results: dict) -> str:
    """The rows of :func:`result_rows` as a plain-text table with a header line
    stating the device and settings."""
    rows = result_rows(results)
    cols = ("section", "variant", "metric", "value", "unit", "peak_mem")
    heads = dict(section="bench", variant="variant", metric="metric", value="value",
                 unit="unit", peak_mem="peak MiB")
    widths = {c: max([len(heads[c])] + [len(r[c]) for r in rows]) for c in cols}
    right = {"value", "peak_mem"}

    def line(r):
        return "  ".join(r[c].rjust(widths[c]) if c in right else r[c].ljust(widths[c])
                         for c in cols)

    s = results.get("settings", {})
    env = results.get("environment", {})
    header = (f"errkit benchmark on {env.get('device_name', s.get('device'))} "
              f"(torch {env.get('torch')}, {env.get('threads')} threads): "
              f"encoder {s.get('encoder')}, {s.get('img_size')} px, batch {s.get('batch_size')}, "
              f"{'bf16 autocast' if s.get('amp') else 'fp32'}"
              f"{', channels_last' if s.get('channels_last') else ''}"
              f"{', compiled' if s.get('compile') else ''}; "
              f"{s.get('iters')} timed / {s.get('warmup')} warm-up iterations")
    out = [header, line(heads), "  ".join("-" * widths[c] for c in cols)]
    out += [line(r) for r in rows]
    mem_kind = env.get("memory_kind")
    if mem_kind:
        out.append(f"peak MiB: {mem_kind}")
    out += [f"note: {n}" for n in results.get("notes", [])]
    return "\n".join(out)


def write_json(path: str, results: dict) -> None:
    """Write the results atomically (:func:`errkit.utils.atomic_io.atomic_write_json`)."""
    atomic_write_json(path, results)
