"""The command line: version, help, one-line errors with non-zero exit."""
import json
import subprocess
import sys

import pytest

from d2rl_lib import __version__
from d2rl_lib.cli import main


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "d2rl_lib", *args], capture_output=True, text=True)


def test_version_and_help():
    r = run_cli("--version")
    assert r.returncode == 0 and __version__ in r.stdout
    r = run_cli("--help")
    assert r.returncode == 0
    for group in ("data", "train", "evaluate", "config", "demo"):
        assert group in r.stdout


def test_config_prints_json_with_overrides(capsys):
    assert main(["config", "--config", "synthetic-ci", "--set", "schedule.ti_steps=3", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["schedule"]["ti_steps"] == 3 and out["preset"] == "synthetic-ci"


@pytest.mark.parametrize("args, fragment", [
    (["config", "--set", "ti.nope=1"], "unknown config key"),
    (["config", "--config", "huge"], "unknown preset"),
    (["no-such-command"], "invalid choice"),
    (["bench"], "invalid choice"),                 # benchmarks live in benchmarks/ (make bench)
])
def test_user_errors_are_one_line_without_traceback(args, fragment):
    r = run_cli(*args)
    assert r.returncode == 2
    assert fragment in r.stderr
    assert "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_console_script_is_declared():
    import tomllib
    from pathlib import Path

    py = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    assert py["project"]["scripts"]["d2rl"] == "d2rl_lib.cli:main"
