"""The SYSU-MM01 protocol at full size (3,803 IR queries x 301 visible gallery images x 10
trials) and at the classroom profile's size (256 queries x 128 gallery images x 10 trials),
``eval_sysu``'s vectorised path against its readable per-query loop.
A thin wrapper of ``benchmarks/bench.py``'s ``eval_speed`` (also run by
``python benchmarks/bench.py --only eval``).

    .venv/bin/python benchmarks/eval_speed.py       # writes results/experiments/eval_speed.json
"""
import json
import sys

import torch

from bench import eval_speed  # benchmarks/bench.py, beside this script
from results_file import EXPERIMENTS

torch.set_num_threads(1)
res = eval_speed()
out = {"command": "python benchmarks/eval_speed.py", "torch": torch.__version__, "threads": 1,
       "queries": res["queries"], "gallery": res["gallery"], "trials": res["trials"],
       "vectorised_seconds": round(res["vectorised_seconds"], 3), "loop_seconds": round(res["loop_seconds"], 3),
       "eval_speedup_vs_loop": round(res["speedup"], 1), "max_abs_difference": res["max_abs_difference"],
       "timing": res["timing"]}
small = eval_speed(queries=256, gallery=128, ids=32)
out["classroom_size"] = {"queries": 256, "gallery": 128, "trials": small["trials"],
                         "vectorised_seconds": round(small["vectorised_seconds"], 4),
                         "loop_seconds": round(small["loop_seconds"], 4),
                         "eval_speedup_vs_loop": round(small["speedup"], 1),
                         "max_abs_difference": small["max_abs_difference"]}
(EXPERIMENTS / "eval_speed.json").parent.mkdir(parents=True, exist_ok=True)
(EXPERIMENTS / "eval_speed.json").write_text(json.dumps(out, indent=2) + "\n")
json.dump(out, sys.stdout, indent=2)
