"""Rendering speed of the synthetic world on one core (issue 3: >= 1,000 images/s at 128x64).
A thin wrapper of ``d2rl_lib.bench.world_render_speed``.

    .venv/bin/python benchmarks/world_speed.py      # writes results/world_speed.json
"""
import json
import platform
import sys
from pathlib import Path

import torch

from d2rl_lib.bench import world_render_speed

torch.set_num_threads(1)
out = {"command": "python benchmarks/world_speed.py", "machine": platform.processor() or platform.machine(),
       "threads": 1, "torch": torch.__version__, **world_render_speed()}
Path("results").mkdir(exist_ok=True)
Path("results/world_speed.json").write_text(json.dumps(out, indent=2) + "\n")
json.dump(out, sys.stdout, indent=2)
