"""The T_F trainer end to end on a tiny world: metrics keys, determinism, resume, the joint
step, mixed precision."""
import json

import pytest

from d2rl_lib.cli import main
from d2rl_lib.config import get_config
from d2rl_lib.runtime import RunDir
from d2rl_lib.training.run import run_method

TINY = ["data.train_ids=6", "data.test_ids=4", "data.images_per_camera=2", "data.trials=2",
        "schedule.batch_ids=3", "schedule.batch_images=2", "schedule.log_every=1",
        "schedule.checkpoint_every=0", "runtime.device=cpu"]


def _losses(run: RunDir):
    return [line.split(" ", 2)[2] for line in run.log.read_text().splitlines()]


def test_tiny_run_writes_all_metric_keys_and_repeats_exactly(tmp_path):
    cfg = get_config("synthetic-ci", TINY + ["schedule.tf_steps=3", "method=baseline"])
    a = run_method(cfg, RunDir.create(tmp_path / "a"))
    for key in ("rank1", "rank10", "rank20", "mAP", "mINP", "v2v_mAP", "i2i_mAP", "protocol"):
        assert key in a
    assert a["protocol"]["sampler"] == "seeded" and a["protocol"]["reranking"] is False
    b = run_method(cfg, RunDir.create(tmp_path / "b"))
    assert _losses(RunDir(tmp_path / "a")) == _losses(RunDir(tmp_path / "b"))
    assert a["mAP"] == b["mAP"]
    assert json.loads((tmp_path / "a" / "metrics.json").read_text())["method"] == "baseline"


def test_resume_continues_exactly(tmp_path):
    full = RunDir.create(tmp_path / "full")
    run_method(get_config("synthetic-ci", TINY + ["schedule.tf_steps=3"] + ["method=grayscale"]), full)
    part = RunDir.create(tmp_path / "part")
    run_method(get_config("synthetic-ci", TINY + ["schedule.tf_steps=2", "method=grayscale"]), part)
    run_method(get_config("synthetic-ci", TINY + ["schedule.tf_steps=3", "method=grayscale"]), part,
               resume=True)
    assert _losses(part) == _losses(full)


def test_cli_train_and_errors(tmp_path, capsys):
    out = tmp_path / "cli"
    args = ["train", "--config", "synthetic-ci", "--out", str(out), "--set", "method=baseline"]
    for kv in TINY + ["schedule.tf_steps=1"]:
        args += ["--set", kv]
    assert main(args) == 0
    assert (out / "config.json").is_file() and (out / "metrics.json").is_file()
    assert (out / "checkpoints" / "last.pt").is_file()
    assert main(["train", "--config", "synthetic-ci", "--set", "method=baseline",
                 "--out", str(tmp_path / "x"), "--resume"]) == 2
    assert "checkpoint not found" in capsys.readouterr().err


TI_TINY = TINY + ["schedule.ti_batch=2", "ti.channels=8", "ti.disc_channels=8", "ti.n_res=1"]


@pytest.mark.parametrize("method", ["d2rl", "d2rl-frozen", "unify-ir", "unify-visible"])
def test_methods_with_t_i_run_end_to_end(tmp_path, method):
    cfg = get_config("synthetic-ci", TI_TINY + [f"method={method}", "schedule.ti_steps=1",
                                                "schedule.tf_steps=1", "schedule.joint_steps=1"])
    m = run_method(cfg, RunDir.create(tmp_path / method))
    assert "translation" in m and "v2i_corr" in m["translation"]
    assert m["tf_updates"] == 2 and m["joint_steps"] == (1 if method == "d2rl" else 0)


def _joint_batch():
    import torch

    raw = torch.rand(6, 3, 64, 32) * 2 - 1                          # [B, 3, H, W] in [-1, 1]
    return raw, torch.tensor([0, 0, 0, 1, 1, 1]), torch.tensor([0, 1, 2, 0, 1, 2])


def _trainers(cfg):
    import torch

    from d2rl_lib.training.tf import TFTrainer
    from d2rl_lib.training.ti import TITrainer

    torch.manual_seed(0)
    return TITrainer(cfg, torch.device("cpu")), TFTrainer(cfg, 3, 4, torch.device("cpu"))


def test_fp16_steps_go_through_gradient_scalers(monkeypatch):
    """fp16 (CUDA's default on older GPUs) needs loss scaling: every update, the joint one
    included, goes through a scaler; here fp16 autocast is forced on the CPU."""
    import torch

    from d2rl_lib.training import tf as train_tf, ti as train_ti

    monkeypatch.setattr(train_tf, "amp_dtype", lambda mode, device: torch.float16)
    monkeypatch.setattr(train_ti, "amp_dtype", lambda mode, device: torch.float16)
    from d2rl_lib.training.joint import JointStep

    ti, tf = _trainers(get_config("synthetic-ci", TI_TINY))
    joint = JointStep(ti, tf)
    scalers = {"T_F": tf.scaler, "D": ti.scaler_d, "G": ti.scaler_g, "joint": joint.scaler}
    assert all(s.is_enabled() for s in scalers.values())
    scaled = []

    def recording(scaler, name):
        """The scaler's own ``scale``, noting which scaler scaled a loss."""
        def scale(loss):
            scaled.append(name)
            return type(scaler).scale(scaler, loss)
        return scale

    for name, s in scalers.items():
        monkeypatch.setattr(s, "scale", recording(s, name))
    raw, mod, labels = _joint_batch()
    t_f_before = [p.detach().clone() for p in tf.model.parameters()]
    out = joint(raw, mod, labels)
    assert scaled == ["D", "joint"]                      # the D update, then one joint backward
    assert torch.isfinite(out["reid"])
    # the scaler steps T_F unless the scaled gradients overflowed fp16; then it skips the
    # step and halves its scale (from 2**16)
    stepped = any(not torch.equal(a, b) for a, b in zip(t_f_before, tf.model.parameters()))
    assert stepped == (joint.scaler.get_scale() == 2.0 ** 16)
    ti.g_step(raw[mod == 0], raw[mod == 1][:, :1])
    assert scaled[-1] == "G"
    tf.step(raw[:, :3].new_zeros(len(raw), 4, *raw.shape[2:]), labels)
    assert scaled[-1] == "T_F"


def test_bf16_autocast_runs_a_joint_step_on_the_cpu():
    import torch

    from d2rl_lib.training.joint import JointStep

    ti, tf = _trainers(get_config("synthetic-ci", TI_TINY + ["runtime.amp=bf16"]))
    assert tf.amp == torch.bfloat16 and not tf.scaler.is_enabled()
    raw, mod, labels = _joint_batch()
    g_before = [p.detach().clone() for p in ti.t_i.generator_parameters()]
    out = JointStep(ti, tf)(raw, mod, labels)
    assert torch.isfinite(out["reid"]) and out["reid"].dtype == torch.float32
    assert any(not torch.equal(a, b) for a, b in zip(g_before, ti.t_i.generator_parameters()))


def test_gradients_reach_the_generators_only_in_joint_training():
    import torch
    from d2rl_lib.models.unify import unify
    from d2rl_lib.training.joint import JointStep
    from d2rl_lib.training.tf import TFTrainer
    from d2rl_lib.training.ti import TITrainer

    cfg = get_config("synthetic-ci", TI_TINY)
    torch.manual_seed(0)
    ti = TITrainer(cfg, torch.device("cpu"))
    tf = TFTrainer(cfg, 3, 4, torch.device("cpu"))
    raw, mod, labels = _joint_batch()
    before = [p.detach().clone() for p in ti.t_i.G_i.parameters()]
    JointStep(ti, tf)(raw, mod, labels)
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in ti.t_i.G_i.parameters())
    # the re-ID loss alone reaches G_i through the unified images ...
    ti.t_i.zero_grad()
    x = unify(ti.t_i, raw, mod, "multi-spectral")
    tf.losses(x, labels)["reid"].backward()
    assert sum(float(p.grad.abs().sum()) for p in ti.t_i.G_i.parameters() if p.grad is not None) > 0
    # ... and not when the unified images are made without gradients (d2rl-frozen)
    ti.t_i.zero_grad()
    with torch.no_grad():
        x = unify(ti.t_i, raw, mod, "multi-spectral")
    tf.losses(x, labels)["reid"].backward()
    assert all(p.grad is None or p.grad.abs().sum() == 0 for p in ti.t_i.G_i.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, ti.t_i.G_i.parameters()))


def _generator_grads(w_reid=None):
    """The generators' gradients after one joint step with ``ti.w_reid=w_reid``, or
    (None) after one backward of T_I's objective alone, from the same trainers, batch and
    random draws (the gradients stay after the step: the next update zeroes them)."""
    import torch

    from d2rl_lib.training.joint import JointStep

    extra = [] if w_reid is None else [f"ti.w_reid={w_reid}"]
    ti, tf = _trainers(get_config("synthetic-ci", TI_TINY + extra))
    raw, mod, labels = _joint_batch()
    torch.manual_seed(1)
    if w_reid is not None:
        JointStep(ti, tf)(raw, mod, labels)
    else:                                            # the joint step's T_I half, by hand
        vis = mod == 0
        x, y = raw[vis], raw[~vis][:, :1]
        ti.d_step(x, y)
        ti.t_i.train()
        ti.opt_g.zero_grad(set_to_none=True)
        ti.g_losses(x, y, labels[vis], labels[~vis])[0].backward()
    return [p.grad.clone() for p in ti.t_i.generator_parameters() if p.grad is not None]


def test_w_reid_weighs_the_re_id_loss_in_the_generators_gradient():
    """ti.w_reid = 0: the joint step leaves the generators' gradient to T_I's objective
    alone; > 0: the re-ID loss adds to it, in proportion to w."""
    import torch

    alone, g0, g1, g2 = (_generator_grads(w) for w in (None, 0.0, 1.0, 2.0))
    assert len(alone) == len(g0) == len(g1) == len(g2) > 0
    assert all(torch.equal(a, b) for a, b in zip(alone, g0))
    assert any(not torch.allclose(a, b) for a, b in zip(g0, g1))
    assert all(torch.allclose(c - a, 2 * (b - a), rtol=1e-3, atol=1e-7) for a, b, c in zip(g0, g1, g2))


def _norm(params) -> float:
    import torch

    return float(torch.cat([p.grad.reshape(-1).double() for p in params if p.grad is not None]).norm())


def test_grad_clip_clips_t_f_gradient_norm_and_not_the_generators():
    """optim.grad_clip: T_F's gradient norm after its own step and after a joint step is the
    limit (it is far above it unclipped); the generators' in the joint step is not clipped."""
    import torch

    from d2rl_lib.training.joint import JointStep

    raw, mod, labels = _joint_batch()
    four = torch.cat([raw, raw[:, :1]], 1)                            # [B, 4, H, W]
    norms = {}
    for clip in (0.0, 0.01):
        ti, tf = _trainers(get_config("synthetic-ci", TI_TINY + [f"optim.grad_clip={clip}"]))
        tf.step(four, labels)
        step = _norm(tf.model.parameters())
        JointStep(ti, tf)(raw, mod, labels)
        norms[clip] = step, _norm(tf.model.parameters()), _norm(ti.t_i.generator_parameters())
    assert min(norms[0.0]) > 0.1                                      # unclipped: far above 0.01
    assert norms[0.01][:2] == pytest.approx((0.01, 0.01), rel=1e-4)
    assert norms[0.01][2] > 0.1


def test_ti_init_starts_from_the_t_i_stage_and_checks_its_settings(tmp_path):
    import torch

    from d2rl_lib.errors import UserError
    from d2rl_lib.runtime import load_checkpoint
    from d2rl_lib.training.ti_stage import run_ti

    stage = RunDir.create(tmp_path / "ti")
    run_ti(get_config("synthetic-ci", TI_TINY + ["schedule.ti_steps=2", "schedule.sample_every=0"]), stage)
    ckpt = stage.checkpoints / "ti_last.pt"
    frozen = RunDir.create(tmp_path / "frozen")
    cfg = get_config("synthetic-ci", TI_TINY + ["method=d2rl-frozen", "schedule.ti_steps=2",
                                                "schedule.tf_steps=1", "schedule.joint_steps=0",
                                                f"schedule.ti_init={ckpt}"])
    run_method(cfg, frozen)
    theirs = load_checkpoint(ckpt)["trainer"]["t_i"]
    mine = load_checkpoint(frozen.checkpoints / "last.pt")["ti"]["t_i"]
    assert all(torch.equal(theirs[k], mine[k]) for k in theirs)      # frozen: T_I unchanged
    assert "T_I step" not in frozen.log.read_text()                  # and not trained again
    bad = get_config("synthetic-ci", TI_TINY + ["method=d2rl-frozen", "ti.n_res=2",
                                                f"schedule.ti_init={ckpt}"])
    with pytest.raises(UserError, match="ti.n_res"):
        run_method(bad, RunDir.create(tmp_path / "bad"))
    with pytest.raises(UserError, match="no such file"):
        run_method(get_config("synthetic-ci", TI_TINY + ["method=d2rl", "schedule.ti_init=nope.pt"]),
                   RunDir.create(tmp_path / "none"))
