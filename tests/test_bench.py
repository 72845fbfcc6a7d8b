"""`python benchmarks/bench.py --quick` (make bench): every key of results/bench.json is
there and every number is positive and finite (no timing assertions: speed is measured, not
tested)."""
import json
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))                                # not packages
sys.path.insert(0, str(ROOT / "experiments"))

from bench import ROWS, main, markdown_table, write_markdown  # noqa: E402
from results_file import merge_run  # noqa: E402

NUMBERS = ("matmul_peak_gflops", "tf_step_fraction_of_peak", "joint_step_fraction_of_peak",
           "tf_step_fraction_of_peak_paper", "joint_step_fraction_of_peak_paper", "tf_step_seconds",
           "joint_step_seconds", "data_images_per_second", "train_images_per_second",
           "render_images_per_second", "file_images_per_second", "eval_speedup_vs_loop", "peak_rss_mb")


def test_quick_bench_writes_every_key_with_details(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert main(["--quick", "--out", str(out), "--markdown", str(tmp_path / "b.md")]) == 0
    res = json.loads(out.read_text())
    for key in NUMBERS:
        v = res[key]
        assert isinstance(v, (int, float)) and math.isfinite(v) and v > 0, (key, v)
    for key in ("notebooks_total_seconds", "nbval_seconds"):          # read from results files
        assert key in res and (res[key] is None or res[key] > 0)
        assert res["details"][key]                                     # the source, or why missing
    for key in ("tf_step_fraction_of_peak", "joint_step_fraction_of_peak_paper", "peak_rss_mb",
                "eval_speedup_vs_loop", "data_images_per_second"):
        d = res["details"][key]
        assert d["threads"] == 1 and d["torch"] and d["command"].startswith("python benchmarks/bench.py")
    assert res["details"]["tf_step_fraction_of_peak"]["shapes"]["height"] == 64
    assert res["details"]["eval_speedup_vs_loop"]["max_abs_difference"] < 1e-9   # same numbers as the loop
    assert res["environment"]["threads"] == 1 and res["quick"] is True
    table = (tmp_path / "b.md").read_text()
    assert "| SYSU protocol at full size, vectorised vs loop (×) |" in table
    assert "| measure | value | target |" in capsys.readouterr().out


def test_only_merges_into_the_json_and_bad_names_are_refused(tmp_path, capsys):
    out = tmp_path / "bench.json"
    out.write_text(json.dumps({"command": "python benchmarks/bench.py", "peak_rss_mb": 1.0,
                               "details": {"peak_rss_mb": {}}}))
    assert main(["--quick", "--only", "eval", "--out", str(out)]) == 0
    res = json.loads(out.read_text())
    assert res["peak_rss_mb"] == 1.0 and res["eval_speedup_vs_loop"] > 0    # old kept, new added
    assert "matmul_peak_gflops" not in res and res["command"] == "python benchmarks/bench.py"
    assert res["updated_by"][0].startswith("python benchmarks/bench.py --only eval --quick (")
    assert main(["--only", "everything"]) == 2
    assert "valid names: matmul" in capsys.readouterr().err


def test_markdown_block_is_replaced_not_duplicated(tmp_path):
    md = tmp_path / "benchmarks.md"
    md.write_text("# Benchmarks\n\nprose above\n")
    res = {"command": "python benchmarks/bench.py", "environment": {"threads": 1}, "peak_rss_mb": 100.0,
           "nbval_seconds": None}
    write_markdown(md, markdown_table(res))
    write_markdown(md, markdown_table(dict(res, peak_rss_mb=200.0)))
    text = md.read_text()
    assert text.startswith("# Benchmarks\n\nprose above") and text.count("| measure |") == 1
    assert "200.0" in text and "100.0" not in text and "not measured" in text
    assert len(ROWS) == len({k for k, _, _ in ROWS})


def test_merge_run_replaces_the_row_of_the_same_command(tmp_path):
    path = tmp_path / "sub" / "r.json"
    merge_run(path, "what it is", {"command": "a", "v": 1})
    merge_run(path, "ignored once the file exists", {"command": "b", "v": 2})
    merge_run(path, "ignored", {"command": "a", "v": 3})
    data = json.loads(path.read_text())
    assert data["what"] == "what it is"
    assert [(r["command"], r["v"]) for r in data["runs"]] == [("b", 2), ("a", 3)]
