"""Runtime helpers: devices, seeding, atomic checkpoints, the divergence guard."""
import math
import random

import numpy as np
import pytest
import torch

from d2rl_lib.errors import DivergenceError, UserError
from d2rl_lib.runtime import (LossGuard, RunDir, amp_dtype, choose_device, load_checkpoint,
                              rng_state, save_checkpoint, seed_everything, set_rng_state)


def test_choose_device():
    assert choose_device("cpu").type == "cpu"
    assert choose_device("auto").type in ("cpu", "cuda", "mps")
    if not torch.cuda.is_available():
        with pytest.raises(UserError, match="no CUDA GPU"):
            choose_device("cuda")
    with pytest.raises(UserError, match="unknown device"):
        choose_device("tpu-9")


def test_amp_modes_on_cpu():
    cpu = torch.device("cpu")
    assert amp_dtype("auto", cpu) is None and amp_dtype("off", cpu) is None
    assert amp_dtype("bf16", cpu) is torch.bfloat16
    with pytest.raises(UserError, match="fp16 needs a CUDA"):
        amp_dtype("fp16", cpu)


def test_seed_everything_repeats():
    def draw():
        return random.random(), float(np.random.rand()), float(torch.rand(1))
    seed_everything(3)
    a = draw()
    seed_everything(3)
    assert draw() == a


def test_rng_state_round_trips_through_a_checkpoint(tmp_path):
    seed_everything(5)
    save_checkpoint({"rng": rng_state()}, tmp_path / "c.pt")
    expected = (random.random(), float(np.random.rand()), float(torch.rand(1)))
    seed_everything(99)
    set_rng_state(load_checkpoint(tmp_path / "c.pt")["rng"])
    assert (random.random(), float(np.random.rand()), float(torch.rand(1))) == expected


def test_checkpoint_is_atomic_and_weights_only(tmp_path):
    path = tmp_path / "ck" / "last.pt"
    save_checkpoint({"w": torch.ones(2), "step": 3}, path)
    assert load_checkpoint(path)["step"] == 3
    assert [p.name for p in path.parent.iterdir()] == ["last.pt"]  # no temp files left

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))
    torch.save({"x": Evil()}, tmp_path / "evil.pt")
    with pytest.raises(UserError, match="cannot read checkpoint"):
        load_checkpoint(tmp_path / "evil.pt")
    with pytest.raises(UserError, match="not found"):
        load_checkpoint(tmp_path / "missing.pt")


def test_loss_guard_reports_nan_and_collapse():
    g = LossGuard("T_I", collapse_patience=3, checkpoint_hint="runs/x/last.pt")
    g.check(1, {"gen": torch.tensor(1.5), "disc": 0.5})
    with pytest.raises(DivergenceError, match=r"T_I diverged at step 2: loss gen became nan.*step 1.*runs/x/last.pt"):
        g.check(2, {"gen": torch.tensor(math.nan), "disc": 0.5})
    g.check_collapse(3, 1.0)
    g.check_collapse(4, 0.8)  # resets the streak
    g.check_collapse(5, 1.0)
    g.check_collapse(6, 1.0)
    with pytest.raises(DivergenceError, match="GAN collapse"):
        g.check_collapse(7, 1.0)


def test_run_dir_layout(tmp_path):
    rd = RunDir.create(tmp_path / "run1")
    assert rd.checkpoints.is_dir() and rd.samples.is_dir()
    rd.write_log("hello")
    assert rd.log.read_text() == "hello\n"
