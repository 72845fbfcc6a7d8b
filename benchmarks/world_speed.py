"""Rendering speed of the synthetic world on one core (issue 3: >= 1,000 images/s at 128x64).
A thin wrapper of ``benchmarks/bench.py``'s ``world_render_speed``: the best of ``--repeats`` passes
over ``--ids`` identities x 6 cameras x 4 images, at 128x64 and 64x32.

    .venv/bin/python benchmarks/world_speed.py      # writes results/experiments/world_speed.json
"""
import argparse
import json
import platform
import sys
from pathlib import Path

import torch

from bench import world_render_speed  # benchmarks/bench.py, beside this script

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--ids", type=int, default=30, help="identities per pass (x 6 cameras x 4 images)")
parser.add_argument("--repeats", type=int, default=3, help="passes; the best one is kept")
parser.add_argument("--out", default="results/experiments/world_speed.json", help="JSON to write ('' for none)")
args = parser.parse_args()

torch.set_num_threads(1)
command = "python benchmarks/world_speed.py" + "".join(
    f" --{k} {v}" for k, v in (("ids", args.ids), ("repeats", args.repeats)) if v != parser.get_default(k))
out = {"command": command, "machine": platform.processor() or platform.machine(),
       "threads": 1, "torch": torch.__version__, **world_render_speed(ids=args.ids, repeats=args.repeats)}
if args.out:
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
json.dump(out, sys.stdout, indent=2)
print()
