"""Training killed at any moment resumes and finishes; no checkpoint is ever half-written."""

from __future__ import annotations

import glob
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from errkit.engine.checkpoint import find_resumable_checkpoint
from errkit.engine.checkpoint import safe_load

from tests.helpers import REPO_ROOT

#: Imported by the trained config (``custom_imports``): every fsync of the
#: training process sleeps, which holds each checkpoint write open long enough
#: to kill the process in the middle of it.
SLOW_FSYNC = """
import os
import time

_fsync = os.fsync


def _slow_fsync(fd):
    time.sleep(0.3)
    _fsync(fd)


os.fsync = _slow_fsync
"""

FINAL_ITER = 18  # three passes over 48 training faces in batches of 8


def _write_kill_config(tmp: Path, base: Path) -> Path:
    (tmp / "errkit_test_slow_fsync.py").write_text(SLOW_FSYNC)
    cfg = tmp / "kill_resume.py"
    cfg.write_text(textwrap.dedent(f"""
        _base_ = ['{base}']
        custom_imports = dict(imports=['errkit_test_slow_fsync'], allow_failed_imports=False)
        model = dict(model_name='test_resnet')
        # iteration-based, so that a run resumed mid-pass ends at the same iteration
        train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters={FINAL_ITER},
                         val_interval=6)
        param_scheduler = []
        log_processor = dict(by_epoch=False)
        default_hooks = dict(checkpoint=dict(by_epoch=False, interval=2, max_keep_ckpts=3))
        """))
    return cfg


def _launch(cfg: Path, work_dir: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(cfg.parent),
                                                       os.environ.get("PYTHONPATH", "")]),
               OMP_NUM_THREADS="1")
    cmd = [sys.executable, str(REPO_ROOT / "tools" / "train.py"), str(cfg), "--work-dir",
           str(work_dir), "--resume"]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, cwd=str(cfg.parent))


def _temp_files(work_dir: Path, kind: str, old=frozenset()):
    """Temporary files of checkpoint (or ``last_checkpoint``) writes, except ``old``."""
    pattern = {"checkpoint": ".iter_*.pth.*.tmp", "pointer": ".last_checkpoint.*.tmp",
               "any": ".*.tmp"}[kind]
    return set(glob.glob(str(work_dir / pattern))) - set(old)


def _wait_for(predicate, proc: subprocess.Popen, timeout: float, poll: float = 0.005) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        if proc.poll() is not None:
            return False
        time.sleep(poll)
    return False


def _kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


def _assert_all_checkpoints_load(work_dir: Path) -> int:
    """Every ``*.pth`` under its final name loads; returns the newest iteration saved."""
    newest = 0
    for path in glob.glob(str(work_dir / "*.pth")):
        ckpt = safe_load(path)  # raises CheckpointError on a truncated file
        assert "state_dict" in ckpt and "optimizer" in ckpt, path
        newest = max(newest, int(ckpt["meta"]["iter"]))
    return newest


@pytest.mark.slow
def test_sigkill_at_random_moments_then_resume(tmp_path, ckplus_config):
    cfg = _write_kill_config(tmp_path, ckplus_config)
    work_dir = tmp_path / "work"
    # (strategy, seed): kill while a checkpoint or last_checkpoint is being
    # written, or at a random moment once the run has made progress.
    plan = [("checkpoint", 0), ("random", 1), ("pointer", 2), ("random", 3)]
    killed_mid_write = 0
    saved = 0
    for strategy, seed in plan:
        rng = random.Random(seed)
        stale = _temp_files(work_dir, "any")  # left by the previous kill
        proc = _launch(cfg, work_dir)
        if strategy == "random":
            # once the run made progress (its first write started), a random moment
            ok = _wait_for(lambda: _temp_files(work_dir, "checkpoint", stale), proc, 60)
            time.sleep(rng.uniform(0.0, 1.2))
        else:
            for _ in range(rng.randint(1, 2)):  # the first or the second write of this run
                _wait_for(lambda: not _temp_files(work_dir, strategy, stale), proc, 60)
                ok = _wait_for(lambda: _temp_files(work_dir, strategy, stale), proc, 60)
        assert proc.poll() is None and ok, f"training ended before the kill ({strategy}): " \
            f"{proc.stderr.read() if proc.poll() is not None else ''}"
        _kill(proc)
        if _temp_files(work_dir, "any", stale):
            killed_mid_write += 1
        newest = _assert_all_checkpoints_load(work_dir)
        assert newest >= saved  # never lose a completed checkpoint
        saved = newest
        pointer = work_dir / "last_checkpoint"
        if pointer.exists():  # it names a complete checkpoint
            safe_load(pointer.read_text().strip())
    assert killed_mid_write >= 2  # the two write strategies did hit a write
    assert saved > 0 and saved < FINAL_ITER

    resume_from, _ = find_resumable_checkpoint(str(work_dir))
    resume_iter = safe_load(resume_from)["meta"]["iter"]
    proc = _launch(cfg, work_dir)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err[-3000:]
    final = work_dir / f"iter_{FINAL_ITER}.pth"
    assert safe_load(str(final))["meta"]["iter"] == FINAL_ITER
    _assert_all_checkpoints_load(work_dir)
    assert not glob.glob(str(work_dir / ".*.tmp"))  # leftovers of killed writes were removed
    logs = glob.glob(str(work_dir / "*" / "*.log"))
    assert any(f"iter: {resume_iter}" in line for p in logs for line in open(p)
               if "resumed epoch" in line)


@pytest.mark.slow
def test_resume_skips_a_truncated_newest_checkpoint(tmp_path, capsys, ckplus_config):
    from errkit.cli.train import main as train

    cfg = str(ckplus_config)
    opts = ["--cfg-options", "model.model_name=test_resnet"]
    work_dir = tmp_path / "work"
    train([cfg, "--work-dir", str(work_dir), *opts, "train_cfg.max_epochs=2"])
    newest = work_dir / "epoch_2.pth"
    newest.write_bytes(newest.read_bytes()[: newest.stat().st_size // 2])  # a torn write
    capsys.readouterr()

    train([cfg, "--work-dir", str(work_dir), "--resume", *opts])
    err = capsys.readouterr().err
    assert "epoch_2.pth" in err and f"resuming from {work_dir / 'epoch_1.pth'}" in err
    assert safe_load(str(work_dir / "epoch_3.pth"))["meta"]["epoch"] == 3
    logs = glob.glob(str(work_dir / "*" / "*.log"))
    assert any("resumed epoch: 1" in Path(p).read_text() for p in logs)


def test_find_resumable_checkpoint_order(tmp_path):
    assert find_resumable_checkpoint(str(tmp_path)) == (None, [])
    for i in (1, 2, 3):
        torch.save({"meta": {"iter": i}}, tmp_path / f"iter_{i}.pth")
        os.utime(tmp_path / f"iter_{i}.pth", (1000 + i, 1000 + i))
    torch.save({"meta": {}}, tmp_path / "best_acc_iter_9.pth")  # not a resume point
    (tmp_path / "last_checkpoint").write_text(str(tmp_path / "iter_2.pth"))
    assert find_resumable_checkpoint(str(tmp_path)) == (str(tmp_path / "iter_2.pth"), [])
    (tmp_path / "iter_2.pth").write_bytes(b"PK\x03\x04 torn")
    found, skipped = find_resumable_checkpoint(str(tmp_path))
    assert found == str(tmp_path / "iter_3.pth")
    assert len(skipped) == 1 and "iter_2.pth" in skipped[0].reason
    (tmp_path / "last_checkpoint").write_text(str(tmp_path / "gone.pth"))
    found, skipped = find_resumable_checkpoint(str(tmp_path))
    assert found == str(tmp_path / "iter_3.pth") and "not found" in skipped[0].reason
