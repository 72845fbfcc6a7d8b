"""`make demo`'s driver: runs the numbered notebooks in order, cleans them and times them."""
import json

import pytest

from d2rl_lib.course import demo
from d2rl_lib.errors import UserError


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


def test_a_failing_notebook_leaves_the_committed_one_whole(tmp_path, monkeypatch):
    import nbformat

    monkeypatch.setenv("D2RL_PRESET", "unset")
    folder = tmp_path / "notebooks"
    folder.mkdir()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print('first')"),
                                         nbformat.v4.new_code_cell("raise RuntimeError('stop here')")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = folder / "01_breaks.ipynb"
    nbformat.write(nb, path)
    before = path.read_bytes()
    with pytest.raises(Exception, match="stop here"):
        demo.run(tmp_path, "synthetic-ci")
    assert path.read_bytes() == before                               # untouched
    assert not (folder / ".01_breaks.running.ipynb").exists()
    failed = nbformat.read(folder / ".01_breaks.failed.ipynb", as_version=4)
    code = [c for c in failed.cells if c.cell_type == "code"]
    assert code[0].outputs[0]["text"] == "first\n"                  # the partial run, to read
    assert demo.notebooks(folder) == [path]                          # never taken for a lesson


def test_no_notebooks_is_an_error(tmp_path):
    (tmp_path / "notebooks").mkdir()
    with pytest.raises(UserError, match="no numbered notebooks"):
        demo.run(tmp_path, "synthetic-ci")


def test_clean_notebook_keeps_outputs_and_counts(tmp_path):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["papermill"] = {"duration": 1.0}
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    cell = nbformat.v4.new_code_cell("1 + 1", execution_count=3,
                                     outputs=[nbformat.v4.new_output("execute_result", {"text/plain": "2"},
                                                                     execution_count=3)])
    cell.metadata["papermill"] = {"duration": 0.1}
    cell.metadata["execution"] = {"iopub.status.busy": "now"}
    cell.metadata["tags"] = []
    nb.cells.append(cell)
    path = tmp_path / "x.ipynb"
    nbformat.write(nb, path)
    demo.clean_notebook(path)
    out = nbformat.read(path, as_version=4)
    assert set(out.metadata) == {"kernelspec"} and out.cells[0].metadata == {}
    assert out.cells[0].execution_count == 3 and out.cells[0].outputs[0]["data"]["text/plain"] == "2"
