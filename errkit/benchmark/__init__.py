"""Performance tooling: ERR-Net's training, inference and data throughput side by side.

``python tools/benchmark.py`` runs :func:`~errkit.benchmark.runner.main`.
"""

from .data import DEFAULT_BATCH_AUGMENTS, DeviceFaceBank, PlainFaceDataset, run_data_benchmark
from .inference import InferOutputs, export_infer, run_inference_benchmark, trace_infer
from .memory import PeakMemory
from .report import format_table, result_rows, write_json
from .runner import MODES, main, run_benchmarks
from .training import BenchmarkSettings, build_training_pair, run_training_benchmark

__all__ = [
    "BenchmarkSettings", "build_training_pair", "run_training_benchmark",
    "InferOutputs", "trace_infer", "export_infer", "run_inference_benchmark",
    "DEFAULT_BATCH_AUGMENTS", "DeviceFaceBank", "PlainFaceDataset", "run_data_benchmark",
    "PeakMemory", "format_table", "result_rows", "write_json",
    "MODES", "run_benchmarks", "main",
]
