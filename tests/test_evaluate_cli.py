"""`d2rl evaluate` and `d2rl gap` on tiny trained runs: re-scoring a checkpoint gives
exactly the numbers training wrote into metrics.json; the gap JSON has every space."""
import json

import pytest
import torch

from d2rl_lib.cli import main
from d2rl_lib.config import get_config
from d2rl_lib.runtime import RunDir
from d2rl_lib.training.run import run_method

torch.set_num_threads(1)

TINY = ["data.train_ids=6", "data.test_ids=4", "data.images_per_camera=2", "data.trials=2",
        "schedule.batch_ids=3", "schedule.batch_images=2", "schedule.checkpoint_every=0",
        "schedule.ti_batch=2", "ti.channels=8", "ti.disc_channels=8", "ti.n_res=1",
        "schedule.ti_steps=4", "schedule.tf_steps=6", "schedule.joint_steps=2",
        "runtime.device=cpu", "runtime.threads=1"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    out = {}
    for method in ("baseline", "d2rl"):
        cfg = get_config("synthetic-ci", TINY + [f"method={method}"])
        run_dir = RunDir.create(root / method)
        cfg.save(run_dir.config)
        run_method(cfg, run_dir)
        out[method] = run_dir.root
    return out


@pytest.mark.parametrize("method", ["baseline", "d2rl"])
def test_evaluate_reproduces_metrics_json(runs, method, tmp_path, capsys):
    target = runs[method] if method == "d2rl" else runs[method] / "checkpoints" / "last.pt"
    out = tmp_path / "again.json"
    assert main(["evaluate", "--checkpoint", str(target), "--out", str(out), "--threads", "1"]) == 0
    printed = capsys.readouterr().out
    assert "same numbers as the run's metrics.json" in printed
    again = json.loads(out.read_text())
    stored = json.loads((runs[method] / "metrics.json").read_text())
    assert set(stored) <= set(again)                       # every key of metrics.json
    for key in stored:
        assert again[key] == stored[key], key               # train_seconds: the last checkpoint's
    assert ("translation" in again) == (method == "d2rl")
    assert again["complete"] is True and again["step"] == (4 + 8 if method == "d2rl" else 8)
    assert again["command"].startswith("d2rl evaluate --checkpoint ")


def test_evaluate_notices_other_weights(runs, tmp_path, capsys):
    """Numbers that differ from metrics.json are reported, not hidden."""
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(runs["baseline"], copy)
    stored = json.loads((copy / "metrics.json").read_text())
    stored["mAP"] += 1.0
    (copy / "metrics.json").write_text(json.dumps(stored))
    assert main(["evaluate", "--checkpoint", str(copy), "--threads", "1"]) == 0
    assert "differs from the run's metrics.json in: mAP" in capsys.readouterr().out


def test_evaluate_errors(tmp_path, capsys):
    assert main(["evaluate", "--checkpoint", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["evaluate", "--checkpoint", str(tmp_path)]) == 2
    assert "not a d2rl run" in capsys.readouterr().err


def test_gap_cli_writes_every_space_for_every_run(runs, tmp_path, capsys):
    out = tmp_path / "gap.json"
    assert main(["gap", "--run", str(runs["baseline"]), "--run", str(runs["d2rl"]),
                 "--out", str(out), "--threads", "1", "--pixels", "16x8"]) == 0
    res = json.loads(out.read_text())
    assert res["command"].startswith("d2rl gap --run ") and "--pixels 16x8" in res["command"]
    assert res["preset"] == "synthetic-ci" and set(res["runs"]) == {"baseline", "d2rl"}
    for name, r in res["runs"].items():
        for space in ("image", "unified", "feature"):
            m = r["spaces"][space]
            assert m["ratio"] > 0 and 0 <= m["probe"] <= 1 and m["cross"] > 0
    b, d = res["runs"]["baseline"]["spaces"], res["runs"]["d2rl"]["spaces"]
    assert b["image"] == d["image"]                         # same test images, same pixels
    assert b["unified"] == b["image"]                       # baseline: no unification
    assert d["unified"]["dim"] == 4 * 16 * 8                # multi-spectral: 4 channels
    assert "baseline    image space: cross/within" in capsys.readouterr().out


def test_gap_cli_errors(runs, tmp_path, capsys):
    assert main(["gap", "--run", str(runs["baseline"]), "--pixels", "big"]) == 2
    assert "HEIGHTxWIDTH" in capsys.readouterr().err
    assert main(["gap", "--run", str(tmp_path / "none")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_score_line_reads_both_protocol_shapes():
    from d2rl_lib.cli.evaluate import score_line

    sysu = {"rank1": 10.0, "rank10": 50.0, "rank20": 90.0, "mAP": 12.5, "mINP": 8.0,
            "protocol": {"direction": "infrared->visible", "mode": "all", "shots": 1, "trials": 10,
                         "sampler": "seeded"}}
    assert score_line(sysu) == ("infrared->visible (all-search, 1-shot, 10 trials, seeded sampler): "
                                "rank-1 10.0  rank-10 50.0  rank-20 90.0  mAP 12.5  mINP 8.0")
    regdb = {"rank1": 1.0, "mAP": 2.0, "protocol": {"direction": "visible->thermal", "trial": 2}}
    assert score_line(regdb) == "visible->thermal (trial 2): rank-1 1.0  mAP 2.0"


def test_evaluate_and_gap_on_a_regdb_folder(tmp_path, capsys):
    """A file-backed dataset (the synthetic world exported in RegDB's layout): both
    directions re-scored exactly, the gap measured from lazily read files."""
    from d2rl_lib.data.export import export_regdb
    from d2rl_lib.data.synthetic import SyntheticWorld, WorldSpec

    root = export_regdb(SyntheticWorld(WorldSpec(train_ids=3, test_ids=3)), tmp_path / "RegDB",
                        images=2, trials=1)
    out = tmp_path / "run"
    args = ["train", "--config", "regdb", "--out", str(out), "--set", f"data.root={root}"]
    for kv in ["tf.arch=resnet18", "tf.pretrained=", "data.height=32", "data.width=16",
               "schedule.batch_ids=3", "schedule.batch_images=2", "schedule.tf_steps=2",
               "schedule.joint_steps=0", "schedule.checkpoint_every=0", "optim.tf_warmup_steps=1",
               "runtime.device=cpu", "runtime.threads=1", "runtime.amp=off",
               "runtime.channels_last=false", "data.num_workers=0", "method=baseline"]:
        args += ["--set", kv]
    assert main(args) == 0
    capsys.readouterr()
    assert main(["evaluate", "--checkpoint", str(out), "--out", str(tmp_path / "e.json"),
                 "--threads", "1", "--device", "cpu"]) == 0
    printed = capsys.readouterr().out
    assert "visible->thermal" in printed and "thermal->visible" in printed
    assert "same numbers as the run's metrics.json" in printed
    again, stored = json.loads((tmp_path / "e.json").read_text()), json.loads((out / "metrics.json").read_text())
    assert again["directions"] == stored["directions"] and again["mAP"] == stored["mAP"]
    assert main(["gap", "--run", str(out), "--threads", "1", "--device", "cpu",
                 "--out", str(tmp_path / "g.json"), "--pixels", "8x4"]) == 0
    g = json.loads((tmp_path / "g.json").read_text())["runs"]["baseline"]
    assert g["images"] == 3 * 2 * 2 and g["spaces"]["feature"]["dim"] == 512
