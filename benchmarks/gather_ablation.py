"""Gather finished runs of the six methods into results/ablation.json and print the
README's markdown table.

    python benchmarks/gather_ablation.py \\
        --run baseline=runs/notebooks/synthetic-classroom-seed0/baseline \\
        --run d2rl=runs/notebooks/synthetic-classroom-seed0/d2rl \\
        --run grayscale=runs/ablation/grayscale ...

Every number is read from the run's own metrics.json; the command that reproduces a run
is rebuilt from its config.json (the overrides that differ from the preset).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from d2rl_lib.config import Config, get_config

ROOT = Path(__file__).resolve().parents[1]
KEYS = ("rank1", "rank10", "rank20", "mAP", "mINP", "v2v_mAP", "i2i_mAP", "train_seconds")
NEUTRAL = ("runtime.out_dir",)


def _flat(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        out.update(_flat(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}": v})
    return out


def command(run: Path) -> str:
    """`d2rl train` with the overrides that turn the preset into this run's config."""
    saved = Config.from_dict(json.loads((run / "config.json").read_text()))
    base = _flat(get_config(saved.preset).to_dict())
    sets = [f"--set {k}={v}" for k, v in _flat(saved.to_dict()).items()
            if k not in NEUTRAL + ("method",) and base.get(k) != v]
    line = " ".join(["d2rl train --config", saved.preset, f"--set method={saved.method}", *sets,
                     "--out", str(run)])
    return line.replace(f"{ROOT}/", "")                  # paths relative to the repository


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", action="append", required=True, help="NAME=RUN_DIR (repeat)")
    ap.add_argument("--out", default=str(ROOT / "results" / "ablation.json"))
    args = ap.parse_args()
    methods, commands, protocol, preset, seed = {}, {}, None, None, None
    for item in args.run:
        name, _, folder = item.partition("=")
        run = Path(folder)
        metrics = json.loads((run / "metrics.json").read_text())
        methods[name] = {k: metrics.get(k) for k in KEYS}
        methods[name]["translation"] = metrics.get("translation")
        commands[name] = command(run)
        protocol, preset, seed = metrics.get("protocol"), metrics.get("preset"), metrics.get("seed")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    out = {"preset": preset, "seed": seed, "commit": commit, "protocol": protocol,
           "commands": commands, "methods": methods,
           "gathered_by": "python benchmarks/gather_ablation.py " + " ".join(sys.argv[1:])}
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
    print("| method | IR→V rank-1 | IR→V mAP | IR→V mINP | V→V mAP | IR→IR mAP | training s |")
    print("|---|---|---|---|---|---|---|")
    for name, m in methods.items():
        cells = [f"{m[k]:.1f}" if m[k] is not None else "–" for k in
                 ("rank1", "mAP", "mINP", "v2v_mAP", "i2i_mAP", "train_seconds")]
        print(f"| `{name}` | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
