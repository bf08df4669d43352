"""Benchmark ERR-Net against a plain classifier on one device, side by side:
``python tools/benchmark.py [--device cpu|cuda] [--modes train,flops,infer,data,memory]``
(``--help`` lists every option with its default)."""

from errkit.benchmark.runner import main

if __name__ == "__main__":
    main()
