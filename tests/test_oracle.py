"""The oracle row (method d2rl-oracle): D2RL's 4-channel images whose V->IR channel is the
world's knowable near-infrared twin, and whose infrared images repeat their own channel."""
import dataclasses

import pytest
import torch

from d2rl_lib.config import ConfigError, get_config
from d2rl_lib.data.loading import load_data, with_knowable_twins
from d2rl_lib.data.records import VISIBLE
from d2rl_lib.data.synthetic import load_synthetic
from d2rl_lib.methods import METHODS
from d2rl_lib.runtime import RunDir
from d2rl_lib.evaluation.trained import evaluate_run, load_run
from d2rl_lib.training.run import run_method

SMALL = ["data.train_ids=6", "data.test_ids=4", "data.images_per_camera=2", "data.trials=2"]


def test_the_oracles_inputs_are_the_knowable_twins():
    cfg = get_config("synthetic-ci", SMALL + ["method=d2rl-oracle"])
    train, test = load_data(cfg)
    plain = load_synthetic(cfg.data)
    knowable = load_synthetic(dataclasses.replace(cfg.data, ir_hidden_sd=0.0))
    for got, raw, twin in ((train, plain.train, knowable.train), (test, plain.test, knowable.test)):
        vis = torch.from_numpy(got.modality == VISIBLE)
        assert got.images.shape[1] == 4 and torch.equal(got.images[:, :3], raw.images)
        assert torch.equal(got.images[vis, 3], twin.paired[vis, 0])            # the knowable twin
        assert not torch.equal(got.images[vis, 3], raw.paired[vis, 0])        # not the true one
        assert torch.equal(got.images[~vis, 3], raw.images[~vis, 0])           # y repeated
    m = METHODS["d2rl-oracle"]
    assert m.oracle and not m.uses_ti and m.in_channels == 4


def test_the_oracle_refuses_another_world():
    plain = load_synthetic(get_config("synthetic-ci", SMALL).data)
    other = load_synthetic(get_config("synthetic-ci", SMALL + ["data.world_seed=1"]).data)
    with pytest.raises(ValueError, match="not the same world"):
        with_knowable_twins(plain.test, other.test)
    with pytest.raises(ConfigError, match="hidden twins"):
        get_config("sysu", ["method=d2rl-oracle", "data.root=/nowhere"])


def test_the_oracle_trains_and_scores_again_from_its_checkpoint(tmp_path):
    cfg = get_config("synthetic-ci", SMALL + ["method=d2rl-oracle", "schedule.batch_ids=3",
                                              "schedule.batch_images=2", "schedule.tf_steps=2",
                                              "schedule.joint_steps=1", "schedule.checkpoint_every=0",
                                              "runtime.device=cpu"])
    m = run_method(cfg, RunDir.create(tmp_path / "oracle"))
    assert m["ti_steps"] == 0 and m["joint_steps"] == 0 and "translation" not in m
    run = load_run(tmp_path / "oracle", "cpu")
    assert run.t_i is None and run.t_f.in_channels == 4
    assert evaluate_run(run)["mAP"] == pytest.approx(m["mAP"])
