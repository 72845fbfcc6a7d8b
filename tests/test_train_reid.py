"""The re-ID trainer end to end on a tiny world: metrics keys, determinism, resume."""
import json

import pytest

from d2rl_lib.cli import main
from d2rl_lib.config import get_config
from d2rl_lib.runtime import RunDir
from d2rl_lib.train_reid import run_method

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
    assert m["tf_steps"] == 2 and m["joint_steps"] == (1 if method == "d2rl" else 0)


def test_gradients_reach_the_generators_only_in_joint_training():
    import torch
    from d2rl_lib.train_reid import ReIDTrainer, joint_step
    from d2rl_lib.models.unify import unify
    from d2rl_lib.train_ti import TITrainer

    cfg = get_config("synthetic-ci", TI_TINY)
    torch.manual_seed(0)
    ti = TITrainer(cfg, torch.device("cpu"))
    tf = ReIDTrainer(cfg, 3, 4, torch.device("cpu"))
    raw = torch.rand(6, 3, 64, 32) * 2 - 1
    mod = torch.tensor([0, 0, 0, 1, 1, 1])
    labels = torch.tensor([0, 1, 2, 0, 1, 2])
    before = [p.detach().clone() for p in ti.t_i.G_i.parameters()]
    joint_step(ti, tf, raw, mod, labels)
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


def test_ti_init_starts_from_the_t_i_stage_and_checks_its_settings(tmp_path):
    import torch

    from d2rl_lib.errors import UserError
    from d2rl_lib.runtime import load_checkpoint
    from d2rl_lib.train_ti import run_ti

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
