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


def test_notebooks_run_in_order_cleaned_and_timed(tmp_path, monkeypatch):
    import nbformat

    monkeypatch.setenv("D2RL_PRESET", "unset")     # demo.run sets it; restored afterwards

    folder = tmp_path / "notebooks"
    folder.mkdir()
    for name, src in (("01_first.ipynb", "import os\nprint(os.environ['D2RL_PRESET'])"),
                      ("02_second.ipynb", "print(6 * 7)")):
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(src)])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, folder / name)
    (folder / "scratch.ipynb").write_text("not a numbered notebook: never run")
    assert demo.run(tmp_path, "synthetic-ci") == 0
    out = json.loads((tmp_path / "results" / "demo-synthetic-ci.json").read_text())
    assert list(out["notebooks"]) == ["01_first.ipynb", "02_second.ipynb"]
    assert out["total_seconds"] > 0
    first = nbformat.read(folder / "01_first.ipynb", as_version=4)
    cell = first.cells[0]
    assert cell.execution_count == 1 and cell.outputs[0]["text"] == "synthetic-ci\n"
    assert "papermill" not in first.metadata and "papermill" not in cell.metadata
    assert nbformat.read(folder / "02_second.ipynb", as_version=4).cells[0].outputs[0]["text"] == "42\n"
