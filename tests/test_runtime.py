"""Runtime helpers: devices, seeding, the update sequence, atomic checkpoints, the divergence
guard."""
import math
import random

import numpy as np
import pytest
import torch

from d2rl_lib.errors import DivergenceError, UserError
from d2rl_lib.runtime import (LossGuard, RunDir, Update, amp_dtype, choose_device, load_checkpoint,
                              rng_state, save_checkpoint, scaled_update, seed_everything,
                              set_rng_state)


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


class _RecordingScaler:
    """GradScaler's interface with a fixed scale of 8, noting every call in ``events``; like
    the real one, ``step`` unscales an optimiser's gradients first unless ``unscale_`` did."""

    def __init__(self, events, names):
        self.events, self.names, self.unscaled = events, names, set()

    def scale(self, loss):
        self.events.append("scale")
        return loss * 8

    def unscale_(self, opt):
        self.events.append(("unscale", self.names[opt]))
        self._unscale(opt)

    def _unscale(self, opt):
        for group in opt.param_groups:
            for p in group["params"]:
                p.grad /= 8
        self.unscaled.add(opt)

    def step(self, opt):
        if opt not in self.unscaled:
            self._unscale(opt)
        self.events.append(("step", self.names[opt]))
        opt.step()

    def update(self):
        self.events.append("update")


def test_scaled_update_zeroes_syncs_unscales_clips_steps_then_updates_and_schedules(monkeypatch):
    """Two updates from one loss: a (clipped to 0.5, with a schedule) and b (not clipped).
    Every sync sees the scaled gradients, only a is unscaled by hand and clipped, the
    optimisers step in the order given, the scale is updated once, then a's schedule steps."""
    torch.manual_seed(0)
    a, b = torch.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    x = torch.randn(4, 3)                                             # [B, 3]
    loss_of = lambda: (a(x) ** 2).sum() + (3 * b(x) ** 2).sum()       # noqa: E731
    loss_of().backward()
    ref = {m: [p.grad.clone() for p in m.parameters()] for m in (a, b)}   # the true gradients
    norm = lambda grads: float(torch.cat([g.reshape(-1) for g in grads]).norm())   # noqa: E731
    assert norm(ref[a]) > 0.5 and norm(ref[b]) > 0.5                  # so clipping would show
    before = {m: [p.detach().clone() for p in m.parameters()] for m in (a, b)}
    for m in (a, b):                                                  # stale gradients: zeroed
        for p in m.parameters():
            p.grad = torch.full_like(p, 100.0)
    opt_a, opt_b = torch.optim.SGD(a.parameters(), lr=1.0), torch.optim.SGD(b.parameters(), lr=1.0)
    events, synced = [], {}

    def sync_of(name):
        def sync(params):
            events.append(("sync", name))
            synced[name] = [p.grad.clone() for p in params]
        return sync

    clip = torch.nn.utils.clip_grad_norm_

    def recording_clip(params, max_norm):
        params = list(params)
        events.append(("clip", "a" if params[0] is a.weight else "b"))
        return clip(params, max_norm)

    class Schedule:
        def step(self):
            events.append(("schedule", "a"))

    monkeypatch.setattr(torch.nn.utils, "clip_grad_norm_", recording_clip)
    scaler = _RecordingScaler(events, {opt_a: "a", opt_b: "b"})
    scaled_update(scaler, loss_of(),
                  Update(opt_a, a.parameters(), max_norm=0.5, sync=sync_of("a"), schedule=Schedule()),
                  Update(opt_b, b.parameters(), sync=sync_of("b")))
    assert events == ["scale", ("sync", "a"), ("sync", "b"), ("unscale", "a"), ("clip", "a"),
                      ("step", "a"), ("step", "b"), "update", ("schedule", "a")]
    for m, name in ((a, "a"), (b, "b")):                              # scaled, stale ones gone
        assert all(torch.allclose(s, 8 * r) for s, r in zip(synced[name], ref[m]))
    assert norm([p.grad for p in a.parameters()]) == pytest.approx(0.5, rel=1e-5)
    assert all(torch.allclose(p.grad, r * 0.5 / norm(ref[a]), rtol=1e-5)
               for p, r in zip(a.parameters(), ref[a]))              # same direction
    assert all(torch.allclose(p.grad, r) for p, r in zip(b.parameters(), ref[b]))   # not clipped
    for m in (a, b):                                                  # SGD, lr 1: p - grad
        assert all(torch.allclose(p, q - p.grad) for p, q in zip(m.parameters(), before[m]))
