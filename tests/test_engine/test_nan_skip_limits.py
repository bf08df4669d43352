"""``nan_policy='skip'`` leaves no trace in the saved state, and a run that skips most
of its updates ends with exit status 1 and a summary instead of training nothing."""

from __future__ import annotations

import glob
import textwrap
from pathlib import Path

import pytest
import torch

from errkit.engine.checkpoint import safe_load
from errkit.engine.finite_state import first_non_finite
from errkit.engine.nan_guard import TooManySkippedUpdatesError
from errkit.models.data_preprocessors import FERDataPreprocessor
from errkit.registry import MODELS

#: 48 training faces in batches of 8: 6 iterations per epoch.
ITERS_PER_EPOCH = 6


class NaNBatchPreprocessor(FERDataPreprocessor):
    """Turns the training batches of the given (1-based) calls into NaN images: the
    forward pass then feeds NaN into every BatchNorm's running statistics."""

    def __init__(self, nan_at=(), **kwargs) -> None:
        super().__init__(**kwargs)
        self.nan_at = set(nan_at)
        self.calls = 0

    def forward(self, data: dict, training: bool = False) -> dict:
        out = super().forward(data, training)
        if training:
            self.calls += 1
            if self.calls in self.nan_at:
                out["inputs"]["img"] = out["inputs"]["img"] * float("nan")
        return out


@pytest.fixture
def skip_config(tmp_path, ckplus_config):
    MODELS.register_module(name="NaNBatchPreprocessor", module=NaNBatchPreprocessor, force=True)
    base = ckplus_config
    cfg = tmp_path / "skip.py"
    cfg.write_text(textwrap.dedent(f"""
        _base_ = ['{base}']
        model = dict(model_name='test_resnet',
                     data_preprocessor=dict(type='NaNBatchPreprocessor', nan_at=[]))
        optim_wrapper = dict(nan_policy='skip')
        default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=5))
        """))
    yield cfg
    MODELS._module_dict.pop("NaNBatchPreprocessor", None)


def _saved_states(work_dir: Path):
    return {Path(p).name: safe_load(p) for p in sorted(glob.glob(str(work_dir / "*.pth")))}


def _bn_buffers(model: torch.nn.Module):
    return {n: b.clone() for n, b in model.named_buffers()}


@pytest.mark.slow
def test_skipped_steps_leave_no_non_finite_buffer(skip_config, tmp_path):
    # two NaN batches of 18: within the limit, the run finishes
    from errkit.cli.train import main as train

    work = tmp_path / "work"
    train([str(skip_config), "--work-dir", str(work), "--cfg-options",
           "model.data_preprocessor.nan_at=[3,9]", "experiment_name=skip_within_limit"])
    states = _saved_states(work)
    assert sorted(states) == ["epoch_1.pth", "epoch_2.pth", "epoch_3.pth"]
    for name, ckpt in states.items():
        assert first_non_finite(ckpt["state_dict"]) is None, name
    # the skipped forward passes were not counted by BatchNorm either
    tracked = [v for k, v in states["epoch_3.pth"]["state_dict"].items()
               if k.endswith("num_batches_tracked")]
    assert tracked and all(int(v) == 3 * ITERS_PER_EPOCH - 2 for v in tracked)


@pytest.mark.slow
def test_a_run_that_skips_most_updates_stops_with_a_summary(skip_config, tmp_path, capsys):
    from errkit.cli.train import main as train

    work = tmp_path / "work"
    nan_at = list(range(3, 3 * ITERS_PER_EPOCH + 1))  # every batch from the third on
    with pytest.raises(SystemExit) as info:
        train([str(skip_config), "--work-dir", str(work), "--cfg-options",
               f"model.data_preprocessor.nan_at={nan_at}", "experiment_name=skip_beyond_limit"])
    assert info.value.code == 1
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.startswith("errkit: error:")]
    assert len(lines) == 1 and "Traceback" not in err
    # checked from the tenth iteration on: 8 of 10 skipped
    assert ("NaNGuardHook: 8 of the last 10 iterations skipped an update for a non-finite "
            "loss (80%, more than the limit of 50%); training stopped at iteration 10 after 8 "
            "skipped update(s) in all") in lines[0]
    states = _saved_states(work)
    assert sorted(states) == ["epoch_1.pth"]  # iteration 12's checkpoint never came
    assert first_non_finite(states["epoch_1.pth"]["state_dict"]) is None


def test_skip_share_limit_arguments():
    from errkit.engine.hooks import NaNGuardHook

    with pytest.raises(ValueError, match="max_skip_ratio must lie in"):
        NaNGuardHook(max_skip_ratio=1.5)
    with pytest.raises(ValueError, match="window and min_iters must be >= 1"):
        NaNGuardHook(window=0)

    class Runner:
        iter = 0
        optim_wrapper = None

    runner = Runner()
    early = NaNGuardHook(max_skip_ratio=0.5, window=4, min_iters=3)
    for _ in range(2):  # all skipped, but fewer than min_iters iterations
        early._recent.append(True)
        early._check_skip_share(runner, 2)
    hook = NaNGuardHook(max_skip_ratio=0.5, window=4, min_iters=2)
    for skipped in (False, True, False, True, False, True):  # never more than half
        hook._recent.append(skipped)
        hook._check_skip_share(runner, 3)
    hook._recent.append(True)  # the last 4: T, F, T, T
    with pytest.raises(TooManySkippedUpdatesError, match="3 of the last 4 iterations"):
        hook._check_skip_share(runner, 4)
    assert NaNGuardHook(max_skip_ratio=None).max_skip_ratio is None
