"""Peak memory of one benchmark: CUDA allocator peak, or the process's resident set."""

from __future__ import annotations

import os
import resource
import sys
import threading
from typing import Dict, Optional

import torch

__all__ = ["PeakMemory", "current_rss_bytes"]

_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def current_rss_bytes() -> Optional[int]:
    """The resident set size of this process now (Linux ``/proc``), or None."""
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            return int(f.read().split()[1]) * _PAGE_SIZE
    except (OSError, ValueError, IndexError):
        return None


def _max_rss_bytes() -> int:
    """The process's lifetime peak RSS from :func:`resource.getrusage`."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak) if sys.platform == "darwin" else int(peak) * 1024  # Linux: KiB


class PeakMemory:
    """Measure the peak memory of the code run inside the ``with`` block.

    On CUDA the allocator's peak (:func:`torch.cuda.max_memory_allocated`, reset
    on entry) is exact per block. On the CPU the process's resident set size is
    sampled every ``interval`` seconds by a background thread (``/proc/self/statm``);
    the lifetime peak from :func:`resource.getrusage` is reported too, which
    only grows from one benchmark to the next. Memory of DataLoader worker
    processes is not included.

    Args:
        device (torch.device | str): The device the benchmark runs on.
        interval (float): CPU sampling period in seconds. Defaults to 0.005.

    Examples:
        >>> with PeakMemory('cpu') as mem:
        ...     x = bytearray(1 << 20)
        >>> mem.result()['peak_bytes'] > 0
        True
    """

    def __init__(self, device, interval: float = 0.005) -> None:
        self.device = torch.device(device)
        self.interval = interval
        self._peak = 0
        self._start = 0
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def _sample(self) -> None:
        while not self._stop.is_set():
            rss = current_rss_bytes()
            if rss is not None:
                self._peak = max(self._peak, rss)
            self._stop.wait(self.interval)

    def __enter__(self) -> "PeakMemory":
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self._start = torch.cuda.memory_allocated(self.device)
        else:
            self._start = current_rss_bytes() or 0
            self._peak = self._start
            self._stop.clear()
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            self._peak = torch.cuda.max_memory_allocated(self.device)
        else:
            self._stop.set()
            if self._thread is not None:
                self._thread.join()
            rss = current_rss_bytes()
            if rss is not None:
                self._peak = max(self._peak, rss)

    def result(self) -> Dict[str, object]:
        """The measurement of the last block.

        Returns:
            dict: ``kind`` (``'cuda_max_memory_allocated'`` or
            ``'cpu_sampled_rss'``), ``peak_bytes``, ``start_bytes`` and, on the
            CPU, ``process_max_rss_bytes`` (lifetime peak).
        """
        if self.device.type == "cuda":
            return dict(kind="cuda_max_memory_allocated", peak_bytes=int(self._peak),
                        start_bytes=int(self._start))
        return dict(kind="cpu_sampled_rss", peak_bytes=int(self._peak),
                    start_bytes=int(self._start), process_max_rss_bytes=_max_rss_bytes())
