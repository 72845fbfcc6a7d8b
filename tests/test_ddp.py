"""Several processes on the CPU with gloo (docs/training.md, "several processes").

- a toy model in DDP: gradients are averaged, so replicas stay identical;
- the distributed sampler: each rank's share of a PK batch;
- the real trainer launched by torchrun (``d2rl train`` in two gloo processes): one set of
  files written by rank 0, identical replicas, a checkpoint a single process loads and
  resumes.
"""
import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp
from torch import nn

from d2rl_lib import distributed
from d2rl_lib.cli import main
from d2rl_lib.data.records import INFRARED, VISIBLE
from d2rl_lib.data.samplers import CrossModalityPKSampler, RankShare
from d2rl_lib.errors import UserError


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, out) -> None:
    torch.set_num_threads(1)
    distributed.init_process(rank, world, port)
    torch.manual_seed(0)
    model = distributed.wrap(nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3)))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    g = torch.Generator().manual_seed(100 + rank)  # each rank sees different data
    for _ in range(3):
        x = torch.randn(16, 4, generator=g)
        y = torch.randint(0, 3, (16,), generator=g)
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    out[rank] = torch.cat([p.detach().flatten() for p in model.parameters()])
    distributed.cleanup()


@pytest.mark.slow
def test_two_process_gloo_replicas_agree():
    world = 2
    manager = mp.Manager()
    out = manager.dict()
    mp.spawn(_worker, args=(world, _free_port(), out), nprocs=world, join=True)
    a, b = out[0], out[1]
    assert torch.allclose(a, b)
    torch.manual_seed(0)
    init = torch.cat([p.detach().flatten() for p in
                      nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3)).parameters()])
    assert not torch.allclose(a, init)  # training moved the weights


def test_wrap_without_group_is_identity():
    m = nn.Linear(2, 2)
    assert distributed.wrap(m) is m and distributed.is_main() and distributed.unwrap(m) is m
    vals = {"a": torch.tensor(1.5)}
    assert distributed.mean_across_ranks(vals) is vals
    assert distributed.broadcast_object(3) == 3 and distributed.gather_objects(3) == [3]


# -- the distributed sampler ----------------------------------------------------------------
def _sampler(P: int, K: int = 2) -> CrossModalityPKSampler:
    labels = np.repeat(np.arange(10), 6)                              # 10 ids x 6 images
    modality = np.tile([VISIBLE] * 3 + [INFRARED] * 3, 10)
    return CrossModalityPKSampler(labels, modality, P, K, seed=3), labels, modality


@pytest.mark.parametrize("world", [1, 2, 4])
def test_rank_share_splits_the_pk_batch(world):
    P, K = 8, 2
    sampler, labels, modality = _sampler(P, K)
    for step in (0, 5):
        full = sampler.batch(step)                                    # [P * 2K]
        shares = [RankShare(sampler, r, world).batch(step) for r in range(world)]
        assert sum(len(s) for s in shares) == len(full) == P * 2 * K
        ids = [set(labels[s]) for s in shares]
        assert all(len(i) == P // world for i in ids)
        assert all(not (ids[a] & ids[b]) for a in range(world) for b in range(a + 1, world))
        assert sorted(np.concatenate(shares)) == sorted(full)        # union = the global batch
        for s in shares:                                              # K visible + K infrared each
            for lab in set(labels[s]):
                mine = s[labels[s] == lab]
                assert (modality[mine] == VISIBLE).sum() == K and (modality[mine] == INFRARED).sum() == K
    assert np.array_equal(RankShare(sampler, 0, 1).batch(7), sampler.batch(7))


def test_rank_share_refuses_a_batch_it_cannot_split():
    sampler, _, _ = _sampler(P=6)
    with pytest.raises(UserError, match=r"schedule.batch_ids=6 .* 4 processes.*1, 2, 3, 6"):
        RankShare(sampler, 0, 4)
    with pytest.raises(UserError, match="rank 2 of 2"):
        RankShare(sampler, 2, 2)


def test_torchrun_settings_are_checked(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    assert main(["train", "--config", "synthetic-ci", "--stage", "ti", "--out",
                 str(tmp_path / "ti")]) == 2
    assert "runs in one process" in capsys.readouterr().err and not (tmp_path / "ti").exists()
    monkeypatch.delenv("RANK")
    with pytest.raises(UserError, match="RANK is not"):
        distributed.setup("cpu")
    with pytest.raises(UserError, match="cuda:1"):
        monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
        distributed.rank_device("cuda:1")


# -- the real trainer under torchrun ---------------------------------------------------------
SMALL = ["data.train_ids=6", "data.test_ids=4", "data.images_per_camera=2", "data.trials=2",
         "schedule.batch_ids=4", "schedule.batch_images=2", "schedule.log_every=1",
         "schedule.checkpoint_every=0", "runtime.device=cpu", "runtime.threads=1"]
TINY = SMALL + ["method=d2rl", "schedule.sample_every=1", "schedule.ti_batch=2", "schedule.ti_steps=2",
                "schedule.tf_steps=2", "ti.channels=8", "ti.disc_channels=8", "ti.n_res=1"]


def _train_args(out, overrides):
    args = ["train", "--config", "synthetic-ci", "--out", str(out)]
    for kv in overrides:
        args += ["--set", kv]
    return args


def _torchrun(args, cwd) -> subprocess.CompletedProcess:
    """``torchrun --standalone --nproc_per_node 2 -m d2rl_lib ARGS``: two gloo processes."""
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "d2rl_lib"] + args
    res = subprocess.run(cmd, cwd=cwd, env={**os.environ, "OMP_NUM_THREADS": "1"},
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    return res


@pytest.mark.slow
def test_torchrun_trains_d2rl_on_two_gloo_processes(tmp_path):
    """T_I warm-up, T_F with T_I frozen, joint steps: all in two processes, then resumed in one."""
    from d2rl_lib.config import Config
    from d2rl_lib.models.embedding import T_F
    from d2rl_lib.runtime import load_checkpoint

    out = tmp_path / "run"
    res = _torchrun(_train_args(out, TINY + ["schedule.joint_steps=2"]), tmp_path)
    assert res.stdout.count("outputs:") == 1                          # rank 0 alone prints

    log = (out / "log.txt").read_text().splitlines()
    assert log[0].startswith("distributed: 2 processes (cpu)")
    steps = [line for line in log if line.startswith("step ")]
    assert [s.split()[1] for s in steps] == ["1/4", "2/4", "3/4", "4/4"]      # once each
    assert sum(line.startswith("T_I step") for line in log) == 2
    replicas = log[-1]                      # "replicas (2 processes): T_F h0 h1; T_I h0 h1"
    for part in replicas.split(": ", 1)[1].split("; "):
        net, h0, h1 = part.split()
        assert h0 == h1, replicas                                     # identical parameters
    assert "T_F" in replicas and "T_I" in replicas

    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["processes"] == 2 and metrics["replicas_identical"] is True
    assert metrics["tf_updates"] == 4 and metrics["joint_steps"] == 2 and "translation" in metrics
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["last.pt"]
    assert sorted(p.name for p in (out / "samples").iterdir()) == ["ti_000001.png", "ti_000002.png"]
    assert sorted(p.name for p in out.iterdir()) == ["checkpoints", "config.json", "log.txt",
                                                      "metrics.json", "samples"]

    state = load_checkpoint(out / "checkpoints" / "last.pt")          # weights_only=True
    assert state["step"] == 6 and state["world_size"] == 2
    model = state["trainer"]["model"]
    assert not any(k.startswith("module.") for k in model)
    tf = Config.from_dict(state["config"]).tf
    t_f = T_F(state["num_classes"], state["in_channels"], tf.arch, tf.last_stride, tf.pretrained)
    t_f.load_state_dict(model)                                        # strict: same keys, shapes

    # one process continues the two-process run: one more joint step
    assert main(_train_args(out, TINY + ["schedule.joint_steps=3"]) + ["--resume"]) == 0
    log = (out / "log.txt").read_text().splitlines()
    assert log[-1].startswith("step 5/5")
    assert load_checkpoint(out / "checkpoints" / "last.pt")["step"] == 7
    assert "processes" not in json.loads((out / "metrics.json").read_text())


@pytest.mark.slow
def test_torchrun_resume_repeats_the_uninterrupted_run(tmp_path):
    """Two processes, stopped after 2 steps and resumed: the same losses and final weights."""
    def args(out, steps, *extra):
        return _train_args(tmp_path / out, SMALL + ["method=grayscale", f"schedule.tf_steps={steps}",
                                                    "schedule.joint_steps=0"]) + list(extra)

    _torchrun(args("full", 3), tmp_path)
    _torchrun(args("part", 2), tmp_path)
    _torchrun(args("part", 3, "--resume"), tmp_path)

    def steps_and_hashes(out):
        log = (tmp_path / out / "log.txt").read_text().splitlines()
        losses = {line.split()[1].split("/")[0]: line.split(" ", 2)[2] for line in log
                  if line.startswith("step ")}
        return losses, log[-1]
    full, part = steps_and_hashes("full"), steps_and_hashes("part")
    assert full[0] == part[0] and len(full[0]) == 3                  # steps 1, 2, 3: same losses
    assert full[1] == part[1] and full[1].startswith("replicas (2 processes): T_F")
