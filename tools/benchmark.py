"""Benchmark ERR-Net against a plain classifier on one device, side by side:
``python tools/benchmark.py [--device cpu|cuda] [--modes train,flops,infer,data,memory]
[--img-size 128] [--batch-size 256] [--encoder resnet18] [--iters N] [--warmup N] [--amp]
[--channels-last] [--compile] [--json OUT]``."""

from errkit.benchmark.runner import main

if __name__ == "__main__":
    main()
