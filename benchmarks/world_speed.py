"""Rendering speed of the synthetic world on one core (issue 3: >= 1,000 images/s at 128x64).

    .venv/bin/python benchmarks/world_speed.py      # writes results/world_speed.json
"""
import json
import platform
import sys
import time
from pathlib import Path

import torch

from d2rl_lib.data.synthetic import SyntheticWorld, WorldSpec

torch.set_num_threads(1)
out = {"command": "python benchmarks/world_speed.py", "machine": platform.processor() or platform.machine(),
       "threads": 1}
for h, w in ((128, 64), (64, 32)):
    world = SyntheticWorld(WorldSpec(height=h, width=w))
    world.render(1, 1, 0)  # warm-up
    best = 0.0
    for rep in range(3):
        t0 = time.perf_counter()
        n = 0
        for pid in range(1, 31):
            for cam in range(1, 7):
                for i in range(4):
                    world.render(pid, cam, i + 4 * rep)
                    n += 1
        best = max(best, n / (time.perf_counter() - t0))
    out[f"images_per_second_{h}x{w}"] = round(best, 1)
Path("results").mkdir(exist_ok=True)
Path("results/world_speed.json").write_text(json.dumps(out, indent=2) + "\n")
json.dump(out, sys.stdout, indent=2)
