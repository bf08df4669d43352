"""Soak benchmark: train a small model on CPU for a while and watch resident memory.

Trains ERR-Net (or the timm classifier) on a small synthetic face set with
checkpoints every N iterations and validation every epoch, samples the process's
resident memory every few seconds into a CSV, then prints the start, the
medians of the first and last 10 % of the samples, the slopes (MB/hour, least
squares after the first 10 % and over the last half) and a verdict on growth.

Examples:
    python tools/soak.py --minutes 30 --work-dir work_dirs/soak
    python tools/soak.py --summarize work_dirs/soak/soak_rss.csv
"""

from __future__ import annotations

import argparse
import csv
import os
import os.path as osp
import statistics
import sys
import tempfile
import textwrap
import threading
import time

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="training time")
    parser.add_argument("--work-dir", help="folder for checkpoints, logs and the CSV "
                        "(default: a new temporary folder)")
    parser.add_argument("--data-root", help="synthetic set folder (default: in the work dir)")
    parser.add_argument("--model", choices=["errnet", "classifier"], default="errnet")
    parser.add_argument("--identities", type=int, default=10, help="synthetic identities")
    parser.add_argument("--image-size", type=int, default=48)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--ckpt-interval", type=int, default=20,
                        help="checkpoint every N iterations")
    parser.add_argument("--sample-seconds", type=float, default=2.0,
                        help="memory sampling period")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--growth-mb", type=float, default=20.0,
                        help="growth (last 10 %% median minus first 10 %% median) above which "
                        "the verdict is 'growing' (also 2 %% of the start)")
    parser.add_argument("--summarize", metavar="CSV",
                        help="only print the summary of an earlier run's CSV")
    parser.add_argument("--fail-on-growth", action="store_true",
                        help="exit with status 1 when the verdict is 'growing'")
    return parser.parse_args(argv)


def rss_mb() -> float:
    """Resident memory of this process in MB (psutil, else ``/proc/self/status``)."""
    try:
        import psutil
    except ImportError:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
        raise RuntimeError("cannot read the resident memory (no psutil, no /proc)")
    return psutil.Process().memory_info().rss / 2**20


def write_config(args, work_dir: str, data_root: str) -> str:
    """A config file of the small run (bases of errkit's configs plus deltas)."""
    base = osp.join(REPO, "configs", "_base_")
    if args.model == "errnet":
        model = textwrap.dedent("""
            model = dict(
                encoder=dict(model_name='test_resnet'),
                latent=dict(segment_dim=4),
                decoder=dict(base_channels=8),
                discriminator=dict(base_channels=8, num_layers=2),
                residuals=[dict(type='PixelResidual', feat_channels=8, num_stages=2),
                           dict(type='LandmarkResidual', source='both', hidden_channels=32,
                                out_channels=16, use_true_landmarks_in_training=False)])
            """)
        bases = [f"{base}/models/errnet.py", f"{base}/schedules/errnet_adam.py"]
    else:
        model = "model = dict(model_name='test_resnet')\n"
        bases = [f"{base}/models/timm_classifier.py", f"{base}/schedules/adam_cls.py"]
    bases += [f"{base}/datasets/synthetic.py", f"{base}/default_runtime.py"]
    text = f"_base_ = {bases!r}\n" + model + textwrap.dedent(f"""
        data_root = {data_root!r}
        synthetic = dict(num_identities={args.identities}, frames_per_sequence=4,
                         image_size={args.image_size}, seed=0, color=False, progress=False)
        img_size = {args.image_size}
        train_dataloader = dict(batch_size={args.batch_size},
                                dataset=dict(data_root=data_root, **synthetic))
        val_dataloader = dict(batch_size={2 * args.batch_size},
                              dataset=dict(data_root=data_root, **synthetic))
        test_dataloader = val_dataloader
        train_cfg = dict(max_epochs=100000, val_interval=1)
        param_scheduler = []
        default_hooks = dict(
            logger=dict(interval=50),
            checkpoint=dict(by_epoch=False, interval={args.ckpt_interval}, max_keep_ckpts=2))
        """)
    if args.model == "classifier":
        text += "val_evaluator = [dict(type='ExpressionMetric')]\ntest_evaluator = val_evaluator\n"
    path = osp.join(work_dir, f"soak_{args.model}.py")
    with open(path, "w") as f:
        f.write(text)
    return path


class MemorySampler:
    """A thread that appends ``(seconds, rss_mb, iter, epoch)`` rows to a CSV."""

    def __init__(self, path: str, period: float) -> None:
        self.path, self.period = path, period
        self.rows = []
        self.iter = self.epoch = 0
        self._stop = threading.Event()
        self._start = time.monotonic()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self, writer, f) -> None:
        row = (round(time.monotonic() - self._start, 2), round(rss_mb(), 2), self.iter,
               self.epoch)
        self.rows.append(row)
        writer.writerow(row)
        f.flush()

    def _run(self) -> None:
        with open(self.path, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(("seconds", "rss_mb", "iter", "epoch"))
            while True:
                self._sample(writer, f)
                if self._stop.wait(self.period):
                    self._sample(writer, f)
                    return

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def slope_mb_per_hour(rows) -> float:
    """Least-squares slope of ``rss_mb`` over time, in MB/hour."""
    xs = [r[0] / 3600.0 for r in rows]
    ys = [r[1] for r in rows]
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    var = sum((x - mean_x) ** 2 for x in xs)
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys)) / var if var else 0.0


def summarize(rows, growth_mb: float) -> dict:
    """Start, first/last 10 % medians, slopes (MB/hour) and the verdict.

    The verdict is ``'growing'`` when the median of the last 10 % exceeds the
    median of the first 10 % by more than ``growth_mb`` (or 2 % of the start).
    """
    if len(rows) < 10:
        raise RuntimeError(f"only {len(rows)} memory samples; run longer or sample more often")
    tenth = max(1, len(rows) // 10)
    first = statistics.median(r[1] for r in rows[:tenth])
    last = statistics.median(r[1] for r in rows[-tenth:])
    slope = slope_mb_per_hour(rows[tenth:])
    late_slope = slope_mb_per_hour(rows[len(rows) // 2:])
    limit = max(growth_mb, 0.02 * rows[0][1])
    growing = last - first > limit
    return dict(samples=len(rows), seconds=rows[-1][0], iters=rows[-1][2], epochs=rows[-1][3],
                start_mb=rows[0][1], first10_median_mb=first, last10_median_mb=last,
                growth_mb=last - first, peak_mb=max(r[1] for r in rows),
                slope_mb_per_hour=slope, late_slope_mb_per_hour=late_slope, limit_mb=limit,
                verdict="growing" if growing else "stable")


def print_summary(result: dict, what: str, csv_path: str) -> None:
    print(f"\nsoak: {what}, {result['seconds'] / 60:.1f} min, {result['iters']} iterations, "
          f"{result['epochs']} epochs, {result['samples']} samples -> {csv_path}")
    print(f"  start RSS            {result['start_mb']:9.1f} MB")
    print(f"  first 10% median     {result['first10_median_mb']:9.1f} MB")
    print(f"  last 10% median      {result['last10_median_mb']:9.1f} MB")
    print(f"  peak                 {result['peak_mb']:9.1f} MB")
    print(f"  growth               {result['growth_mb']:+9.1f} MB (limit {result['limit_mb']:.1f})")
    print(f"  slope after warm-up  {result['slope_mb_per_hour']:+9.1f} MB/hour "
          "(first 10% left out)")
    print(f"  slope, last half     {result['late_slope_mb_per_hour']:+9.1f} MB/hour")
    print(f"  verdict: {result['verdict']}")


def read_rows(csv_path: str):
    with open(csv_path, newline="") as f:
        reader = csv.reader(f)
        next(reader)
        return [(float(a), float(b), int(c), int(d)) for a, b, c, d in reader]


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.summarize:
        result = summarize(read_rows(args.summarize), args.growth_mb)
        print_summary(result, "earlier run", args.summarize)
        return 1 if args.fail_on_growth and result["verdict"] == "growing" else 0
    import torch

    torch.set_num_threads(args.threads)
    from mmengine.config import Config
    from mmengine.hooks import Hook

    from errkit.engine import build_runner

    work_dir = osp.abspath(args.work_dir or tempfile.mkdtemp(prefix="errkit_soak_"))
    os.makedirs(work_dir, exist_ok=True)
    data_root = osp.abspath(args.data_root or osp.join(work_dir, "synthetic"))
    cfg = Config.fromfile(write_config(args, work_dir, data_root))
    cfg.work_dir = work_dir
    csv_path = osp.join(work_dir, "soak_rss.csv")
    deadline = [None]
    sampler = MemorySampler(csv_path, args.sample_seconds)

    class SoakHook(Hook):
        """Feeds the sampler the progress; stops training at the deadline."""

        priority = "LOWEST"

        def before_train(self, runner) -> None:
            deadline[0] = time.monotonic() + 60.0 * args.minutes
            sampler.start()

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
            sampler.iter, sampler.epoch = runner.iter + 1, runner.epoch
            if time.monotonic() >= deadline[0]:
                runner.train_loop.stop_training = True

    runner = build_runner(cfg)
    runner.register_hook(SoakHook())
    try:
        runner.train()  # stops after the epoch in which the deadline passed
    finally:
        if deadline[0] is not None:
            sampler.stop()
    result = summarize(sampler.rows, args.growth_mb)
    print_summary(result, f"{args.model} on {args.identities} synthetic identities", csv_path)
    return 1 if args.fail_on_growth and result["verdict"] == "growing" else 0


if __name__ == "__main__":
    sys.exit(main())
