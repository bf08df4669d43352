"""``tools/benchmark.py``: ERR-Net against a plain timm classifier, on one device.

Measures, for both models with the same encoder: training steps per second
(``train``) and their FLOPs (``flops``), inference throughput eager and
compiled (``infer``), the data pipeline per sample and on the device
(``data``) and the peak memory of each (``memory``); then prints one table.
Ratios are computed from figures measured in the same run and process.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from typing import List, Optional, Sequence

import torch

from errkit.utils.help_text import HelpFormatter, plain_text

from .data import run_data_benchmark
from .inference import run_inference_benchmark
from .report import format_table, write_json
from .training import BenchmarkSettings, run_training_benchmark

__all__ = ["MODES", "CPU_DEFAULTS", "GPU_DEFAULTS", "parse_args", "settings_from_args",
           "run_benchmarks", "main"]

#: The benchmarks, in run order.
MODES = ("train", "flops", "infer", "data", "memory")
#: Defaults on the CPU: small enough for a few minutes on two cores.
CPU_DEFAULTS = dict(img_size=64, batch_size=32, iters=5, warmup=2)
#: Defaults on a GPU: the paper's resolution and a full batch.
GPU_DEFAULTS = dict(img_size=128, batch_size=256, iters=20, warmup=5)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """The benchmark's flags."""
    parser = argparse.ArgumentParser(prog="tools/benchmark.py", description=plain_text(__doc__),
                                     formatter_class=HelpFormatter)
    parser.add_argument("--device", choices=["cpu", "cuda"], default=None,
                        help="device to measure (default: cuda when available, else cpu)")
    parser.add_argument("--modes", default=",".join(MODES),
                        help=f"comma-separated subset of {','.join(MODES)} (default: all)")
    parser.add_argument("--img-size", type=int, default=None,
                        help=f"image side (default: {GPU_DEFAULTS['img_size']} on cuda, "
                        f"{CPU_DEFAULTS['img_size']} on cpu)")
    parser.add_argument("--batch-size", type=int, default=None,
                        help=f"training batch (default: {GPU_DEFAULTS['batch_size']} on cuda, "
                        f"{CPU_DEFAULTS['batch_size']} on cpu)")
    parser.add_argument("--infer-batch-size", type=int, default=64,
                        help="batch of the inference throughput figure (default: 64)")
    parser.add_argument("--encoder", default="resnet18", help="timm encoder of both models")
    parser.add_argument("--iters", type=int, default=None,
                        help=f"timed iterations (default: {GPU_DEFAULTS['iters']} on cuda, "
                        f"{CPU_DEFAULTS['iters']} on cpu)")
    parser.add_argument("--warmup", type=int, default=None,
                        help=f"untimed iterations first (default: {GPU_DEFAULTS['warmup']} on "
                        f"cuda, {CPU_DEFAULTS['warmup']} on cpu)")
    parser.add_argument("--amp", action="store_true", help="bfloat16 autocast")
    parser.add_argument("--channels-last", action="store_true",
                        help="channels-last weights and inputs")
    parser.add_argument("--compile", action="store_true",
                        help="torch.compile the networks in training, and measure compiled "
                        "inference on the cpu too (always measured on cuda)")
    parser.add_argument("--workers", type=int, default=None,
                        help="DataLoader workers of the per-sample pipeline "
                        "(default: min(4, cpu count))")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch intra-op threads on the cpu (default: 1; ERR-Net's many "
                        "small kernels slow down several-fold with 2 threads on a shared "
                        "2-core machine)")
    parser.add_argument("--json", default=None, metavar="FILE",
                        help="also write the results as JSON to this file (default: not "
                        "written)")
    return parser.parse_args(argv)


def settings_from_args(args: argparse.Namespace) -> BenchmarkSettings:
    """Device defaults filled in; unknown modes and impossible devices rejected."""
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("errkit: error: --device cuda but torch sees no CUDA device")
    defaults = GPU_DEFAULTS if device == "cuda" else CPU_DEFAULTS
    pick = lambda value, key: defaults[key] if value is None else value  # noqa: E731
    return BenchmarkSettings(
        device=device, img_size=pick(args.img_size, "img_size"),
        batch_size=pick(args.batch_size, "batch_size"), encoder=args.encoder,
        iters=pick(args.iters, "iters"), warmup=pick(args.warmup, "warmup"), amp=args.amp,
        channels_last=args.channels_last, compile=args.compile,
        infer_batch_size=args.infer_batch_size)


def parse_modes(text: str) -> List[str]:
    modes = [m.strip() for m in text.split(",") if m.strip()]
    unknown = sorted(set(modes) - set(MODES))
    if unknown or not modes:
        raise SystemExit(f"errkit: error: --modes: unknown {unknown or 'empty list'}; "
                         f"choose from {','.join(MODES)}")
    return modes


def _environment(settings: BenchmarkSettings) -> dict:
    device = torch.device(settings.device)
    name = (torch.cuda.get_device_name(device) if device.type == "cuda"
            else f"cpu ({platform.processor() or platform.machine()}, "
                 f"{os.cpu_count()} logical cores)")
    return dict(device_name=name, torch=torch.__version__, threads=torch.get_num_threads(),
                python=platform.python_version(),
                memory_kind=("torch.cuda.max_memory_allocated per benchmark"
                             if device.type == "cuda" else
                             "process RSS sampled every 5 ms during each benchmark"))


def run_benchmarks(settings: BenchmarkSettings, modes: Sequence[str],
                   infer_compile: Optional[bool] = None,
                   num_workers: Optional[int] = None) -> dict:
    """Run the selected benchmarks; see the package docstring.

    Args:
        settings (BenchmarkSettings): Device, sizes, precision, iterations.
        modes (Sequence[str]): Subset of :data:`MODES`. ``memory`` adds each
            benchmark's peak memory; ``flops`` needs the training timing, so it
            runs the training benchmark too.
        infer_compile (bool, optional): Measure ``torch.compile`` inference;
            None: on CUDA, or when ``settings.compile``.
        num_workers (int, optional): Workers of the per-sample DataLoader.

    Returns:
        dict: ``settings``, ``environment``, ``modes``, ``seconds``, ``notes``
        and one entry per benchmark run (``train``, ``infer``, ``data``).
    """
    modes = list(modes)
    memory = "memory" in modes
    results: dict = dict(settings=settings.to_dict(), environment=_environment(settings),
                         modes=modes, notes=[])
    start = time.perf_counter()
    if settings.device == "cpu":
        results["notes"].append(
            "CPU figures; the CUDA settings (bf16, channels_last, fused Adam, compile) only "
            "pay off on a GPU")
    if "train" in modes or "flops" in modes:
        results["train"] = run_training_benchmark(settings, count_flops="flops" in modes,
                                                  memory=memory)
    if "infer" in modes:
        if infer_compile is None:
            infer_compile = settings.device == "cuda" or settings.compile
        results["infer"] = run_inference_benchmark(
            settings, latency_iters=max(10, 5 * settings.iters),
            throughput_iters=max(2, settings.iters), use_compile=infer_compile, memory=memory)
        if not infer_compile:
            results["infer"]["compile"] = dict(
                skipped="off on cpu (--compile; minutes)")
        results["notes"] += results["infer"].pop("notes", [])
    if "data" in modes:
        consumed = results.get("train", {}).get("errnet", {}).get("images_per_s")
        if consumed is None:
            results["notes"].append("data: no supply/consumption ratio without the train mode")
        results["data"] = run_data_benchmark(
            settings.img_size, settings.batch_size, settings.device,
            batches=max(3, settings.iters), warmup=max(1, settings.warmup),
            num_workers=num_workers, consumed_images_per_s=consumed, memory=memory,
            seed=settings.seed)
        if settings.device == "cuda":
            results["notes"].append("data: goal on GPU is supply / ERR-Net step >= 3x")
    results["seconds"] = time.perf_counter() - start
    return results


def main(argv: Optional[List[str]] = None) -> dict:
    """Entry point of ``tools/benchmark.py``: run, print the table, write JSON."""
    args = parse_args(argv)
    modes = parse_modes(args.modes)
    settings = settings_from_args(args)
    if args.threads:
        torch.set_num_threads(args.threads)
    elif settings.device == "cpu":
        torch.set_num_threads(1)
    results = run_benchmarks(settings, modes, num_workers=args.workers)
    print(format_table(results))
    print(f"total {results['seconds']:.1f} s")
    if args.json:
        write_json(args.json, results)
        print(f"results written to {args.json}")
    return results
