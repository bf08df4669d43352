"""Latency and throughput of ERR-Net's recognition path (:meth:`ERRNet.infer`).

Three runtimes side by side: the eager model, ``torch.compile`` of it (skipped
with a note when compilation fails here) and a TorchScript module traced from
a wrapper of ``model.infer``. Latency is measured at batch 1, throughput at a
larger batch.
"""

from __future__ import annotations

import contextlib
import copy
import statistics
import time
import traceback
import warnings
from typing import Callable, Dict, List, Tuple

import torch
from torch import nn

from errkit.apis.export import export_wrapper
from errkit.config import load_config
from errkit.registry import MODELS

from .memory import PeakMemory
from .training import ERRNET_CONFIG, BenchmarkSettings, image_channels, synchronize

__all__ = ["InferOutputs", "trace_infer", "export_infer", "measure_runtime",
           "run_inference_benchmark"]

#: Output names of :class:`InferOutputs`, in order.
OUTPUT_NAMES = ("probs", "logits", "activations", "neutral", "residual")


class InferOutputs(nn.Module):
    """``model.infer`` as a module returning a tuple (what tracing needs).

    Args:
        model (nn.Module): An ERR-Net (anything with ``infer(img) -> dict``).

    Shape:
        - Input: ``(B, C, H, W)`` in ``[-1, 1]``.
        - Output: the tensors of :data:`OUTPUT_NAMES` that ``infer`` returns.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, img: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        out = self.model.infer(img)
        return tuple(out[k] for k in OUTPUT_NAMES if k in out)


def trace_infer(model: nn.Module, example: torch.Tensor) -> torch.jit.ScriptModule:
    """Trace the exportable module of an eval-mode model to TorchScript, in memory.

    The module is :func:`errkit.apis.export.export_wrapper` (what
    ``tools/export.py`` writes) when that module is importable, else
    :class:`InferOutputs`; either returns the probabilities first.

    Args:
        model (nn.Module): The model, in eval mode.
        example (Tensor): An input batch ``(B, C, H, W)``.

    Returns:
        torch.jit.ScriptModule: The traced module (frozen weights).
    """
    wrapper, _ = _export_module(model)
    with torch.no_grad(), warnings.catch_warnings():
        # shape checks in the model become constants of the trace: expected here
        warnings.simplefilter("ignore", category=torch.jit.TracerWarning)
        warnings.simplefilter("ignore", category=FutureWarning)
        traced = torch.jit.trace(wrapper.eval(), example, check_trace=False)
        return torch.jit.freeze(traced)


def _export_module(model: nn.Module) -> Tuple[nn.Module, str]:
    return export_wrapper(model), "errkit.apis.export.export_wrapper"


def export_infer(model: nn.Module, example: torch.Tensor) -> Tuple[Callable, str]:
    """The exported recognition path, traced in-process (no file written).

    Returns:
        tuple: The TorchScript module and the route used (which module was traced).
    """
    _, name = _export_module(model)
    return trace_infer(model, example), f"torch.jit.trace({name})"


def measure_runtime(fn: Callable[[torch.Tensor], object], img: torch.Tensor, iters: int,
                    warmup: int, device: torch.device) -> Dict[str, float]:
    """Per-call wall times of ``fn(img)``: median, p90 and images per second.

    Returns:
        dict: ``median_ms``, ``p90_ms``, ``images_per_s`` (from the median) and
        ``calls``.
    """
    with torch.no_grad():
        for _ in range(max(0, warmup)):
            fn(img)
        times: List[float] = []
        for _ in range(max(1, iters)):
            synchronize(device)
            start = time.perf_counter()
            fn(img)
            synchronize(device)
            times.append(time.perf_counter() - start)
    times.sort()
    median = statistics.median(times)
    p90 = times[min(len(times) - 1, int(round(0.9 * (len(times) - 1))))]
    return dict(median_ms=1e3 * median, p90_ms=1e3 * p90,
                images_per_s=img.shape[0] / median, calls=len(times))


def _build_model(settings: BenchmarkSettings) -> nn.Module:
    torch.manual_seed(settings.seed)
    cfg = copy.deepcopy(load_config(ERRNET_CONFIG).model)
    cfg["encoder"]["model_name"] = settings.encoder
    model = MODELS.build(cfg).to(settings.device).eval()
    if settings.channels_last:
        model.to(memory_format=torch.channels_last)
    return model


def run_inference_benchmark(settings: BenchmarkSettings, latency_iters: int = 20,
                            throughput_iters: int = 3, use_compile: bool = True,
                            memory: bool = False) -> dict:
    """Latency (batch 1) and throughput (``settings.infer_batch_size``) of ``infer``.

    Args:
        settings (BenchmarkSettings): The run's settings (encoder, image size,
            device, AMP, channels-last, warm-up).
        latency_iters (int): Timed batch-1 calls. Defaults to 20.
        throughput_iters (int): Timed large-batch calls. Defaults to 3.
        use_compile (bool): Measure ``torch.compile`` too. Defaults to True.
        memory (bool): Record each runtime's peak memory. Defaults to False.

    Returns:
        dict: Per runtime (``eager``, ``compile``, ``torchscript``):
        ``latency_b1`` and ``throughput`` dicts (see :func:`measure_runtime`),
        or ``skipped`` with the reason; ``notes``.
    """
    device = torch.device(settings.device)
    model = _build_model(settings)
    channels = image_channels(model)
    gen = torch.Generator().manual_seed(settings.seed)

    def images(batch: int) -> torch.Tensor:
        img = torch.rand(batch, channels, settings.img_size, settings.img_size,
                         generator=gen) * 2 - 1
        img = img.to(device)
        return img.contiguous(memory_format=torch.channels_last) if settings.channels_last \
            else img

    one, many = images(1), images(settings.infer_batch_size)
    autocast = (lambda: torch.autocast(device.type, dtype=torch.bfloat16)) if settings.amp \
        else contextlib.nullcontext
    results: Dict[str, dict] = {}
    notes: List[str] = []

    def measure(name: str, fn: Callable) -> None:
        tracker = PeakMemory(device)
        with tracker, autocast():
            entry = dict(latency_b1=measure_runtime(fn, one, latency_iters, settings.warmup,
                                                    device),
                         throughput=measure_runtime(fn, many, throughput_iters,
                                                    max(1, settings.warmup // 2), device))
        entry["throughput"]["batch_size"] = settings.infer_batch_size
        if memory:
            entry["memory"] = tracker.result()
        results[name] = entry

    eager = InferOutputs(model).eval()
    measure("eager", eager)
    reference = eager(one)

    if use_compile:
        try:
            compiled = torch.compile(InferOutputs(model).eval(), dynamic=False)
            start = time.perf_counter()
            with torch.no_grad(), autocast():
                out = compiled(one)
                compiled(many)
            compile_s = time.perf_counter() - start
            _check_close(reference, out, "torch.compile")
            measure("compile", compiled)
            results["compile"]["compile_seconds"] = compile_s
        except Exception as exc:  # any backend failure: report it, keep going
            reason = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            results["compile"] = dict(skipped=reason)
            notes.append(f"torch.compile skipped: {reason}")
            traceback.print_exc(limit=1)
    else:
        results["compile"] = dict(skipped="disabled")

    start = time.perf_counter()
    with autocast():
        exported, route = export_infer(model, one)
    export_s = time.perf_counter() - start
    with torch.no_grad(), autocast():
        _check_close(reference, exported(one), route)
    measure("torchscript", exported)
    results["torchscript"].update(export_seconds=export_s, route=route)
    results["notes"] = notes
    return results


def _check_close(reference, output, what: str, atol: float = 5e-2) -> None:
    """The runtime computes what eager computes (loose: bf16 / fused kernels)."""
    ref = reference[0] if isinstance(reference, (tuple, list)) else reference
    out = output[0] if isinstance(output, (tuple, list)) else output
    if not torch.allclose(ref.float(), out.float(), atol=atol):
        raise RuntimeError(f"{what}: probabilities differ from eager by "
                           f"{(ref.float() - out.float()).abs().max():.3g}")
