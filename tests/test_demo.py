"""`make demo`'s driver: runs its steps in order and gathers their numbers into results/."""
import json

from d2rl_lib import demo


def test_cli_steps_gather_results(tmp_path, monkeypatch):
    tiny = ["--set", "data.train_ids=4", "--set", "data.test_ids=2", "--set", "data.images_per_camera=2",
            "--set", "data.trials=1", "--set", "schedule.batch_ids=3", "--set", "schedule.batch_images=2",
            "--set", "schedule.checkpoint_every=0"]
    monkeypatch.setattr(demo, "CLI_STEPS", [
        ["data", "summary", "--config", "{preset}"],
        ["train", "--config", "{preset}", "--set", "method=baseline", "--set", "schedule.tf_steps=1",
         *tiny, "--out", "runs/demo-{preset}/baseline"],
    ])
    monkeypatch.chdir(tmp_path)
    assert demo.run(tmp_path, "synthetic-ci") == 0
    out = json.loads((tmp_path / "results" / "demo-synthetic-ci.json").read_text())
    assert out["preset"] == "synthetic-ci" and "mAP" in out["methods"]["baseline"]
    assert out["protocol"]["direction"] == "infrared->visible"
