"""No checkpoint is written while the model holds a NaN or infinite weight or buffer."""

from __future__ import annotations

import pytest
import torch

from errkit.config import load_config
from errkit.engine import build_runner
from errkit.engine.finite_state import NonFiniteStateError, first_non_finite


def test_first_non_finite_skips_integer_tensors():
    state = {"bn.num_batches_tracked": torch.tensor(3), "w": torch.tensor([1.0, float("inf")])}
    assert first_non_finite(state) == ("w", 1, 2)
    assert first_non_finite({"w": torch.ones(2), "meta": "x"}) is None


@pytest.mark.parametrize("what", ["buffer", "parameter"])
def test_runner_refuses_to_save_non_finite_state(tmp_path, short_run_config, what):
    cfg = load_config(str(short_run_config()))
    cfg.work_dir = str(tmp_path / "work")
    cfg.experiment_name = f"finite_state_{what}"  # one mmengine logger per run
    runner = build_runner(cfg)
    plain = dict(save_optimizer=False, save_param_scheduler=False)  # nothing trained yet
    runner.save_checkpoint(cfg.work_dir, "epoch_0.pth", **plain)  # finite: written
    assert (tmp_path / "work" / "epoch_0.pth").is_file()
    model = runner.model
    if what == "buffer":
        name, tensor = next((n, b) for n, b in model.named_buffers() if n.endswith("running_var"))
    else:
        name, tensor = next(model.named_parameters())
    with torch.no_grad():
        tensor.view(-1)[0] = float("nan")
    with pytest.raises(NonFiniteStateError) as info:
        runner.save_checkpoint(cfg.work_dir, "epoch_1.pth", **plain)
    message = str(info.value)
    assert f"refused to save checkpoint epoch_1.pth: the model's {what} {name} holds 1 of" \
        in message and "nothing was written" in message and "\n" not in message
    assert sorted(p.name for p in (tmp_path / "work").glob("*.pth")) == ["epoch_0.pth"]
