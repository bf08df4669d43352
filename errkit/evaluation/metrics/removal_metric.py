"""Expression-removal quality: PSNR and SSIM of the generated neutral face."""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any, Dict, List, Optional, Sequence

import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log
from mmengine.structures import BaseDataElement
from torchmetrics.functional.image import (peak_signal_noise_ratio,
                                           structural_similarity_index_measure)

from errkit.registry import METRICS

__all__ = ["RemovalMetric"]

_FIELDS = ("pred_neutral", "gt_neutral", "input_img")


def _get(sample: Any, name: str) -> Any:
    if isinstance(sample, (dict, BaseDataElement)):
        return sample.get(name)
    return None


@METRICS.register_module()
class RemovalMetric(BaseMetric):
    """PSNR and SSIM of the generated neutral face against the true neutral.

    For each data sample holding ``pred_neutral`` (the model's neutral face),
    ``gt_neutral`` (the true neutral, e.g. from synthetic data) and ``input_img``
    (the expressive input), all ``(C, H, W)`` in ``[-1, 1]``, the metric scores
    the generated neutral against the true one and, as the baseline of doing
    nothing, the input taken as the neutral. Images are mapped to ``[0, 1]``
    (clamped) and scored with :mod:`torchmetrics` (``peak_signal_noise_ratio``
    and ``structural_similarity_index_measure``, ``data_range=1``) per sample;
    the returned values are means over samples.

    Samples lacking any of the three fields, or whose meta information says
    ``has_neutral=False``, are skipped, so the metric can sit in any evaluator:
    for a plain classifier, or data without neutral ground truth, it returns an
    empty dict and logs that once.

    A sample whose input is exactly its true neutral (a duplicated file, a
    neutral frame listed as an expression) has no expression to remove and an
    infinite input PSNR that would swamp the means; it is left out of them and
    counted in ``num_identical``.

    Returned keys (prefixed ``removal/`` by mmengine): ``psnr_db``, ``ssim``
    (generated neutral), ``input_psnr_db``, ``input_ssim`` (input as neutral),
    ``psnr_gain_db`` and ``ssim_gain`` (generated minus input; positive when the
    removal brings the face closer to the true neutral), ``num_samples`` (the
    samples scored) and ``num_identical``.

    Args:
        psnr_cap (float, optional): Upper bound in dB for a sample's PSNR, so an
            exact match (infinite PSNR) does not make the mean and gain infinite
            or NaN. None keeps infinity. Defaults to 100.0.
        ssim_kernel_size (int): Gaussian window of SSIM, odd; images must be at
            least this large. Defaults to 11.
        ssim_sigma (float): Standard deviation of the SSIM window. Defaults to 1.5.
        collect_device (str): ``'cpu'`` or ``'gpu'``, for distributed result
            collection. Defaults to ``'cpu'``.
        prefix (str, optional): Key prefix. Defaults to None (``'removal'``).
        collect_dir (str, optional): Temporary folder for ``collect_device='cpu'``
            in distributed runs. Defaults to None.

    Examples:
        >>> import torch
        >>> metric = RemovalMetric()
        >>> neutral = torch.zeros(1, 16, 16)
        >>> metric.process(None, [{'gt_neutral': neutral, 'pred_neutral': neutral + 0.1,
        ...                        'input_img': neutral + 0.4}])
        >>> res = metric.evaluate(1)
        >>> round(res['removal/psnr_db'], 2), round(res['removal/psnr_gain_db'], 2)
        (26.02, 12.04)
    """

    default_prefix: Optional[str] = "removal"

    def __init__(self, psnr_cap: Optional[float] = 100.0, ssim_kernel_size: int = 11,
                 ssim_sigma: float = 1.5, collect_device: str = "cpu",
                 prefix: Optional[str] = None, collect_dir: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix, collect_dir=collect_dir)
        if ssim_kernel_size < 1 or ssim_kernel_size % 2 == 0:
            raise ValueError(f"RemovalMetric: ssim_kernel_size must be odd and >= 1, "
                             f"got {ssim_kernel_size}")
        self.psnr_cap = None if psnr_cap is None else float(psnr_cap)
        self.ssim_kernel_size = int(ssim_kernel_size)
        self.ssim_sigma = float(ssim_sigma)
        self._warned_empty = False

    def _usable(self, sample: Any) -> bool:
        if any(_get(sample, name) is None for name in _FIELDS):
            return False
        return _get(sample, "has_neutral") is not False

    def _scores(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """(N, 2) per-sample PSNR (dB) and SSIM of images in [0, 1]."""
        psnr = peak_signal_noise_ratio(pred, target, data_range=1.0, reduction="none",
                                       dim=(1, 2, 3))
        if self.psnr_cap is not None:
            psnr = psnr.clamp(max=self.psnr_cap)
        ssim = structural_similarity_index_measure(
            pred, target, data_range=1.0, reduction="none",
            kernel_size=self.ssim_kernel_size, sigma=self.ssim_sigma)
        return torch.stack([psnr.reshape(-1), ssim.reshape(-1)], dim=1)

    def process(self, data_batch: Any, data_samples: Sequence[Any]) -> None:
        """Score the generated neutral and the input of every usable sample.

        Args:
            data_batch (Any): The batch from the dataloader (unused).
            data_samples (Sequence[dict | FERDataSample]): The model's outputs.

        Raises:
            ValueError: If a sample's three images differ in shape, or are smaller
                than the SSIM window.
        """
        groups: Dict[tuple, List[int]] = defaultdict(list)
        identical = set()
        for index, sample in enumerate(data_samples):
            if not self._usable(sample):
                continue
            shapes = {name: tuple(_get(sample, name).shape) for name in _FIELDS}
            if len(set(shapes.values())) != 1 or len(shapes["gt_neutral"]) != 3:
                raise ValueError(f"RemovalMetric: data sample {index} of the batch needs "
                                 f"'pred_neutral', 'gt_neutral' and 'input_img' of one (C, H, W) "
                                 f"shape, got {shapes}")
            if min(shapes["gt_neutral"][1:]) < self.ssim_kernel_size:
                raise ValueError(f"RemovalMetric: images of {shapes['gt_neutral']} are smaller "
                                 f"than ssim_kernel_size={self.ssim_kernel_size}")
            if torch.equal(torch.as_tensor(_get(sample, "input_img")),
                           torch.as_tensor(_get(sample, "gt_neutral"))):
                identical.add(index)
                continue
            groups[shapes["gt_neutral"]].append(index)

        scores: List[Optional[List[float]]] = [None] * len(data_samples)
        for indices in groups.values():
            device = torch.as_tensor(_get(data_samples[indices[0]], "pred_neutral")).device

            def stack(name: str) -> torch.Tensor:
                images = torch.stack([torch.as_tensor(_get(data_samples[i], name)).to(device)
                                      for i in indices]).float()
                return ((images + 1.0) * 0.5).clamp(0.0, 1.0)

            target = stack("gt_neutral")
            generated = self._scores(stack("pred_neutral"), target)
            baseline = self._scores(stack("input_img"), target)
            values = torch.cat([generated, baseline], dim=1).cpu().tolist()
            for i, row in zip(indices, values):
                scores[i] = row
        for index, row in enumerate(scores):
            self.results.append({"scores": row, "identical": index in identical})

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Average the per-sample scores.

        Args:
            results (list[dict]): What :meth:`process` stored, from every rank.

        Returns:
            dict: ``psnr_db``, ``ssim``, ``input_psnr_db``, ``input_ssim``,
            ``psnr_gain_db``, ``ssim_gain``, ``num_samples``; empty when no
            sample could be scored.
        """
        rows = [r["scores"] for r in results if r.get("scores") is not None]
        num_identical = sum(1 for r in results if r.get("identical"))
        if num_identical:
            print_log(f"RemovalMetric: {num_identical} sample(s) whose input is exactly its "
                      "true neutral (nothing to remove) left out of the removal means",
                      logger="current", level=logging.WARNING)
        if not rows:
            if not self._warned_empty:
                print_log("RemovalMetric: no data sample had 'pred_neutral', 'gt_neutral' and "
                          "'input_img' (a model without a neutral output, or data without a "
                          "true neutral); returning no removal metrics",
                          logger="current", level=logging.WARNING)
                self._warned_empty = True
            return {}
        means = torch.tensor(rows, dtype=torch.float64).mean(dim=0).tolist()
        psnr, ssim, input_psnr, input_ssim = means
        return {"psnr_db": psnr, "ssim": ssim, "input_psnr_db": input_psnr,
                "input_ssim": input_ssim, "psnr_gain_db": psnr - input_psnr,
                "ssim_gain": ssim - input_ssim, "num_samples": len(rows),
                "num_identical": num_identical}
