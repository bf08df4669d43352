"""Training throughput and achieved FLOP/s: ERR-Net against a plain timm classifier.

Both models are built from errkit's own configs (``configs/errnet_synthetic.py``
and ``configs/baselines/timm_classifier_synthetic.py``) with the encoder,
resolution, batch size and precision of the run, and updated by the optimizer
wrappers their configs declare (``MultiOptimWrapperConstructor`` for ERR-Net,
:func:`mmengine.optim.build_optim_wrapper` for the classifier). The batches are
synthetic, in the data preprocessor's input format, and already on the device,
so the figures are those of the training step alone.
"""

from __future__ import annotations

import copy
import time
from dataclasses import asdict, dataclass
from typing import Callable, Dict, Tuple

import torch
from torch.utils.flop_counter import FlopCounterMode
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope

from errkit.config import load_config
from errkit.engine.optimizers import MultiOptimWrapperConstructor, amp_variant
from errkit.landmarks.mean_shape import canonical_landmarks
from errkit.registry import MODELS

from errkit.structures import FERDataSample

from .memory import PeakMemory

__all__ = ["BenchmarkSettings", "build_training_pair", "synthetic_batch", "time_steps",
           "count_train_step_flops", "run_training_benchmark", "image_channels", "ERRNET_CONFIG",
           "CLASSIFIER_CONFIG"]

#: The ERR-Net config whose model and optimizers are measured.
ERRNET_CONFIG = "configs/errnet_synthetic.py"
#: The classifier baseline config (model and optimizer).
CLASSIFIER_CONFIG = "configs/baselines/timm_classifier_synthetic.py"


@dataclass
class BenchmarkSettings:
    """What every benchmark of one run shares.

    Args:
        device (str): ``'cpu'`` or ``'cuda'``.
        img_size (int): Square image side in pixels.
        batch_size (int): Training batch size.
        encoder (str): timm model name of both models' encoder.
        iters (int): Timed iterations.
        warmup (int): Untimed iterations first.
        amp (bool): bfloat16 autocast (``AmpOptimWrapper`` in training).
        channels_last (bool): Channels-last model weights and inputs.
        compile (bool): ``torch.compile`` the networks' forward in training.
        infer_batch_size (int): Batch of the inference throughput figure.
        seed (int): Seed of the synthetic batches and weights.
    """

    device: str = "cpu"
    img_size: int = 64
    batch_size: int = 32
    encoder: str = "resnet18"
    iters: int = 3
    warmup: int = 1
    amp: bool = False
    channels_last: bool = False
    compile: bool = False
    infer_batch_size: int = 64
    seed: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


def synchronize(device: torch.device) -> None:
    """Wait for queued kernels (CUDA); nothing to wait for on the CPU."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def synthetic_batch(batch_size: int, img_size: int, channels: int, num_classes: int,
                    device, seed: int = 0) -> dict:
    """A dataloader batch as ``PackFERInputs`` + collation produce it, on ``device``.

    Faces and neutrals are random uint8 images; landmarks are the canonical
    68-point shape plus noise; every sample has a neutral and landmarks.

    Args:
        batch_size (int): ``B``.
        img_size (int): ``S``.
        channels (int): ``C``.
        num_classes (int): Labels are ``i % num_classes``.
        device (torch.device | str): Where the tensors live.
        seed (int): Random seed. Defaults to 0.

    Returns:
        dict: ``{'inputs': {'img', 'neutral': (B, C, S, S) uint8, 'landmarks',
        'neutral_landmarks': (B, 68, 2) float32}, 'data_samples': [FERDataSample]}``.
    """
    gen = torch.Generator().manual_seed(seed)
    shape = (batch_size, channels, img_size, img_size)
    base = torch.as_tensor(canonical_landmarks(img_size), dtype=torch.float32)
    inputs = dict(
        img=torch.randint(0, 256, shape, generator=gen, dtype=torch.uint8),
        neutral=torch.randint(0, 256, shape, generator=gen, dtype=torch.uint8),
        landmarks=base + torch.randn(batch_size, 68, 2, generator=gen),
        neutral_landmarks=base.expand(batch_size, 68, 2).clone())
    samples = [FERDataSample(metainfo=dict(has_neutral=True, has_landmarks=True))
               .set_gt_label(i % num_classes).to(device) for i in range(batch_size)]
    return dict(inputs={k: v.to(device) for k, v in inputs.items()}, data_samples=samples)


def image_channels(model: torch.nn.Module) -> int:
    """Image channels a model takes: its preprocessor's ``num_channels``, else its
    generator's or backbone's input channels."""
    channels = getattr(model.data_preprocessor, "num_channels", None)
    if channels is None:
        generator = getattr(model, "generator", None)
        channels = getattr(generator, "in_channels", None) or getattr(
            getattr(model, "backbone", None), "in_chans", 3)
    return int(channels)


def _optim_cfg(cfg: dict, settings: BenchmarkSettings) -> dict:
    """One optimizer-wrapper config adapted to the run: AMP and fused Adam."""
    cfg = copy.deepcopy(cfg)
    if settings.amp:
        cfg["type"] = amp_variant(cfg.get("type", "OptimWrapper"))
        cfg["dtype"] = "bfloat16"
    optimizer = cfg.get("optimizer", {})
    if settings.device == "cuda" and optimizer.get("type") in ("Adam", "AdamW"):
        optimizer["fused"] = True
    return cfg


def build_training_pair(settings: BenchmarkSettings) -> Dict[str, Tuple[torch.nn.Module, object]]:
    """ERR-Net and the classifier with their optimizer wrappers, on the device.

    Returns:
        dict: ``{'errnet': (model, OptimWrapperDict), 'classifier': (model,
        OptimWrapper)}``.
    """
    device = torch.device(settings.device)
    torch.manual_seed(settings.seed)
    errnet_cfg = load_config(ERRNET_CONFIG)
    model_cfg = copy.deepcopy(errnet_cfg.model)
    model_cfg["encoder"]["model_name"] = settings.encoder
    model_cfg["data_preprocessor"]["channels_last"] = settings.channels_last
    errnet = MODELS.build(model_cfg)
    wrapper_cfg = {k: _optim_cfg(v, settings) for k, v in errnet_cfg.optim_wrapper.items()
                   if k != "constructor"}

    cls_cfg = load_config(CLASSIFIER_CONFIG)
    model_cfg = copy.deepcopy(cls_cfg.model)
    model_cfg["model_name"] = settings.encoder
    model_cfg["data_preprocessor"]["channels_last"] = settings.channels_last
    classifier = MODELS.build(model_cfg)

    for name, model in (("errnet", errnet), ("classifier", classifier)):
        model.to(device)
        if settings.channels_last:
            model.to(memory_format=torch.channels_last)
        if settings.compile:
            for module in ((errnet.generator, errnet.recognizer, errnet.discriminator)
                           if name == "errnet" else (classifier.backbone,)):
                if module is not None:
                    module.compile()
        model.train()
    optim_errnet = MultiOptimWrapperConstructor(wrapper_cfg)(errnet)
    with DefaultScope.overwrite_default_scope("errkit"):  # errkit's optimizer wrappers
        optim_cls = build_optim_wrapper(classifier, _optim_cfg(cls_cfg.optim_wrapper, settings))
    return dict(errnet=(errnet, optim_errnet), classifier=(classifier, optim_cls))


def time_steps(step: Callable[[], object], iters: int, warmup: int, device) -> Dict[str, float]:
    """Run ``step`` ``warmup`` times, then time ``iters`` runs.

    Args:
        step (Callable): One iteration.
        iters (int): Timed iterations (at least 1).
        warmup (int): Untimed iterations first.
        device (torch.device | str): Synchronised before and after timing.

    Returns:
        dict: ``seconds`` (total), ``iters`` and ``ms_per_iter``.
    """
    device = torch.device(device)
    iters = max(1, int(iters))
    for _ in range(max(0, int(warmup))):
        step()
    synchronize(device)
    start = time.perf_counter()
    for _ in range(iters):
        step()
    synchronize(device)
    seconds = time.perf_counter() - start
    return dict(seconds=seconds, iters=iters, ms_per_iter=1e3 * seconds / iters)


def count_train_step_flops(model, optim_wrapper, batch: dict) -> int:
    """FLOPs of one training step (forward, backward; optimizer arithmetic is
    not counted), by :class:`torch.utils.flop_counter.FlopCounterMode`.

    The step really updates the model.
    """
    counter = FlopCounterMode(display=False)
    with counter:
        model.train_step(batch, optim_wrapper)
    return int(counter.get_total_flops())


def run_training_benchmark(settings: BenchmarkSettings, count_flops: bool = True,
                           memory: bool = False) -> dict:
    """Measure ERR-Net's and the classifier's training step side by side.

    Args:
        settings (BenchmarkSettings): The run's settings.
        count_flops (bool): Count each step's FLOPs and report TFLOP/s.
            Defaults to True.
        memory (bool): Record each model's peak memory. Defaults to False.

    Returns:
        dict: Per model (``errnet``, ``classifier``): ``images_per_s``,
        ``ms_per_step`` and, with ``count_flops``, ``gflops_per_step`` and
        ``tflops_per_s``; with ``memory``, ``memory``; and the ratios
        ``classifier_over_errnet_images_per_s`` and, with FLOPs,
        ``errnet_over_classifier_tflops_per_s``.
    """
    device = torch.device(settings.device)
    pairs = build_training_pair(settings)
    results: Dict[str, dict] = {}
    for name, (model, optim_wrapper) in pairs.items():
        batch = synthetic_batch(settings.batch_size, settings.img_size, image_channels(model),
                                model.num_classes, device, settings.seed)
        tracker = PeakMemory(device)
        with tracker:
            timing = time_steps(lambda: model.train_step(batch, optim_wrapper),
                                settings.iters, settings.warmup, device)
        entry = dict(images_per_s=settings.batch_size * timing["iters"] / timing["seconds"],
                     ms_per_step=timing["ms_per_iter"], timed_steps=timing["iters"])
        if memory:
            entry["memory"] = tracker.result()
        if count_flops:
            flops = count_train_step_flops(model, optim_wrapper, batch)
            entry["gflops_per_step"] = flops / 1e9
            entry["tflops_per_s"] = flops / (timing["ms_per_iter"] / 1e3) / 1e12
        entry["parameters"] = sum(p.numel() for p in model.parameters())
        results[name] = entry
    results["classifier_over_errnet_images_per_s"] = (
        results["classifier"]["images_per_s"] / results["errnet"]["images_per_s"])
    if count_flops:
        results["errnet_over_classifier_tflops_per_s"] = (
            results["errnet"]["tflops_per_s"] / results["classifier"]["tflops_per_s"])
    return results
