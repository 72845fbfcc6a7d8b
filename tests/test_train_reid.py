"""The re-ID trainer end to end on a tiny world: metrics keys, determinism, resume."""
import json

import pytest

from d2rl_lib.cli import main
from d2rl_lib.config import get_config
from d2rl_lib.errors import UserError
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


def test_methods_that_need_t_i_say_so(tmp_path):
    with pytest.raises(UserError, match="needs T_I"):
        run_method(get_config("synthetic-ci", TINY + ["method=d2rl"]), RunDir.create(tmp_path / "d"))
