"""Where `make test`'s time goes: each test file's and each notebook's share (issue 29).

Runs the two commands of `make test` (the unit tests on both cores with pytest-xdist, then the
notebooks under nbval in the CI profile) with a JUnit XML report each, and sums the reported
seconds per test file and per notebook:

    python benchmarks/test_profile.py            # -> results/test-profile.json

The unit tests run on two workers, so their per-file seconds add up to about twice the wall
time; the notebooks run one after another, so theirs add up to it. Installing (`make
install`) is not part of it: time `bash .ci/run` on a clean clone for the whole command.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

from bench import nbval_command  # benchmarks/bench.py, beside this script: make nbval's command

ROOT = Path(__file__).resolve().parents[1]


def run(cmd: list, env: dict, report: Path) -> dict:
    """Run one pytest command with a JUnit report; its wall seconds, exit code and the
    reported seconds summed per file (a notebook is a file)."""
    t0 = time.perf_counter()
    proc = subprocess.run([*cmd, f"--junitxml={report}", "-o", "junit_family=xunit1"], cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    per_file: dict = defaultdict(float)
    for case in ET.parse(report).getroot().iter("testcase"):
        name = case.get("file") or case.get("classname", "?")     # xunit1 names the file
        per_file[name] += float(case.get("time", 0))
    ranked = dict(sorted(((k, round(v, 1)) for k, v in per_file.items()), key=lambda kv: -kv[1]))
    return {"command": " ".join(["python", *cmd[1:]]), "wall_seconds": round(wall, 1),
            "passed": proc.returncode == 0, "tail": proc.stdout.strip().splitlines()[-1:],
            "seconds_per_file": ranked}


def main() -> int:
    unit = [sys.executable, "-m", "pytest", "-q", "-n", "2", "-p", "no:cacheprovider", "tests"]
    nbval, _, nbval_env = nbval_command(ROOT)
    with tempfile.TemporaryDirectory() as tmp:
        out = {"what": "make test's two commands, each file's reported seconds (unit tests on two workers)",
               "cpus": os.cpu_count(),
               "unit": run(unit, dict(os.environ, OMP_NUM_THREADS="1"), Path(tmp) / "unit.xml"),
               "nbval": run(nbval, nbval_env, Path(tmp) / "nbval.xml")}
    out["total_wall_seconds"] = round(out["unit"]["wall_seconds"] + out["nbval"]["wall_seconds"], 1)
    (ROOT / "results").mkdir(exist_ok=True)
    (ROOT / "results" / "test-profile.json").write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps({k: out[k] for k in ("total_wall_seconds",)} | {
        "unit": {k: out["unit"][k] for k in ("wall_seconds", "passed", "tail")},
        "nbval": {k: out["nbval"][k] for k in ("wall_seconds", "passed", "seconds_per_file")}}, indent=2))
    return 0 if out["unit"]["passed"] and out["nbval"]["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
